"""Session-wide test settings shared by every test package."""

from __future__ import annotations

import os

# Prefect: no telemetry, quiet logs, and no "database is locked" noise from analytics.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
