"""``POST /api/v1/uploads`` and ``GET /api/v1/uploads/{id}``: field data in, its report out.

The body is parsed only after the token check, spooled to disk by the multipart
parser (at most 1 MiB of it in memory) and copied in chunks to
``<workspace>/uploads/.incoming/``; the store takes that file from there. Ingests
run in a bounded pool of their own (``upload_workers`` at once, ``upload_queue``
waiting at most, 503 with ``Retry-After`` beyond), so uploads never take the
threads the read endpoints answer from.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from core.errors import InvalidInputError, NotFoundError, StoreBusyError, StoreError
from models.store import Store, UploadResult, UploadTooLargeError
from models.survey import UnsupportedFormatError
from web.auth import BEARER, READ_ROLES, caller, require_uploader
from web.responses import ERRORS, busy, error, too_large

__all__ = ["UPLOAD_PATH", "UploadCallback", "UploadPool", "uploads_router", "incoming_folder"]

logger = logging.getLogger(__name__)

UPLOAD_PATH = "/api/v1/uploads"
#: Called in the background after each new upload with accepted rows.
UploadCallback = Callable[[UploadResult], Any]

_COPY_CHUNK = 1 << 20

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


def incoming_folder(workspace: Path) -> Path:
    """Where upload bodies are written while they arrive; emptied when the service starts."""
    folder = Path(workspace) / "uploads" / ".incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class UploadPool:
    """At most ``workers`` ingests at once and ``queue`` waiting; more answer 503 at once."""

    def __init__(self, workers: int = 2, queue: int = 8) -> None:
        self.limiter = anyio.CapacityLimiter(max(1, workers))
        self.queue = max(0, queue)
        self.waiting = 0

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        if self.waiting >= self.limiter.total_tokens + self.queue:
            raise StoreBusyError(
                f"{self.waiting} uploads are being processed; send the file again in a minute",
                retry_after_s=30,
            )
        self.waiting += 1
        try:
            return await anyio.to_thread.run_sync(function, *args, limiter=self.limiter)
        finally:
            self.waiting -= 1


def uploads_router(
    store: Store,
    workspace: Path,
    on_upload: UploadCallback | None,
    max_upload_bytes: int,
    pool: UploadPool,
) -> APIRouter:
    """The upload endpoints over ``store``."""
    router = APIRouter(tags=["uploads"])
    incoming = incoming_folder(workspace)
    leftovers = list(incoming.iterdir())
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)  # a body cut off by a restart: never ingested
    if leftovers:
        logger.info("removed %d upload bodies cut off by a restart", len(leftovers))

    @router.post(
        UPLOAD_PATH,
        status_code=201,
        openapi_extra=_UPLOAD_OPENAPI,
        responses={
            200: {"description": "the same content was uploaded before by this team"},
            **ERRORS,
        },
    )
    async def upload(
        request: Request,
        background: BackgroundTasks,
        strict: bool = Query(False, description="refuse the whole file if any row is invalid"),
        _bearer: Annotated[Any, Security(BEARER)] = None,
    ) -> JSONResponse:
        """Upload a field data file (multipart field ``file``); answer with its report."""
        who = require_uploader(await run_in_threadpool(caller, request, store))
        sent = await _receive(request, incoming, max_upload_bytes)
        if isinstance(sent, JSONResponse):
            return sent
        filename, body, form_files = sent
        try:
            result = await pool.run(_ingest, store, body, filename, who.team, strict, form_files)
        except StoreBusyError as exc:
            return busy(exc)
        except UploadTooLargeError as exc:
            return error(413, str(exc))
        except InvalidInputError as exc:
            if _is_unsupported(exc):
                return error(415, str(exc))
            report = getattr(exc, "report", None)
            extra = {"report": report.to_dict()} if report is not None else {}
            return error(422, str(exc), **extra)
        except StoreError:
            logger.exception("upload %s: store failure", filename)
            return error(503, "the store could not save the upload; try again later")
        finally:
            body.unlink(missing_ok=True)
        answer = result.to_dict()
        if result.accepted == 0:
            answer["report"] = result.report
            return error(422, f"{filename}: no valid row; nothing stored (see errors)", **answer)
        if result.duplicate:
            return JSONResponse(answer, status_code=200)
        if on_upload is not None:
            background.add_task(_run_callback, on_upload, result)
        location = {"Location": f"{UPLOAD_PATH}/{result.upload_id}"}
        return JSONResponse(answer, status_code=201, headers=location)

    @router.get(UPLOAD_PATH + "/{upload_id}", responses=ERRORS)
    def get_upload(
        request: Request,
        upload_id: str = PathParam(pattern=r"^[0-9a-f]{32}$", description="id from the upload"),
        _bearer: Annotated[Any, Security(BEARER)] = None,
    ) -> JSONResponse:
        """The stored record and report of one upload (uploaders see their team's only)."""
        who = caller(request, store)
        if not (who.may_upload or who.role in READ_ROLES):
            raise HTTPException(
                403,
                detail=f"a {who.role} token cannot read uploads; "
                "they need an uploader, reviewer or admin token",
            )
        try:
            record = store.get_upload(upload_id)
        except NotFoundError as exc:
            raise HTTPException(404, detail=str(exc)) from None
        if who.role not in READ_ROLES and record["team"] != who.team:
            raise HTTPException(403, detail="this upload belongs to another team")
        record.pop(
            "raw_path", None
        )  # where the server keeps files is none of the caller's business
        return JSONResponse(record)

    return router


async def _receive(
    request: Request, incoming: Path, max_bytes: int
) -> tuple[str, Path, dict[str, bytes] | None] | JSONResponse:
    """(file name, file on disk, form profile files) of the multipart ``file`` field and the
    optional ``form`` fields (a ``.toml`` profile and its XLSForm), or the error to answer."""
    target = incoming / f"{uuid.uuid4().hex}.part"
    async with request.form(max_files=3, max_fields=6) as form:
        sent = form.get("file")
        if not isinstance(sent, UploadFile) or not sent.filename:
            return error(422, "send the field data file in the multipart form field 'file'")
        written = await run_in_threadpool(_copy_limited, sent.file, target, max_bytes)
        profile = {}
        for part in form.getlist("form"):
            if isinstance(part, UploadFile) and part.filename:
                profile[part.filename] = await part.read(max_bytes + 1)  # small text files
    profile_bytes = sum(map(len, profile.values()))
    if written > max_bytes or profile_bytes > max_bytes:
        target.unlink(missing_ok=True)
        return too_large(max(written, profile_bytes), max_bytes)
    return sent.filename, target, profile or None


def _copy_limited(source, target: Path, max_bytes: int) -> int:
    """Copy at most ``max_bytes + 1`` bytes; return how many were copied."""
    source.seek(0)
    written = 0
    with open(target, "wb") as out:
        while written <= max_bytes and (block := source.read(_COPY_CHUNK)):
            out.write(block)
            written += len(block)
    return written


def _is_unsupported(exc: Exception) -> bool:
    return isinstance(exc, UnsupportedFormatError)


def _ingest(
    store: Store,
    body: Path,
    filename: str,
    team: str,
    strict: bool,
    form_files: dict[str, bytes] | None = None,
) -> UploadResult:
    districts = store.get_districts()
    return store.ingest_upload(
        body,
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
