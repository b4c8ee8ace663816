"""HTML pages of the service: the upload page, the published gallery and its files."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["pages_router", "published_router", "NO_RUN_PAGE"]

_HERE = Path(__file__).parent

NO_RUN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>admon</title></head>
<body>
<h1>admon</h1>
<p>No run has been published yet in <code>{published}</code>.</p>
<p>Run one with <code>admon demo</code> (the synthetic demo region) or
<code>admon run CONFIG.toml</code>; the gallery appears here when it finishes.</p>
<p>Survey teams upload field data on the <a href="/upload">upload page</a>.</p>
</body></html>
"""


def pages_router() -> APIRouter:
    """Routes for ``GET /upload`` and the page's script."""
    router = APIRouter(include_in_schema=False)

    @router.get("/upload", response_class=HTMLResponse)
    def upload_page() -> HTMLResponse:
        return HTMLResponse((_HERE / "templates" / "upload.html").read_text(encoding="utf-8"))

    @router.get("/static/upload.js")
    def upload_script() -> FileResponse:
        return FileResponse(_HERE / "static" / "upload.js", media_type="text/javascript")

    return router


def published_router(published: Path) -> APIRouter:
    """Routes serving ``<workspace>/published/``: ``/`` is its index.html, other paths its files.

    Register last: the catch-all path would otherwise shadow the API.
    """
    router = APIRouter(include_in_schema=False)
    root = published.resolve()

    @router.get("/", response_class=HTMLResponse)
    def gallery():
        index = root / "index.html"
        if index.is_file():
            return FileResponse(index, media_type="text/html")
        return HTMLResponse(NO_RUN_PAGE.format(published=html.escape(str(published))))

    @router.get("/{file_path:path}")
    def published_file(file_path: str) -> FileResponse:
        target = (root / file_path).resolve()
        if not target.is_relative_to(root):
            raise HTTPException(404, detail="not found")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            raise HTTPException(404, detail=f"no published file {file_path!r}")
        return FileResponse(target)

    return router
