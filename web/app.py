"""The admon HTTP service: field data uploads, their reports, estimates and the gallery.

``POST /api/v1/uploads`` takes a multipart ``file`` (and optionally ``form``: the
team's form profile, kept for its later uploads) with ``Authorization: Bearer
<token>`` and answers with the row-by-row report:

====  ============================================================
201   stored; ``{upload_id, accepted, rejected, errors, duplicate}``
200   the same content was uploaded before: the first ``upload_id``
401   no token, or an unknown one
403   a reviewer token (reviewers read, they do not upload)
411   no Content-Length header
413   larger than the limit, or an archive that expands past it
415   not a field data format admon reads
422   unreadable or hostile content, or no valid row (with the report)
====  ============================================================
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import BackgroundTasks, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Receive, Scope, Send

from core.errors import ConfigError, InvalidInputError, NotFoundError, StoreError
from models.store import (
    Store,
    UploadLimits,
    UploadResult,
    UploadTooLargeError,
    default_workspace,
    open_store,
)
from models.survey import UnsupportedFormatError
from web.auth import caller, require_uploader
from web.interpret import interpret_router
from web.pages import pages_router, published_router

__all__ = ["create_app", "UploadCallback", "UPLOAD_PATH"]

logger = logging.getLogger(__name__)

UPLOAD_PATH = "/api/v1/uploads"
#: Called in the background after each new upload with accepted rows.
UploadCallback = Callable[[UploadResult], Any]

_MULTIPART_OVERHEAD_BYTES = 64 * 1024

# The form is parsed by hand (after the token check, never before), so describe it here.
_UPLOAD_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "form": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "optional form profile (.toml and the XLSForm it "
                            "names, or an XLSForm); stored for the team",
                        },
                    },
                }
            }
        },
    },
}


def create_app(
    workspace: Path | None = None,
    store_url: str | None = None,
    on_upload: UploadCallback | None = None,
    *,
    max_upload_bytes: int | None = None,
    store: Store | None = None,
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
        store = open_store(store_url or root / "store.gpkg", workspace=root, limits=limits)
    app = FastAPI(
        title="admon",
        version="1",
        summary="Field data uploads, area estimates and published results of admon",
    )
    app.state.store = store
    app.state.workspace = root
    app.add_middleware(UploadSizeLimit, max_body_bytes=max_upload_bytes)

    _add_api(app, store, on_upload, max_upload_bytes)
    app.include_router(pages_router())
    app.include_router(interpret_router(root, store))
    app.include_router(published_router(root / "published"))
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
                answer = _error(411, "send the file with a Content-Length header (multipart form)")
                await answer(scope, receive, send)
                return
            if int(length) > self.max_body_bytes:
                answer = _too_large(int(length), self.file_limit)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(code: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=code)


def _too_large(size: int, limit: int) -> JSONResponse:
    return _error(
        413,
        f"upload of {size} bytes is over the limit of {limit} bytes; "
        "split the export (for example by district or date) and upload the parts",
    )


def _is_unsupported(exc: Exception) -> bool:

    return isinstance(exc, UnsupportedFormatError)


def _add_api(
    app: FastAPI, store: Store, on_upload: UploadCallback | None, max_upload_bytes: int
) -> None:
    @app.get("/healthz", tags=["service"])
    def healthz() -> JSONResponse:
        """Liveness and store reachability."""
        try:
            store.verify_token("healthz-probe")
        except Exception as exc:  # noqa: BLE001 - any store failure makes the service unhealthy
            logger.exception("health check: store unreachable")
            return _error(503, f"store unreachable: {type(exc).__name__}")
        return JSONResponse({"status": "ok", "store": store.backend})

    @app.post(UPLOAD_PATH, status_code=201, tags=["uploads"], openapi_extra=_UPLOAD_OPENAPI)
    async def upload(
        request: Request,
        background: BackgroundTasks,
        strict: bool = Query(False, description="refuse the whole file if any row is invalid"),
    ) -> JSONResponse:
        """Upload a field data file (multipart field ``file``); answer with its report."""
        who = require_uploader(await run_in_threadpool(caller, request, store))
        sent = await _read_upload(request, max_upload_bytes)
        if isinstance(sent, JSONResponse):
            return sent
        filename, raw, form_files = sent
        try:
            result = await run_in_threadpool(
                _ingest, store, raw, filename, who.team, strict, form_files
            )
        except UploadTooLargeError as exc:
            return _error(413, str(exc))
        except InvalidInputError as exc:
            if _is_unsupported(exc):
                return _error(415, str(exc))
            report = getattr(exc, "report", None)
            extra = {"report": report.to_dict()} if report is not None else {}
            return _error(422, str(exc), **extra)
        except StoreError as exc:
            logger.exception("upload %s: store failure", filename)
            return _error(503, f"the store could not save the upload: {exc}")
        body = result.to_dict()
        if result.accepted == 0:
            body["report"] = result.report
            return _error(422, f"{filename}: no valid row; nothing stored (see errors)", **body)
        if result.duplicate:
            return JSONResponse(body, status_code=200)
        if on_upload is not None:
            background.add_task(_run_callback, on_upload, result)
        location = {"Location": f"{UPLOAD_PATH}/{result.upload_id}"}
        return JSONResponse(body, status_code=201, headers=location)

    @app.get(UPLOAD_PATH + "/{upload_id}", tags=["uploads"])
    def get_upload(upload_id: str, request: Request) -> JSONResponse:
        """The stored record and report of one upload (uploaders see their team's only)."""
        who = caller(request, store)
        try:
            record = store.get_upload(upload_id)
        except NotFoundError as exc:
            raise HTTPException(404, detail=str(exc)) from None
        if who.role == "uploader" and record["team"] != who.team:
            raise HTTPException(403, detail="this upload belongs to another team")
        return JSONResponse(record)

    @app.get("/api/v1/estimates", tags=["estimates"])
    def estimates(
        year: int | None = None, crop: str | None = None, run_id: str | None = None
    ) -> JSONResponse:
        """Published district estimates (latest run of each year unless ``run_id``)."""
        table = store.get_estimates(year=year, crop=crop, run_id=run_id)
        return JSONResponse(json.loads(table.to_json(orient="records", date_format="iso")))


async def _read_upload(
    request: Request, max_bytes: int
) -> tuple[str, bytes, dict[str, bytes] | None] | JSONResponse:
    """Return (file name, content, form profile files) of the multipart ``file`` field and the
    optional ``form`` fields (a ``.toml`` profile and its XLSForm), or the error to answer."""
    async with request.form(max_files=3, max_fields=6) as form:
        sent = form.get("file")
        if not isinstance(sent, UploadFile) or not sent.filename:
            return _error(422, "send the field data file in the multipart form field 'file'")
        raw = await sent.read(max_bytes + 1)
        profile = {}
        for part in form.getlist("form"):
            if isinstance(part, UploadFile) and part.filename:
                profile[part.filename] = await part.read(max_bytes + 1)
    if len(raw) > max_bytes or sum(map(len, profile.values())) > max_bytes:
        return _too_large(max(len(raw), sum(map(len, profile.values()))), max_bytes)
    return sent.filename, raw, profile or None


def _ingest(
    store: Store,
    raw: bytes,
    filename: str,
    team: str,
    strict: bool,
    form_files: dict[str, bytes] | None = None,
) -> UploadResult:
    districts = store.get_districts()
    return store.ingest_upload(
        raw,
        filename,
        team,
        strict=strict,
        districts=districts if len(districts) else None,
        form_files=form_files,
    )


def _run_callback(callback: UploadCallback, result: UploadResult) -> None:
    try:
        callback(result)
    except Exception:  # noqa: BLE001 - the upload is stored; a failing hook must not undo that
        logger.exception("on_upload callback failed for upload %s", result.upload_id)
