"""The error answers of the API: one JSON shape, documented in OpenAPI, and 503 with Retry-After."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from core.errors import StoreBusyError

__all__ = ["ErrorBody", "ERRORS", "READ_ERRORS", "error", "busy", "too_large"]


class ErrorBody(BaseModel):
    """Every refusal: ``detail`` says what went wrong and what to do."""

    model_config = ConfigDict(extra="allow")

    detail: str | list[Any]
    """The reason (a list of field problems when the request itself is malformed)."""


def _doc(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


READ_ERRORS: dict[int | str, dict[str, Any]] = {
    422: _doc("a query or path parameter is out of range or malformed"),
    503: _doc("the store is busy or unreachable; see Retry-After"),
}
"""Error answers of the read endpoints."""

ERRORS: dict[int | str, dict[str, Any]] = {
    401: _doc("no token, or an unknown, expired or revoked one"),
    403: _doc("the token's role may not do this, or a cookie came without its CSRF token"),
    404: _doc("no such record"),
    411: _doc("no Content-Length header"),
    413: _doc("larger than the limit, or more layers, columns or rows than allowed"),
    415: _doc("not a field data format admon reads"),
    **READ_ERRORS,
}
"""Error answers of the upload endpoints."""


def error(code: int, detail: str, **extra: Any) -> JSONResponse:
    """A JSON refusal ``{"detail": ..., **extra}``."""
    return JSONResponse({"detail": detail, **extra}, status_code=code)


def busy(exc: StoreBusyError) -> JSONResponse:
    """503 with ``Retry-After``: a writer held the store, or the upload queue is full."""
    answer = error(503, str(exc))
    answer.headers["Retry-After"] = str(int(exc.retry_after_s))
    return answer


def too_large(size: int, limit: int) -> JSONResponse:
    """413 for a body over the limit."""
    return error(
        413,
        f"upload of {size} bytes is over the limit of {limit} bytes; "
        "split the export (for example by district or date) and upload the parts",
    )
