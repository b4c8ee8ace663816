"""Who is calling, and may they do this? Bearer tokens, and a session cookie for browsers.

Programs send ``Authorization: Bearer <token>``. People sign in on ``/login``: a
plain HTML form (no script touches the token) whose answer sets the cookie
``admon_session`` holding the token with ``HttpOnly`` (page scripts cannot read
it, even a script that got into a published page), ``SameSite=Strict`` (no other
site can make the browser send it) and ``Secure`` over HTTPS. Requests that
change something with the cookie must also carry the CSRF token, a second random
cookie (``admon_csrf``) echoed in the ``X-CSRF-Token`` header or the form's
``csrf`` field. The token itself is checked on every request, so a revoked or
expired token stops working at once, cookie or not.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPBearer

from core.errors import StoreBusyError
from models.store import Store, TokenInfo

__all__ = [
    "BEARER",
    "SESSION_COOKIE",
    "CSRF_COOKIE",
    "READ_ROLES",
    "caller",
    "optional_caller",
    "require_uploader",
    "require_reader",
    "login_router",
    "safe_next",
]

logger = logging.getLogger(__name__)

SESSION_COOKIE = "admon_session"
CSRF_COOKIE = "admon_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_MAX_AGE_S = 8 * 3600
"""A browser session lasts a working day at most (the token's own expiry still applies)."""
READ_ROLES = frozenset({"reviewer", "admin"})
"""Roles that may read the restricted publication."""

BEARER = HTTPBearer(auto_error=False, description="An admon token: admon token create")
"""The bearer scheme, declared in the OpenAPI document."""

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _csrf_ok(request: Request, sent: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and bool(sent) and hmac.compare_digest(expected, str(sent))


def optional_caller(request: Request, store: Store) -> TokenInfo | None:
    """The verified caller of ``request`` by bearer token or session cookie, else None.

    A cookie on a request that changes something counts only with the CSRF token.
    """
    token = _bearer(request)
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        if token and request.method not in _SAFE_METHODS:
            if not _csrf_ok(request, request.headers.get(CSRF_HEADER)):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    detail="missing or wrong CSRF token: reload the page and try again",
                )
    if not token:
        return None
    try:
        return store.verify_token(token)
    except StoreBusyError:
        raise
    except Exception as exc:  # noqa: BLE001 - any store failure is the service's, not the caller's
        logger.exception("token check failed")
        raise HTTPException(503, detail="the store cannot check tokens right now") from exc


def caller(request: Request, store: Store) -> TokenInfo:
    """Return the verified caller of ``request``.

    Raises
    ------
    HTTPException
        401 when neither a bearer token nor a session cookie is sent, or the token
        is unknown, revoked or expired; 403 for a cookie without its CSRF token on
        a request that changes something.
    """
    sent = _bearer(request) or request.cookies.get(SESSION_COOKIE)
    info = optional_caller(request, store)
    if info is not None:
        return info
    if not sent:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing token: send 'Authorization: Bearer <token>' or sign in on /login "
            "(an admin creates one with 'admon token create --team T --role uploader')",
            headers=_CHALLENGE,
        )
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="unknown, expired or revoked token; ask an admin for a new one",
        headers=_CHALLENGE,
    )


def require_uploader(info: TokenInfo) -> TokenInfo:
    """Return ``info`` if its role may upload; 403 otherwise."""
    if not info.may_upload:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"a {info.role} token cannot upload; uploads need an uploader or admin token",
        )
    return info


def require_reader(info: TokenInfo) -> TokenInfo:
    """Return ``info`` if its role may read the restricted publication; 403 otherwise."""
    if info.role not in READ_ROLES:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"a {info.role} token cannot read the restricted site; "
            "it needs a reviewer or admin token",
        )
    return info


def safe_next(target: str | None, default: str = "/restricted/") -> str:
    """A redirect target on this site only (``/path``), never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_router(store: Store, page: str) -> APIRouter:
    """``GET/POST /login`` and ``POST /logout``; ``page`` is the login form template.

    The template has ``{csrf}``, ``{next}`` and ``{message}`` slots (HTML-escaped here).
    """
    import html

    router = APIRouter(include_in_schema=False)

    def form(request: Request, next_path: str, message: str, code: int = 200) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        body = page.format(
            csrf=html.escape(csrf), next=html.escape(next_path), message=html.escape(message)
        )
        answer = HTMLResponse(body, status_code=code, headers={"Cache-Control": "no-store"})
        _set_cookie(request, answer, CSRF_COOKIE, csrf, http_only=False)
        return answer

    @router.get("/login")
    def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
        return form(request, safe_next(next), "")

    @router.post("/login")
    def login(
        request: Request,
        token: Annotated[str, Form(max_length=200)],
        csrf: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=2000)] = "/restricted/",  # noqa: A002
    ) -> Response:
        target = safe_next(next)
        if not _csrf_ok(request, csrf):
            return form(request, target, "The form expired; sign in again.", 403)
        info = store.verify_token(token.strip())
        if info is None:
            return form(request, target, "Unknown, expired or revoked token.", 401)
        answer = RedirectResponse(target, status_code=303)
        _set_cookie(request, answer, SESSION_COOKIE, token.strip(), http_only=True)
        _set_cookie(request, answer, CSRF_COOKIE, secrets.token_urlsafe(24), http_only=False)
        logger.info("team %s (%s) signed in", info.team, info.role)
        return answer

    @router.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        if not _csrf_ok(request, csrf):
            raise HTTPException(403, detail="missing or wrong CSRF token")
        answer = RedirectResponse("/", status_code=303)
        answer.delete_cookie(SESSION_COOKIE, path="/", samesite="strict", httponly=True)
        return answer

    return router


def _set_cookie(
    request: Request, answer: Response, name: str, value: str, *, http_only: bool
) -> None:
    answer.set_cookie(
        name,
        value,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        secure=request.url.scheme == "https",
        httponly=http_only,
        samesite="strict",
    )
