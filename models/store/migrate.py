"""Bring a store made by an earlier admon up to the current tables, in place.

Stores are long-lived (a season of uploads), so a new release must open the file
or database an older one made. Two kinds of change are handled: a nullable column
added to a table (``ALTER TABLE ... ADD COLUMN``), and the uploads table's
uniqueness moving from ``sha256`` alone to ``(sha256, team)`` (a table rebuild on
SQLite, which cannot drop a constraint; a dropped constraint on PostgreSQL).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.schema import CreateTable

__all__ = ["migrate"]

_GROWN_TABLES = ("uploads", "tokens")
"""Tables that gained columns since stores were first written."""

logger = logging.getLogger(__name__)


def migrate(conn: Connection, metadata: MetaData) -> list[str]:
    """Add missing columns and fix the uploads uniqueness; return what was changed.

    Run inside the write transaction that creates the tables.
    """
    changes: list[str] = []
    inspector = inspect(conn)
    for name in _GROWN_TABLES:
        table = metadata.tables[name]
        if not inspector.has_table(name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
                changes.append(f"{table.name}.{column.name} added")
    if _sha256_alone_unique(conn):
        _rebuild_uploads(conn, metadata)
        changes.append("uploads unique on (sha256, team)")
    for change in changes:
        logger.info("store migrated: %s", change)
    return changes


def _sha256_alone_unique(conn: Connection) -> bool:
    inspector = inspect(conn)
    uniques = [tuple(u["column_names"]) for u in inspector.get_unique_constraints("uploads")]
    uniques += [
        tuple(i["column_names"]) for i in inspector.get_indexes("uploads") if i.get("unique")
    ]
    return ("sha256",) in uniques


def _rebuild_uploads(conn: Connection, metadata: MetaData) -> None:
    uploads = metadata.tables["uploads"]
    columns = ", ".join(f'"{c.name}"' for c in uploads.columns)
    if conn.dialect.name == "postgresql":
        for unique in inspect(conn).get_unique_constraints("uploads"):
            if unique["column_names"] == ["sha256"]:
                conn.execute(text(f'ALTER TABLE uploads DROP CONSTRAINT "{unique["name"]}"'))
        conn.execute(
            text("ALTER TABLE uploads ADD CONSTRAINT uq_uploads_sha256_team UNIQUE (sha256, team)")
        )
        return
    conn.execute(text("ALTER TABLE uploads RENAME TO uploads_before_migration"))
    conn.execute(CreateTable(uploads))
    conn.execute(
        text(f"INSERT INTO uploads ({columns}) SELECT {columns} FROM uploads_before_migration")
    )
    conn.execute(text("DROP TABLE uploads_before_migration"))
