"""An empty, already-migrated Prefect database for each new workspace.

A temporary Prefect server in a new workspace first creates its SQLite database, runs
every migration of Prefect's schema and registers Prefect's block types: more than half
of its start (measured 13.4 s against 5.2 s from a ready database on the 2-core machine,
``tests/benchmarks/README.md``). The result is the same for every workspace of one
Prefect version, so the first server of a version leaves a copy of it, taken the moment
it answers and before any flow run exists, in the user's cache; each later new
workspace starts from a copy of that copy.

The template holds the schema, Prefect's migration mark and its block types and
schemas, nothing of a run: its ``configuration`` rows (the server's telemetry session)
are dropped, and it is only ever written from a server that has answered its health
check and nothing else. A workspace that already has a database keeps it; a configured
database (``PREFECT_API_DATABASE_CONNECTION_URL``, e.g. PostgreSQL) is left to Prefect.

The template also tells which migration is the installed version's last. A server whose
database carries that mark already (copied from the template, or a workspace's own
database after an earlier command of the same version) is started without Prefect's
check of its migrations (:func:`migrated`): that check loads every migration script
of Prefect's schema at each start.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import shutil
import sqlite3
from pathlib import Path

from core.io import atomic_path

__all__ = ["template_path", "seed_database", "save_template", "migrated"]

log = logging.getLogger(__name__)

DATABASE_URL_SETTINGS = (
    "PREFECT_API_DATABASE_CONNECTION_URL",
    "PREFECT_SERVER_DATABASE_CONNECTION_URL",
)
"""Settings that name another database than ``PREFECT_HOME/prefect.db``."""

RUN_ROWS = ("configuration",)
"""Tables a fresh server writes at its start that belong to that server, not the schema."""


def template_path() -> Path | None:
    """Where the empty database of the installed Prefect version is kept; None if not used."""
    if any(os.environ.get(name) for name in DATABASE_URL_SETTINGS):
        return None
    try:
        version = importlib.metadata.version("prefect")
    except importlib.metadata.PackageNotFoundError:
        return None
    cache = os.environ.get("ADMON_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(cache) if cache else Path.home() / ".cache"
    if not os.environ.get("ADMON_CACHE_DIR"):
        root = root / "admon"
    return root / f"prefect-{version}-empty.db"


def database_path(home: str | Path) -> Path:
    """Prefect's default SQLite database of a Prefect home."""
    return Path(home) / "prefect.db"


def seed_database(home: str | Path) -> bool:
    """Copy the template into ``home`` if it has no database yet; True if copied."""
    template = template_path()
    target = database_path(home)
    if template is None or target.exists() or not template.is_file():
        return False
    try:
        with atomic_path(target) as scratch:
            shutil.copyfile(template, scratch)
    except OSError as error:
        log.debug("could not copy the empty Prefect database %s: %s", template, error)
        return False
    return True


def save_template(home: str | Path) -> bool:
    """Keep a copy of ``home``'s database as the template, once per Prefect version.

    Call it only while the database holds nothing but what a starting server writes
    (right after the server answers, before the first flow run). True if written.
    """
    template = template_path()
    source = database_path(home)
    if template is None or template.exists() or not source.is_file():
        return False
    try:
        with atomic_path(template) as scratch:
            # the backup API reads a consistent snapshot, the write-ahead log included
            with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
                with contextlib.closing(sqlite3.connect(scratch)) as copy:
                    src.backup(copy)
                    for table in RUN_ROWS:
                        copy.execute(f'DELETE FROM "{table}"')  # noqa: S608 (fixed names)
                    copy.commit()
    except (OSError, sqlite3.Error) as error:
        log.debug("could not keep the empty Prefect database as %s: %s", template, error)
        return False
    return True


def migrated(home: str | Path) -> bool:
    """True if ``home``'s database is at the migration the template of this version is at.

    False when either is missing or unreadable, or when the marks differ (a database of
    another Prefect version): Prefect then checks and runs its migrations as usual.
    """
    template = template_path()
    if template is None or not template.is_file():
        return False
    mark = _migration_mark(template)
    return mark is not None and mark == _migration_mark(database_path(home))


def _migration_mark(database: Path) -> str | None:
    """The ``alembic_version`` of a SQLite database, read only; None if it has none."""
    if not database.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return None
    return ",".join(sorted(str(row[0]) for row in rows)) or None
