"""The admon HTTP service: field data uploads, their reports, estimates and the gallery.

``POST /api/v1/uploads`` takes a multipart ``file`` (and optionally ``form``: the
team's form profile, kept for its later uploads) with ``Authorization: Bearer
<token>`` and answers with the row-by-row report:

====  ============================================================
201   stored; ``{upload_id, accepted, rejected, errors, duplicate}``
200   this team uploaded the same content before: its first ``upload_id``
401   no token, or an unknown, expired or revoked one
403   a reviewer token (reviewers read, they do not upload), or a cookie
      without its CSRF token
411   no Content-Length header
413   larger than the limit, an archive that expands past it, or more
      layers, columns or rows than allowed
415   not a field data format admon reads
422   unreadable, corrupt or hostile content, or no valid row (with the report)
503   the store is busy (a writer held it too long) or the upload queue is
      full; ``Retry-After`` says when to try again
====  ============================================================

Browsers sign in on ``/login`` (see :mod:`web.auth`); the public publication is
served at ``/`` and the restricted one at ``/restricted/`` (see :mod:`web.pages`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from core.errors import ConfigError, StoreBusyError
from models.store import Store, UploadLimits, default_workspace, open_store
from web.auth import caller, login_router
from web.interpret import interpret_router
from web.pages import docs_router, login_page, pages_router, published_router
from web.responses import READ_ERRORS, busy, error, too_large
from web.security import SecurityHeaders
from web.uploads import UPLOAD_PATH, UploadCallback, UploadPool, uploads_router

__all__ = ["create_app", "UploadCallback", "UPLOAD_PATH"]

logger = logging.getLogger(__name__)

_MULTIPART_OVERHEAD_BYTES = 64 * 1024
_SERVICE_LOCK_TIMEOUT_S = 10.0
"""A request waits this long for another writer, then answers 503 with Retry-After."""


def create_app(
    workspace: Path | None = None,
    store_url: str | None = None,
    on_upload: UploadCallback | None = None,
    *,
    max_upload_bytes: int | None = None,
    store: Store | None = None,
    upload_workers: int = 2,
    upload_queue: int = 8,
) -> FastAPI:
    """Build the FastAPI application.

    Parameters
    ----------
    workspace : Path, optional
        Workspace folder (``$ADMON_WORKSPACE`` or ``./workspace`` by default): the
        GeoPackage store, raw uploads and ``published/`` live there.
    store_url : str, optional
        ``postgresql://`` URL (or a GeoPackage path) instead of ``<workspace>/store.gpkg``.
    on_upload : callable, optional
        ``on_upload(result)`` runs in the background after each new upload with
        accepted plots (e.g. to start the ingest flow); its failure is logged and
        never changes the upload's answer.
    max_upload_bytes : int, optional
        Upload size limit; default the given store's limit, else ``$ADMON_MAX_UPLOAD_MB``
        megabytes, else 50 MB.
    store : Store, optional
        An already open store (tests, embedding); overrides ``store_url``.
    upload_workers, upload_queue : int
        Uploads processed at once, and waiting beyond those; more get 503.

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    ConfigError
        ``ADMON_MAX_UPLOAD_MB`` is not a positive number.
    StoreError
        The store cannot be opened.

    Examples
    --------
    >>> app = create_app(Path("workspace"))  # doctest: +SKIP
    >>> uvicorn.run(app, port=8000)  # doctest: +SKIP
    """
    root = Path(workspace) if workspace is not None else default_workspace()
    if max_upload_bytes is None:
        max_upload_bytes = store.limits.max_bytes if store is not None else _env_upload_limit()
    if store is None:
        limits = UploadLimits(max_bytes=max_upload_bytes)
        store = open_store(
            store_url or root / "store.gpkg",
            workspace=root,
            limits=limits,
            lock_timeout_s=_SERVICE_LOCK_TIMEOUT_S,
        )
    app = FastAPI(
        title="admon",
        version="1",
        summary="Field data uploads, area estimates and published results of admon",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.workspace = root
    app.add_middleware(UploadSizeLimit, max_body_bytes=max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(StoreBusyError, lambda _request, exc: busy(exc))

    _add_api(app, store, root)
    pool = UploadPool(upload_workers, upload_queue)
    app.include_router(uploads_router(store, root, on_upload, max_upload_bytes, pool))
    app.include_router(login_router(store, login_page()))
    app.include_router(docs_router(app.openapi_url or "/openapi.json", app.title))
    app.include_router(pages_router())
    app.include_router(interpret_router(root, store))
    app.include_router(published_router(root / "published", store))
    return app


def _env_upload_limit() -> int:
    value = os.environ.get("ADMON_MAX_UPLOAD_MB", "50")
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = -1.0
    if megabytes <= 0:
        raise ConfigError(
            f"ADMON_MAX_UPLOAD_MB={value!r}: give the upload limit in megabytes, e.g. 50"
        )
    return int(megabytes * 1024 * 1024)


class UploadSizeLimit:
    """Refuse an upload request by its Content-Length before reading the body.

    Multipart parsing spools the whole body, so the limit must apply first; a
    request without Content-Length (chunked) is refused with 411.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes + _MULTIPART_OVERHEAD_BYTES
        self.file_limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == UPLOAD_PATH:
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            if length is None or not length.isdigit():
                answer = error(411, "send the file with a Content-Length header (multipart form)")
                await answer(scope, receive, send)
                return
            if int(length) > self.max_body_bytes:
                answer = too_large(int(length), self.file_limit)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _run_label(workspace: Path, run_id: str) -> dict:
    """Survey name and synthetic flag of a published run (its ``publish.json``), if found."""
    for record in sorted(workspace.glob(f"runs/*/{run_id}/publish.json")):
        try:
            payload = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return {
            "survey_name": str(payload.get("survey_name") or ""),
            "synthetic": bool(payload.get("synthetic", False)),
        }
    return {"survey_name": "", "synthetic": False}


