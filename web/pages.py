"""HTML pages of the service: upload, sign-in, API docs, and the two publications.

``published/public/`` is served at ``/`` to anyone; ``published/restricted/`` at
``/restricted/`` only to a reviewer or admin (bearer token or session cookie).
Every HTML file goes out with its own Content-Security-Policy (its inline scripts
by hash, see :mod:`web.security`); restricted answers are never cached.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from models.store import Store
from web.auth import optional_caller, require_reader
from web.security import file_policy, page_policy

__all__ = ["pages_router", "docs_router", "published_router", "NO_RUN_PAGE", "DOCS_STATIC"]

_HERE = Path(__file__).parent

NO_RUN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>admon</title></head>
<body>
<h1>admon</h1>
<p>No run has been published yet.</p>
<p>Run one with <code>admon demo</code> (the synthetic demo region) or
<code>admon run CONFIG.toml</code>; the {audience} site appears here when it finishes.</p>
<p>Survey teams upload field data on the <a href="/upload">upload page</a>.</p>
</body></html>
"""

DOCS_STATIC = "/static/docs"
"""Where Swagger UI's script and stylesheet are served from (no CDN on the token's origin)."""


def _docs_assets() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def pages_router() -> APIRouter:
    """``GET /upload``, the sign-in page's template and the pages' script and stylesheet."""
    router = APIRouter(include_in_schema=False)

    @router.get("/upload", response_class=HTMLResponse)
    def upload_page() -> HTMLResponse:
        return HTMLResponse((_HERE / "templates" / "upload.html").read_text(encoding="utf-8"))

    @router.get("/static/upload.js")
    def upload_script() -> FileResponse:
        return FileResponse(_HERE / "static" / "upload.js", media_type="text/javascript")

    @router.get("/static/service.css")
    def service_style() -> FileResponse:
        return FileResponse(_HERE / "static" / "service.css", media_type="text/css")

    return router


def login_page() -> str:
    """The sign-in form template (see :func:`web.auth.login_router`)."""
    return (_HERE / "templates" / "login.html").read_text(encoding="utf-8")


def docs_router(openapi_url: str, title: str) -> APIRouter:
    """``GET /docs``: Swagger UI from files shipped with admon, never from a CDN."""
    router = APIRouter(include_in_schema=False)
    assets = _docs_assets()
    files = {
        "swagger-ui-bundle.js": "text/javascript",
        "swagger-ui.css": "text/css",
        "favicon.png": "image/png",
    }

    @router.get("/docs")
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title}: API",
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon.png",
        )
        body = page.body.decode("utf-8")
        return HTMLResponse(body, headers={"Content-Security-Policy": page_policy(body)})

    @router.get(DOCS_STATIC + "/{name}")
    def docs_asset(name: str) -> FileResponse:
        if name not in files:
            raise HTTPException(404, detail="not found")
        return FileResponse(assets / name, media_type=files[name])

    return router


def _serve(root: Path, file_path: str, *, private: bool, audience: str) -> Response:
    target = (root / file_path).resolve()
    if not target.is_relative_to(root):
        raise HTTPException(404, detail="not found")
    if target.is_dir():
        target = target / "index.html"
    headers = {"Cache-Control": "no-store"} if private else {}
    if not target.is_file():
        if file_path in ("", "index.html"):
            page = NO_RUN_PAGE.format(audience=html.escape(audience))
            return HTMLResponse(page, headers=headers)
        raise HTTPException(404, detail=f"no published file {file_path!r}")
    if target.suffix.lower() in (".html", ".htm"):
        headers["Content-Security-Policy"] = file_policy(target)
    return FileResponse(target, headers=headers)


def published_router(published: Path, store: Store) -> APIRouter:
    """Routes serving ``<workspace>/published/``: the public site at ``/``, the restricted at
    ``/restricted/``. Register last: the catch-all path would otherwise shadow the API."""
    router = APIRouter(include_in_schema=False)
    public = (published / "public").resolve()
    restricted = (published / "restricted").resolve()

    @router.get("/restricted")
    def restricted_root() -> RedirectResponse:
        return RedirectResponse("/restricted/", status_code=307)

    @router.get("/restricted/{file_path:path}")
    def restricted_file(file_path: str, request: Request) -> Response:
        who = optional_caller(request, store)
        if who is None:
            if request.headers.get("authorization"):
                raise HTTPException(401, detail="unknown, expired or revoked token")
            target = quote(f"/restricted/{file_path}", safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        require_reader(who)
        return _serve(restricted, file_path, private=True, audience="restricted")

    @router.get("/")
    def gallery() -> Response:
        return _serve(public, "index.html", private=False, audience="public")

    @router.get("/{file_path:path}")
    def public_file(file_path: str) -> Response:
        return _serve(public, file_path, private=False, audience="public")

    return router
