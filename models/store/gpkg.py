"""GeoPackage backend: one file in the workspace, nothing to start.

The file is a valid OGC GeoPackage (application id ``GPKG``, the
``gpkg_spatial_ref_sys``/``gpkg_contents``/``gpkg_geometry_columns`` tables,
GeoPackage binary geometries), so ``survey_plots`` and ``districts`` open as
layers in QGIS and pyogrio. SQLite allows one writer at a time: writers take an
exclusive ``flock`` on ``<store>.lock`` (threads and processes alike) and then
``BEGIN IMMEDIATE``, so concurrent uploads queue instead of failing or losing rows.
A writer waits for the lock at most ``lock_timeout_s`` and then raises
:class:`~core.errors.StoreBusyError` (the service answers 503 with ``Retry-After``).
The database is in WAL mode, so readers never wait for a writer: they read the last
committed state while a write is in progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import shapely
from pyproj import CRS
from pyproj.enums import WktVersion
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from core.errors import StoreBusyError, StoreError
from models.store.base import Store
from models.store.geometry import GpkgGeometry
from models.store.migrate import migrate
from models.store.schema import WGS84

__all__ = ["GeoPackageStore"]

logger = logging.getLogger(__name__)

_GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
_GPKG_USER_VERSION = 10400  # GeoPackage 1.4
_DEFAULT_LOCK_TIMEOUT_S = 30.0
_LOCK_POLL_S = 0.05

_FEATURE_TABLES = {"survey_plots": WGS84, "districts": 0, "programmes": 0}
_ATTRIBUTE_TABLES = (
    "uploads",
    "estimates",
    "programme_change",
    "refused_uploads",
    "reference_labels",
)

_CORE_DDL = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
]


class GeoPackageStore(Store):
    """The store in a GeoPackage file (``<workspace>/store.gpkg`` by default)."""

    backend = "geopackage"

    def __init__(self, path: Path, *, lock_timeout_s: float | None = None, **kwargs) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout_s = (
            _DEFAULT_LOCK_TIMEOUT_S if lock_timeout_s is None else float(lock_timeout_s)
        )
        engine = create_engine(
            f"sqlite:///{self.path}",
            poolclass=NullPool,
            # the flock already orders writers; SQLite's own wait covers a WAL checkpoint
            connect_args={"timeout": max(self.lock_timeout_s, 1.0), "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _autocommit_driver(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself

        @event.listens_for(engine, "begin")
        def _begin(conn):
            immediate = conn.get_execution_options().get("immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        kwargs.setdefault("workspace", self.path.parent)
        super().__init__(engine, **kwargs)

    def _geometry_type(self, srid: int | None) -> TypeEngine:
        return GpkgGeometry("GEOMETRY")

    @contextlib.contextmanager
    def _file_lock(self, timeout_s: float) -> Iterator[None]:
        # flock locks belong to the open file description: a fresh open() per writer
        # makes threads of one process exclude each other as well as processes.
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreBusyError(
                            f"{self.path.name}: another writer has held the store for more "
                            f"than {timeout_s:g} s; try again in a few seconds",
                            retry_after_s=max(1, round(min(timeout_s, 30))),
                        ) from None
                    time.sleep(_LOCK_POLL_S)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _write(self, timeout_s: float | None = None) -> Iterator[Connection]:
        wait = self.lock_timeout_s if timeout_s is None else timeout_s
        with self._file_lock(wait), self.engine.connect() as conn:
            conn = conn.execution_options(immediate=True)
            with conn.begin():
                yield conn

    def _initialise(self) -> None:
        try:
            with self._file_lock(self.lock_timeout_s):
                # on the driver connection: SQLite refuses the journal mode inside a transaction
                raw = self.engine.raw_connection()
                try:
                    raw.driver_connection.execute("PRAGMA journal_mode = WAL")
                finally:
                    raw.close()
            with self._write() as conn:
                conn.exec_driver_sql(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
                conn.exec_driver_sql(f"PRAGMA user_version = {_GPKG_USER_VERSION}")
                for ddl in _CORE_DDL:
                    conn.exec_driver_sql(ddl)
                _ensure_srs(conn, -1)
                _ensure_srs(conn, 0)
                _ensure_srs(conn, WGS84)
                self.metadata.create_all(conn)
                for table, srid in _FEATURE_TABLES.items():
                    _register(conn, table, "features", srid)
                for table in _ATTRIBUTE_TABLES:
                    _register(conn, table, "attributes", None)
                migrate(conn, self.metadata)
        except Exception as exc:
            if isinstance(exc, StoreError):
                raise
            raise StoreError(
                f"{self.path}: cannot open or create the GeoPackage store ({exc}); "
                "check that the path is writable and is a GeoPackage"
            ) from exc

    def _layer_changed(
        self,
        conn: Connection,
        table: str,
        srid: int | None,
        geometries: list,
        *,
        replace: bool,
    ) -> None:
        params: dict = {"t": table}
        if srid is not None:
            _ensure_srs(conn, srid)
            params["s"] = srid
            for meta in ("gpkg_geometry_columns", "gpkg_contents"):
                conn.execute(text(f"UPDATE {meta} SET srs_id = :s WHERE table_name = :t"), params)
        present = [g for g in geometries if g is not None and not shapely.is_empty(g)]
        extent = shapely.total_bounds(present).tolist() if present else [None] * 4
        params.update(zip(("x0", "y0", "x1", "y1"), extent, strict=True))
        # the extent in gpkg_contents is what QGIS and GDAL zoom to without scanning the table
        if replace:
            bounds = "min_x = :x0, min_y = :y0, max_x = :x1, max_y = :y1, "
        elif present:
            bounds = "".join(
                f"{col} = {fn}(coalesce({col}, :{p}), :{p}), "
                for col, fn, p in (
                    ("min_x", "min", "x0"),
                    ("min_y", "min", "y0"),
                    ("max_x", "max", "x1"),
                    ("max_y", "max", "y1"),
                )
            )
        else:
            bounds = ""
        conn.execute(
            text(
                f"UPDATE gpkg_contents SET {bounds}"
                "last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = :t"
            ),
            params,
        )


def _ensure_srs(conn: Connection, srid: int) -> None:
    if conn.execute(
        text("SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id = :s"), {"s": srid}
    ).first():
        return
    if srid == -1:
        row = (
            "Undefined cartesian SRS",
            -1,
            "NONE",
            -1,
            "undefined",
            "undefined cartesian coordinate reference system",
        )
    elif srid == 0:
        row = (
            "Undefined geographic SRS",
            0,
            "NONE",
            0,
            "undefined",
            "undefined geographic coordinate reference system",
        )
    else:
        crs = CRS.from_epsg(srid)
        row = (crs.name, srid, "EPSG", srid, crs.to_wkt(WktVersion.WKT1_GDAL), None)
    conn.execute(
        text(
            "INSERT INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
            "organization_coordsys_id, definition, description) VALUES (:n, :i, :o, :c, :d, :x)"
        ),
        dict(zip("niocdx", row, strict=True)),
    )


def _register(conn: Connection, table: str, data_type: str, srid: int | None) -> None:
    if conn.execute(
        text("SELECT 1 FROM gpkg_contents WHERE table_name = :t"), {"t": table}
    ).first():
        return
    conn.execute(
        text(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES (:t, :d, :t, :s)"
        ),
        {"t": table, "d": data_type, "s": srid},
    )
    if data_type == "features":
        conn.execute(
            text(
                "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, "
                "srs_id, z, m) VALUES (:t, 'geom', 'GEOMETRY', :s, 0, 0)"
            ),
            {"t": table, "s": srid},
        )
