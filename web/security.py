"""Security headers on every answer, and the Content-Security-Policy of each HTML page.

Published pages are static files with inline scripts (folium writes them), so
their policy allows exactly those scripts by hash and nothing else: a string a
survey team managed to slip into a page as HTML (``<img onerror=...>``,
``<script>``) does not run even if an escape were missed. The policy is
computed from the file itself and cached by its size and modification time.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "page_policy", "file_policy", "DEFAULT_POLICY"]

logger = logging.getLogger(__name__)

_INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)

# tiles of the optional, off-by-default OpenStreetMap layer are the only remote resource
_TILES = "https://tile.openstreetmap.org https://*.tile.openstreetmap.org"

DEFAULT_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""The policy of every answer that does not set its own (JSON, the upload page)."""


def page_policy(page: str) -> str:
    """The Content-Security-Policy of one HTML page: its own inline scripts by hash, no others.

    Parameters
    ----------
    page : str
        The HTML text as served.

    Returns
    -------
    str
        A policy allowing scripts from the site and the page's inline scripts
        (``'sha256-...'``), styles inline and from the site, images from the site,
        ``data:`` URLs and map tiles, and nothing from any other origin.

    Examples
    --------
    >>> "'sha256-" in page_policy("<script>var a = 1;</script>")
    True
    """
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
            for body in _INLINE_SCRIPT.findall(page)
        }
    )
    scripts = " ".join(["'self'", *hashes])
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob: {_TILES}; font-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    )


def file_policy(path: Path) -> str:
    """:func:`page_policy` of an HTML file, cached while the file is unchanged."""
    stat = path.stat()
    return _cached_policy(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _cached_policy(path: str, _size: int, _mtime_ns: int) -> str:
    return page_policy(Path(path).read_text(encoding="utf-8", errors="replace"))


class SecurityHeaders:
    """ASGI middleware: ``X-Content-Type-Options``, ``X-Frame-Options``, ``Referrer-Policy``
    and a Content-Security-Policy (:data:`DEFAULT_POLICY` unless the route set one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", DEFAULT_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)
