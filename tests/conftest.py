"""Session-wide test settings shared by every test package."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Prefect: no telemetry, quiet logs, no "database is locked" noise from analytics, its own
# home (never the developer's ~/.prefect), and patience for a server start on a loaded
# 2-core machine.
_PREFECT_HOME = tempfile.mkdtemp(prefix="admon-test-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", os.path.join(_PREFECT_HOME, "storage"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", "warning")
os.environ.pop("PREFECT_API_URL", None)
# the empty Prefect database new workspaces copy (flows.server_db): the session's own
_CACHE_DIR = tempfile.mkdtemp(prefix="admon-test-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)
os.environ.setdefault("ADMON_CACHE_DIR", _CACHE_DIR)


import importlib.util  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def playwright_session():
    """One Playwright driver for the whole session: its sync API allows only one at a time."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        yield playwright


def _postgis_module():
    """tests/postgis.py, loaded once per process under one name (conftests are not packages)."""
    name = "admon_tests_postgis"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("postgis.py"))
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(scope="session")
def postgis_server() -> str:
    """URL of a PostgreSQL server with PostGIS where tests may create databases."""
    return _postgis_module().server_url()


@pytest.fixture
def postgis_url(postgis_server: str) -> Iterator[str]:
    """URL of a fresh database with PostGIS, dropped after the test."""
    with _postgis_module().fresh_database(postgis_server) as url:
        yield url
