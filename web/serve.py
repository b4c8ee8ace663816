"""Run the HTTP service with uvicorn (``admon serve``)."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from web.app import UploadCallback, create_app

__all__ = ["serve"]

logger = logging.getLogger(__name__)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workspace: Path | None = None,
    store_url: str | None = None,
    *,
    on_upload: UploadCallback | None = None,
    log_level: str = "info",
) -> None:
    """Serve the admon web service until interrupted.

    Parameters
    ----------
    host, port : str, int
        Address to listen on; ``127.0.0.1`` keeps it local, ``0.0.0.0`` opens it
        to the network (put it behind a TLS proxy: tokens travel in headers).
    workspace : Path, optional
        Workspace folder (store, uploads, published gallery).
    store_url : str, optional
        ``postgresql://`` URL of a shared PostGIS store.
    on_upload : callable, optional
        Called in the background after each new upload (see :func:`web.app.create_app`).
    log_level : str
        uvicorn log level.

    Examples
    --------
    >>> serve(port=8080, workspace=Path("workspace"))  # doctest: +SKIP
    """
    app = create_app(workspace=workspace, store_url=store_url, on_upload=on_upload)
    logger.info("admon service on http://%s:%d (store: %r)", host, port, app.state.store)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
