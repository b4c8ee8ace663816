"""PostGIS backend: a shared PostgreSQL database selected by a ``postgresql://`` URL.

PostgreSQL serialises concurrent writers itself; the unique index on
``uploads.sha256`` with ``ON CONFLICT DO NOTHING`` makes two simultaneous uploads
of the same content store it once. Survey plots are ``geometry(Geometry,4326)``;
districts and programmes keep the SRID they were given.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeEngine

from core.errors import StoreBusyError, StoreError
from models.store.base import Store
from models.store.geometry import PostgisGeometry
from models.store.migrate import migrate

__all__ = ["PostGISStore", "normalise_url"]

logger = logging.getLogger(__name__)

_LOCK_NOT_AVAILABLE = "55P03"
_SCHEMA_LOCK_KEY = 0x61646D6F6E  # "admon": one process creates the schema at a time


def normalise_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver (``postgresql+psycopg://``)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class PostGISStore(Store):
    """The store in a PostgreSQL database with the PostGIS extension."""

    backend = "postgis"

    def __init__(self, url: str, *, lock_timeout_s: float | None = None, **kwargs) -> None:
        self.lock_timeout_s = 30.0 if lock_timeout_s is None else float(lock_timeout_s)
        engine = create_engine(normalise_url(url), pool_pre_ping=True, pool_size=5, max_overflow=20)
        super().__init__(engine, **kwargs)

    def _geometry_type(self, srid: int | None) -> TypeEngine:
        return PostgisGeometry(srid)

    @contextlib.contextmanager
    def _write(self, timeout_s: float | None = None) -> Iterator[Connection]:
        wait_ms = int(1000 * (self.lock_timeout_s if timeout_s is None else timeout_s))
        try:
            with self.engine.begin() as conn:
                # a row or table lock held longer than this fails instead of queueing forever
                conn.execute(text(f"SET LOCAL lock_timeout = {max(wait_ms, 1)}"))
                yield conn
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise StoreBusyError(
                    "the store is busy: another writer held a lock for more than "
                    f"{wait_ms / 1000:g} s; try again in a few seconds",
                    retry_after_s=max(1, round(min(wait_ms / 1000, 30))),
                ) from exc
            raise

    def _lock_for_replace(self, conn: Connection, table: str) -> None:
        # two writers replacing the same rows would otherwise both delete, then both insert
        conn.execute(text(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE'))

    def _initialise(self) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
                has_postgis = conn.execute(
                    text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
                ).first()
                if not has_postgis:
                    conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                self.metadata.create_all(conn)
                migrate(conn, self.metadata)
                for table in ("survey_plots", "districts", "programmes"):
                    index = f'"{table}_geom_gist" ON "{table}" USING gist (geom)'
                    conn.execute(text(f"CREATE INDEX IF NOT EXISTS {index}"))
        except SQLAlchemyError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"{url}: cannot open the PostGIS store ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}); check the URL, that the server runs and that "
                "the PostGIS extension is installed (CREATE EXTENSION postgis as a superuser)"
            ) from exc
