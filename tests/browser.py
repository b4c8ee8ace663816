"""Headless Debian chromium for the page tests: where it is and how it is started."""

from __future__ import annotations

import os
import shutil

import pytest

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