def _labelled(table, workspace: Path):  # type: ignore[no-untyped-def]
    """Estimates as published: rounded, each row naming its survey, run and synthetic flag."""
    import pandas as pd

    from maps.downloads import published_table

    if table.empty or "run_id" not in table:
        return table
    parts = [
        published_table(rows, run_id=str(run_id), **_run_label(workspace, str(run_id)))
        for run_id, rows in table.groupby("run_id", sort=False)
    ]
    return pd.concat(parts).sort_index()


def _add_api(app: FastAPI, store: Store, workspace: Path) -> None:
    @app.get("/healthz", tags=["service"], responses={503: READ_ERRORS[503]})
    def healthz() -> JSONResponse:
        """Liveness and store reachability (reads only: a busy writer does not make it wait)."""
        try:
            store.verify_token("healthz-probe")
        except Exception as exc:  # noqa: BLE001 - any store failure makes the service unhealthy
            logger.exception("health check: store unreachable")
            return error(503, f"store unreachable: {type(exc).__name__}")
        return JSONResponse({"status": "ok", "store": store.backend})

    @app.get("/api/v1/estimates", tags=["estimates"], responses=READ_ERRORS)
    def estimates(
        year: Annotated[int | None, Query(ge=1900, le=2200, description="survey year")] = None,
        crop: Annotated[
            str | None, Query(max_length=40, pattern=r"^[a-z_]+$", description="e.g. opium_poppy")
        ] = None,
        run_id: Annotated[
            str | None, Query(max_length=80, pattern=r"^[A-Za-z0-9._-]+$", description="a run")
        ] = None,
    ) -> JSONResponse:
        """Published district estimates (latest run of each year unless ``run_id``).

        Hectares are rounded to 0.1 ha; every row names its ``survey``, ``run_id`` and
        ``synthetic`` flag, and rows of synthetic demo runs carry a SYNTHETIC ``data_note``.
        """
        table = _labelled(store.get_estimates(year=year, crop=crop, run_id=run_id), workspace)
        return JSONResponse(json.loads(table.to_json(orient="records", date_format="iso")))

    @app.get(
        "/api/v1/session",
        tags=["service"],
        responses={401: READ_ERRORS[422] | {"description": "not signed in"}},
    )
    def session(request: Request) -> JSONResponse:
        """Who the browser is signed in as (team and role); 401 when not signed in."""
        who = caller(request, store)
        return JSONResponse({"team": who.team, "role": who.role})
