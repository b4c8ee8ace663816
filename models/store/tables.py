"""Districts, programmes, estimates and programme change: the store's reference tables.

A mixin of :class:`models.store.base.Store`. Each table keeps every column of
what it was given as JSON, plus typed columns for SQL users; the
``column_kinds`` table remembers column order and the dtypes JSON loses
(dates, nullable integers), so a table comes back as it went in.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import delete, select

from core.errors import InvalidInputError
from models.store.frames import (
    clean_value,
    column_kinds,
    frame_from_rows,
    geometry_srid,
    json_records,
    restore_kinds,
    to_int,
    utc_now,
)
from models.store.schema import ESTIMATE_COLUMNS

__all__ = ["ReferenceTables"]

logger = logging.getLogger(__name__)


class ReferenceTables:
    """Districts, programmes, estimates and programme change (mixed into ``Store``)."""

    def put_districts(self, districts: gpd.GeoDataFrame) -> None:
        """Replace the stored districts (``district_id``, ``district_name``, geometry, any CRS)."""
        if "district_id" not in districts.columns:
            raise InvalidInputError("districts: missing column 'district_id'")
        if districts["district_id"].duplicated().any():
            dup = districts.loc[districts["district_id"].duplicated(), "district_id"].iloc[0]
            raise InvalidInputError(f"districts: district_id {dup!r} appears more than once")
        geometries, srid = geometry_srid(districts, "districts")
        rows = []
        for record, geometry in zip(json_records(districts), geometries.values, strict=True):
            rows.append(
                {
                    "district_id": str(record.pop("district_id")),
                    "district_name": record.pop("district_name", None),
                    "attributes": json.dumps(record, default=str),
                    "geom": geometry,
                }
            )
        self._replace("districts", rows, srid, column_kinds(districts))

    def get_districts(self) -> gpd.GeoDataFrame:
        """Return the stored districts in the CRS they were stored in."""
        table = self.tables["districts"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.fid)).mappings().all()
        records = [
            {
                "district_id": r["district_id"],
                "district_name": r["district_name"],
                **json.loads(r["attributes"] or "{}"),
            }
            for r in rows
        ]
        geometries = [r["geom"] for r in rows]
        srid = shapely.get_srid(geometries[0]) if geometries else None
        frame = pd.DataFrame.from_records(
            records, columns=None if records else ["district_id", "district_name"]
        )
        frame = restore_kinds(frame, self._column_kinds("districts"))
        crs = f"EPSG:{srid}" if srid else None
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometries, crs=crs), crs=crs)

    def put_programmes(self, programmes: pd.DataFrame) -> None:
        """Replace the stored AD programme table (a DataFrame, or a GeoDataFrame with locations)."""
        geometries, srid = [None] * len(programmes), None
        if isinstance(programmes, gpd.GeoDataFrame) and programmes.geometry.name in programmes:
            series, srid = geometry_srid(programmes, "programmes")
            geometries = list(series.values)
        rows = []
        for record, geometry in zip(json_records(programmes), geometries, strict=True):
            programme_id = record.get("programme_id")
            rows.append(
                {
                    "programme_id": None if programme_id is None else str(programme_id),
                    "attributes": json.dumps(record, default=str),
                    "geom": geometry,
                }
            )
        self._replace("programmes", rows, srid, column_kinds(programmes))

    def get_programmes(self) -> pd.DataFrame:
        """Return the programme table (a GeoDataFrame when it was stored with geometry)."""
        table = self.tables["programmes"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.fid)).mappings().all()
        geometries = [r["geom"] for r in rows]
        srid = next((shapely.get_srid(g) for g in geometries if g is not None), None)
        records = [json.loads(r["attributes"]) for r in rows]
        frame = restore_kinds(pd.DataFrame.from_records(records), self._column_kinds("programmes"))
        return frame_from_rows(frame, geometries, srid)

    def _replace(
        self,
        name: str,
        rows: list[dict[str, Any]],
        srid: int | None,
        kinds: list[tuple[str, str]],
    ) -> None:
        with self._write() as conn:
            self._lock_for_replace(conn, name)
            conn.execute(delete(self.tables[name]))
            if rows:
                conn.execute(self.tables[name].insert(), rows)
            self._put_column_kinds(conn, name, kinds)
            geometries = [row["geom"] for row in rows]
            self._layer_changed(conn, name, srid, geometries, replace=True)

    def _put_column_kinds(self, conn, name: str, kinds: list[tuple[str, str]]) -> None:
        table = self.tables["column_kinds"]
        conn.execute(delete(table).where(table.c.table_name == name))
        rows = [
            {"table_name": name, "column_name": column, "position": i, "kind": kind}
            for i, (column, kind) in enumerate(kinds)
        ]
        if rows:
            conn.execute(table.insert(), rows)

    def _column_kinds(self, name: str) -> list[tuple[str, str]]:
        table = self.tables["column_kinds"]
        query = (
            select(table.c.column_name, table.c.kind)
            .where(table.c.table_name == name)
            .order_by(table.c.position)
        )
        with self.engine.connect() as conn:
            return [(r.column_name, r.kind) for r in conn.execute(query)]

    # -- estimates and programme change --------------------------------------------
    def put_estimates(self, estimates: pd.DataFrame, run_id: str) -> None:
        """Store a run's district estimates, replacing rows stored before under ``run_id``."""
        if "year" not in estimates.columns:
            raise InvalidInputError(f"estimates of run {run_id}: missing column 'year'")
        stored_at = utc_now()
        rows = []
        for record in json_records(estimates):
            typed = {name: clean_value(record.get(name)) for name in ESTIMATE_COLUMNS}
            typed["year"] = to_int(typed["year"])
            typed["n_reference"] = to_int(typed["n_reference"])
            rows.append(
                {
                    "run_id": run_id,
                    "stored_at": stored_at,
                    **typed,
                    "record": json.dumps(record, default=str),
                }
            )
        self._replace_run("estimates", rows, run_id, column_kinds(estimates))

    def get_estimates(
        self, year: int | None = None, crop: str | None = None, run_id: str | None = None
    ) -> pd.DataFrame:
        """Return stored estimates: those of ``run_id``, else the latest run of each year.

        The latest run of a year is the one stored last. ``crop`` filters rows.
        A ``run_id`` column is added when the stored rows did not carry one.
        """
        frame = self._latest_runs("estimates", year=year, run_id=run_id)
        if frame.empty:
            return pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "run_id"])
        if crop is not None:
            frame = frame[frame["crop"] == crop]
        return frame.reset_index(drop=True)

    def put_programme_change(self, change: pd.DataFrame, run_id: str) -> None:
        """Store a run's programme change table, replacing rows stored before under ``run_id``."""
        stored_at = utc_now()
        rows = []
        for record in json_records(change):
            programme_id = record.get("programme_id")
            rows.append(
                {
                    "run_id": run_id,
                    "stored_at": stored_at,
                    "programme_id": None if programme_id is None else str(programme_id),
                    "year": to_int(record.get("year")),
                    "record": json.dumps(record, default=str),
                }
            )
        self._replace_run("programme_change", rows, run_id, column_kinds(change))

    def get_programme_series(self, programme_id: str | None = None) -> pd.DataFrame:
        """Return programme change over the years (latest run per year), by programme then year."""
        frame = self._latest_runs("programme_change")
        if frame.empty:
            return pd.DataFrame(columns=["programme_id", "year", "run_id"])
        if programme_id is not None:
            frame = frame[frame["programme_id"].astype(str) == str(programme_id)]
        sort = [c for c in ("programme_id", "year") if c in frame.columns]
        return frame.sort_values(sort, kind="stable").reset_index(drop=True)

    def _replace_run(
        self, name: str, rows: list[dict[str, Any]], run_id: str, kinds: list[tuple[str, str]]
    ) -> None:
        table = self.tables[name]
        with self._write() as conn:
            self._lock_for_replace(conn, name)
            conn.execute(delete(table).where(table.c.run_id == run_id))
            if rows:
                conn.execute(table.insert(), rows)
            self._put_column_kinds(conn, name, kinds)

    def _latest_runs(self, name: str, *, year: int | None = None, run_id: str | None = None):
        table = self.tables[name]
        query = select(table.c.fid, table.c.run_id, table.c.year, table.c.record).order_by(
            table.c.fid
        )
        if year is not None:
            query = query.where(table.c.year == int(year))
        if run_id is not None:
            query = query.where(table.c.run_id == run_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return pd.DataFrame()
        if run_id is None:
            latest = {r.year: r.run_id for r in rows}  # ordered by fid: the last write wins
            rows = [r for r in rows if latest[r.year] == r.run_id]
        records = []
        for r in rows:
            record = json.loads(r.record)
            record.setdefault("run_id", r.run_id)
            records.append(record)
        return restore_kinds(pd.DataFrame.from_records(records), self._column_kinds(name))
