"""Session-wide test settings shared by every test package."""

from __future__ import annotations

import os
import tempfile

# Prefect: no telemetry, quiet logs, no "database is locked" noise from analytics, its own
# home (never the developer's ~/.prefect), and patience for a server start on a loaded
# 2-core machine.
_PREFECT_HOME = tempfile.mkdtemp(prefix="admon-test-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", os.path.join(_PREFECT_HOME, "storage"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", "warning")
os.environ.pop("PREFECT_API_URL", None)


import shutil  # noqa: E402

import pytest  # noqa: E402


def chromium_executable() -> str:
    """Debian's chromium; missing in CI is a failure (make test installs it), locally a skip."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; scripts/system-deps.sh (make test) installs it")
        pytest.skip("chromium not installed: run scripts/system-deps.sh (make test does)")
    return path


@pytest.fixture(scope="session")
def playwright_session():
    """One Playwright driver for the whole session: its sync API allows only one at a time."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        yield playwright
