"""The admon store: districts, survey plots, uploads, programmes, estimates, labels and tokens.

Two backends behind one interface: a GeoPackage file in the workspace (the
default, nothing to start) and PostGIS, chosen by a ``postgresql://`` URL.

Examples
--------
>>> from models.store import open_store
>>> store = open_store("workspace/store.gpkg")  # doctest: +SKIP
>>> token = store.create_token("team-a", "uploader")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from models.store.base import PlotLoader, Store
from models.store.labels import LABEL_COLUMNS, LABEL_KINDS
from models.store.records import INTERPRET_ROLES, ROLES, UPLOAD_ROLES, TokenInfo, UploadResult
from models.store.screening import UploadLimits, UploadTooLargeError

__all__ = [
    "open_store",
    "default_workspace",
    "Store",
    "UploadResult",
    "TokenInfo",
    "UploadLimits",
    "UploadTooLargeError",
    "PlotLoader",
    "ROLES",
    "UPLOAD_ROLES",
    "INTERPRET_ROLES",
    "LABEL_COLUMNS",
    "LABEL_KINDS",
]

_POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def default_workspace() -> Path:
    """Return ``$ADMON_WORKSPACE`` or ``./workspace``."""
    return Path(os.environ.get("ADMON_WORKSPACE", "workspace"))


def open_store(
    url_or_path: str | os.PathLike[str] | None = None,
    *,
    workspace: str | os.PathLike[str] | None = None,
    limits: UploadLimits | None = None,
    plot_loader: PlotLoader | None = None,
    lock_timeout_s: float | None = None,
) -> Store:
    """Open (creating if needed) the store at a GeoPackage path or a PostgreSQL URL.

    Parameters
    ----------
    url_or_path : str or path, optional
        ``postgresql://user@host:port/db`` for PostGIS; a ``.gpkg`` file path, or a
        directory (the workspace, holding ``store.gpkg``). Defaults to
        ``<workspace>/store.gpkg``.
    workspace : path, optional
        Where raw uploads are kept (``<workspace>/uploads/``). Defaults to the
        GeoPackage's folder, or ``$ADMON_WORKSPACE``/``./workspace`` for PostGIS.
    limits : UploadLimits, optional
        Upload size, archive and row limits.
    plot_loader : callable, optional
        Replaces ``models.survey.load_plots`` (tests, other readers).
    lock_timeout_s : float, optional
        Longest wait for another writer (default 30 s); then ``StoreBusyError``.

    Returns
    -------
    Store

    Raises
    ------
    StoreError
        The file or database cannot be opened or initialised.
    """
    options = {"limits": limits, "plot_loader": plot_loader, "lock_timeout_s": lock_timeout_s}
    target = os.fspath(url_or_path) if url_or_path is not None else None
    if target is not None and target.startswith(_POSTGRES_SCHEMES):
        from models.store.postgis import PostGISStore

        root = Path(workspace) if workspace is not None else default_workspace()
        return PostGISStore(target, workspace=root, **options)

    from models.store.gpkg import GeoPackageStore

    if target is None:
        path = (Path(workspace) if workspace is not None else default_workspace()) / "store.gpkg"
    else:
        path = Path(target)
        if path.is_dir() or (not path.suffix and not path.exists()):
            path = path / "store.gpkg"
    if workspace is not None:
        return GeoPackageStore(path, workspace=Path(workspace), **options)
    return GeoPackageStore(path, **options)
