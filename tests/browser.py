"""Headless Debian chromium for the page tests: where it is and how it is started."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time

import pytest
import uvicorn

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # network off: requests go to a closed proxy port, except loopback (Chromium's
    # implicit bypass) where a service under test may listen
    "--proxy-server=127.0.0.1:9",
]


def chromium_executable() -> str:
    """Debian's chromium; missing in CI is a failure (make test installs it), locally a skip."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; scripts/system-deps.sh (make test) installs it")
        pytest.skip("chromium not installed: run scripts/system-deps.sh (make test does)")
    return path


@contextlib.contextmanager
def served(app):
    """The ASGI ``app`` served by uvicorn in a thread: yields its base URL, then stops it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign_in(page, base, token, next_path="/upload"):
    """The /login form as a person fills it; returns the page's message (empty when signed in)."""
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page.text_content("#message") if page.query_selector("#message") else ""
