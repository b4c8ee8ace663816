"""The store interface and the logic both backends share.

A backend supplies an SQLAlchemy engine, a geometry column type and a write
transaction that serialises writers (:meth:`Store._write`); everything else,
the upload ingest included, lives here once.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Double, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

from models.store.forms import TeamForms
from models.store.frames import clean_value, geometry_srid, json_records, to_int
from models.store.labels import LabelStore
from models.store.schema import PLOT_COLUMNS, WGS84, build_metadata
from models.store.screening import UploadLimits
from models.store.tables import ReferenceTables
from models.store.tokens import TokenStore
from models.store.uploads import UploadStore
from models.survey import load_plots

__all__ = ["Store", "PlotLoader"]

logger = logging.getLogger(__name__)

#: ``load_plots(path, *, districts, season, strict, source_upload, team) -> (GeoDataFrame, report)``
PlotLoader = Callable[..., tuple[gpd.GeoDataFrame, Any]]

_PLOT_BATCH = 500


def _default_plot_loader(path: Path, **kwargs: Any) -> tuple[gpd.GeoDataFrame, Any]:
    return load_plots(path, **kwargs)


class Store(UploadStore, ReferenceTables, TokenStore, LabelStore, TeamForms):
    """Districts, survey plots, uploads, programmes, estimates, reference labels, team forms and tokens.

    Do not instantiate directly; use :func:`models.store.open_store`.
    """

    backend = "abstract"

    def __init__(
        self,
        engine: Engine,
        *,
        workspace: Path,
        limits: UploadLimits | None = None,
        plot_loader: PlotLoader | None = None,
    ) -> None:
        self.engine = engine
        self.workspace = Path(workspace)
        self.limits = limits or UploadLimits()
        self.plot_loader = plot_loader or _default_plot_loader
        self.metadata = build_metadata(self._geometry_type)
        self.tables = self.metadata.tables
        self._initialise()

    # -- backend hooks -------------------------------------------------------------
    def _geometry_type(self, srid: int | None) -> TypeEngine:
        raise NotImplementedError

    def _initialise(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def _write(self, timeout_s: float | None = None) -> Iterator[Connection]:
        """Yield a connection inside one write transaction, writers serialised.

        Waits for other writers at most ``timeout_s`` (default the store's
        ``lock_timeout_s``), then raises :class:`~core.errors.StoreBusyError`.
        """
        raise NotImplementedError

    def _layer_changed(
        self,
        conn: Connection,
        table: str,
        srid: int | None,
        geometries: list,
        *,
        replace: bool,
    ) -> None:
        """Record that a spatial table changed (GeoPackage SRS and extent); no-op by default.

        ``geometries`` are the rows written; ``replace`` says they are now the whole table.
        """

    def _lock_for_replace(self, conn: Connection, table: str) -> None:
        """Make a delete-then-insert on ``table`` exclusive among writers; no-op by default."""

    def _insert_ignoring_conflict(self, conn: Connection, table: str):
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(self.tables[table]).on_conflict_do_nothing()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.engine.url.render_as_string(hide_password=True)}>"

    # -- plots ---------------------------------------------------------------------
    def _insert_plots(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        table = self.tables["survey_plots"]
        for start in range(0, len(rows), _PLOT_BATCH):
            conn.execute(table.insert(), rows[start : start + _PLOT_BATCH])

    def _plot_rows(
        self,
        plots: gpd.GeoDataFrame,
        *,
        upload_id: str,
        team: str,
        season: tuple[Any, Any] | None,
    ) -> list[dict[str, Any]]:
        if plots.empty:
            return []
        if plots.crs is None:
            plots = plots.set_crs(WGS84)
        geometries, _ = geometry_srid(plots.to_crs(WGS84), "survey plots")
        records = json_records(plots)
        season_year = pd.Timestamp(season[1]).year if season is not None else None
        rows = []
        for record, geometry in zip(records, geometries.values, strict=True):
            typed = {name: clean_value(record.pop(name, None)) for name in PLOT_COLUMNS}
            if typed["survey_date"]:
                typed["survey_date"] = str(typed["survey_date"])[:10]  # a local date, no time
            year = season_year or to_int(record.get("year"))
            if year is None and typed["survey_date"]:
                year = survey_year_of(typed["survey_date"])
            rows.append(
                {
                    "upload_id": upload_id,
                    "uploaded_by": team,
                    "year": year,
                    **typed,
                    "attributes": json.dumps(record, default=str),
                    "geom": geometry,
                }
            )
        return rows

    def get_plots(self, year: int | None = None, team: str | None = None) -> gpd.GeoDataFrame:
        """Return stored survey plots in EPSG:4326, optionally for one year or uploading team.

        Columns: those of ``models.schema.PLOT_COLUMNS`` in order (``plot_id`` ...
        ``yield_kg_ha``, ``geometry``), then ``year``, ``upload_id``,
        ``uploaded_by`` and every other column the file carried.
        """
        plots = self.tables["survey_plots"]
        query = select(plots).order_by(plots.c.fid)
        if year is not None:
            query = query.where(plots.c.year == int(year))
        if team is not None:
            query = query.where(plots.c.uploaded_by == team)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        records, geometries = [], []
        for row in rows:
            record = {k: row[k] for k in PLOT_COLUMNS}
            record.update(
                year=row["year"], upload_id=row["upload_id"], uploaded_by=row["uploaded_by"]
            )
            record.update(json.loads(row["attributes"] or "{}"))
            records.append(record)
            geometries.append(row["geom"])
        frame = pd.DataFrame.from_records(records, columns=None if records else list(PLOT_COLUMNS))
        frame["survey_date"] = pd.to_datetime(frame["survey_date"]).astype("datetime64[ns]")
        for name, kind in PLOT_COLUMNS.items():
            if kind is Double:  # an all-missing column would otherwise come back as object
                frame[name] = pd.to_numeric(frame[name]).astype("float64")
        plots = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometries, crs=WGS84), crs=WGS84)
        # the order of models.schema.PLOT_COLUMNS (geometry last of the fixed ones), then the rest
        fixed = [*PLOT_COLUMNS, "geometry"]
        return plots[fixed + [c for c in plots.columns if c not in fixed]]

    def upload_years(self, upload_id: str) -> list[int]:
        """The survey years of the plots one upload stored, ascending (one small query)."""
        plots = self.tables["survey_plots"]
        query = (
            select(plots.c.year)
            .distinct()
            .where(plots.c.upload_id == str(upload_id), plots.c.year.is_not(None))
            .order_by(plots.c.year)
        )
        with self.engine.connect() as conn:
            return [int(year) for year in conn.execute(query).scalars()]


SEASON_FIRST_MONTH = 8
"""Poppy is a dry-season crop sown from about September: a plot surveyed from August on
belongs to the survey of the next calendar year, the year of its harvest."""


def survey_year_of(survey_date: str) -> int:
    """The survey (harvest) year of a field visit on ``survey_date`` (ISO date)."""
    when = pd.Timestamp(survey_date)
    return int(when.year + 1 if when.month >= SEASON_FIRST_MONTH else when.year)
