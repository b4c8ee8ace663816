"""admon's HTTP service: uploads with tokens, estimates API, upload page and gallery."""

from __future__ import annotations

from web.app import create_app
from web.serve import serve

__all__ = ["create_app", "serve"]
