"""The store interface and the logic both backends share.

A backend supplies an SQLAlchemy engine, a geometry column type and a write
transaction that serialises writers (:meth:`Store._write`); everything else,
the upload ingest included, lives here once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Double, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

from core.errors import InvalidInputError, NotFoundError
from core.io import atomic_path
from models.store.forms import TeamForms
from models.store.frames import clean_value, geometry_srid, json_records, to_int, utc_now
from models.store.labels import LabelStore
from models.store.records import UploadResult
from models.store.schema import PLOT_COLUMNS, WGS84, build_metadata
from models.store.screening import UploadLimits, safe_filename, screen_upload
from models.store.tables import ReferenceTables
from models.store.tokens import TokenStore
from models.survey import load_plots

__all__ = ["Store", "PlotLoader"]

logger = logging.getLogger(__name__)

#: ``load_plots(path, *, districts, season, strict, source_upload, team) -> (GeoDataFrame, report)``
PlotLoader = Callable[..., tuple[gpd.GeoDataFrame, Any]]

_PLOT_BATCH = 500


def _default_plot_loader(path: Path, **kwargs: Any) -> tuple[gpd.GeoDataFrame, Any]:

    return load_plots(path, **kwargs)


class Store(ReferenceTables, TokenStore, LabelStore, TeamForms):
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
    def _write(self) -> Iterator[Connection]:
        """Yield a connection inside one write transaction, writers serialised."""
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

    # -- uploads -------------------------------------------------------------------
    def ingest_upload(
        self,
        raw: bytes,
        filename: str,
        team: str,
        *,
        strict: bool = False,
        districts: gpd.GeoDataFrame | None = None,
        season: tuple[Any, Any] | None = None,
        form_files: Mapping[str, bytes] | None = None,
    ) -> UploadResult:
        """Validate a field data file and store its accepted plots, atomically and once.

        The bytes are first saved under
        ``<workspace>/uploads/<sha256[:2]>/<sha256>/<filename>`` (nothing sent is
        lost, even a refused file), then screened, parsed by
        ``models.survey.load_plots`` and stored in one transaction: the upload
        record and all its accepted plots, or nothing. The same content sent again
        stores nothing and returns the first upload's id with ``duplicate=True``.

        Parameters
        ----------
        raw : bytes
            The file content as received.
        filename : str
            Name the client gave; only its base name is used.
        team : str
            Survey team that sent it (from the token on the HTTP service).
        strict : bool
            Refuse the whole file when any row is invalid.
        districts : GeoDataFrame, optional
            Districts to check plot locations against (``load_plots``).
        season : (start, end), optional
            Survey season dates (``load_plots`` rejects rows surveyed outside); the
            plots' ``year`` is then the year the season ends (the harvest year),
            otherwise the year of each plot's ``survey_date``.
        form_files : mapping of file name to bytes, optional
            A form profile (``.toml`` and the XLSForm it names, or an XLSForm): checked,
            stored as the team's (replacing any earlier one) and used for this file.
            Without it the team's stored profile is used, if any.

        Returns
        -------
        UploadResult

        Raises
        ------
        UploadTooLargeError
            Over the size limit, or an archive expanding past it (zip bomb).
        InvalidInputError
            Unsafe archive paths, XML entities, non-UTF-8 text, too many rows, or a
            file the reader cannot read (``UnsupportedFormatError`` for unknown types).

        Examples
        --------
        >>> store = open_store("workspace/store.gpkg")  # doctest: +SKIP
        >>> result = store.ingest_upload(path.read_bytes(), path.name, "team-a")  # doctest: +SKIP
        """
        if not team or not str(team).strip():
            raise InvalidInputError(f"{filename}: an upload needs a team name")
        form = self.save_team_form(team, form_files) if form_files else self.team_form(team)
        name = safe_filename(filename)
        sha256 = hashlib.sha256(raw).hexdigest()
        raw_path = self._save_raw(raw, sha256, name)
        if (existing := self._upload_row(sha256=sha256)) is not None:
            logger.info("upload %s repeats upload %s; nothing stored", name, existing["upload_id"])
            return self._result_from_row(existing, duplicate=True)
        screen_upload(raw_path, self.limits, display_name=filename)

        upload_id = uuid.uuid4().hex
        plots, report = self.plot_loader(
            raw_path,
            districts=districts,
            season=season,
            strict=strict,
            source_upload=name,
            team=team,
            max_rows=self.limits.max_rows,
            **({"form": form} if form is not None else {}),
        )
        if len(plots) > self.limits.max_rows:
            raise InvalidInputError(
                f"{filename}: {len(plots)} plots, more than the limit of "
                f"{self.limits.max_rows} per upload; split the export and upload the parts"
            )
        upload_row = {
            "upload_id": upload_id,
            "sha256": sha256,
            "filename": name,
            "team": team,
            "received_at": utc_now(),
            "size_bytes": len(raw),
            "accepted": len(plots),
            "rejected": int(report.rejected),
            "status": "accepted" if len(plots) else "rejected",
            "raw_path": raw_path.relative_to(self.workspace).as_posix(),
            "errors": json.dumps(
                [_error_record(e) for e in report.errors],
                default=str,
            ),
            "report": json.dumps(report.to_dict(), default=str),
        }
        plot_rows = self._plot_rows(plots, upload_id=upload_id, team=team, season=season)
        if not self._store_upload(upload_row, plot_rows):
            # the same content, sent at the same moment, was stored first: report that one
            return self._result_from_row(self._upload_row(sha256=sha256), duplicate=True)
        logger.info(
            "upload %s from %s: %d accepted, %d rejected", name, team, len(plots), report.rejected
        )
        return self._result_from_row(upload_row, duplicate=False)

    def _store_upload(self, upload_row: dict[str, Any], plot_rows: list[dict[str, Any]]) -> bool:
        """Write the upload and its plots in one transaction; False if its sha256 is stored."""
        uploads = self.tables["uploads"]
        with self._write() as conn:
            statement = self._insert_ignoring_conflict(conn, "uploads").returning(uploads.c.fid)
            if conn.execute(statement, upload_row).first() is None:
                return False
            self._insert_plots(conn, plot_rows)
            if plot_rows:
                geometries = [row["geom"] for row in plot_rows]
                self._layer_changed(conn, "survey_plots", WGS84, geometries, replace=False)
        return True

    def _save_raw(self, raw: bytes, sha256: str, name: str) -> Path:
        target = self.workspace / "uploads" / sha256[:2] / sha256 / name
        if not target.exists():
            with atomic_path(target) as tmp:
                tmp.write_bytes(raw)
        return target

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

    def _upload_row(self, *, sha256: str | None = None, upload_id: str | None = None):
        uploads = self.tables["uploads"]
        query = select(uploads)
        if sha256 is not None:
            query = query.where(uploads.c.sha256 == sha256)
        else:
            query = query.where(uploads.c.upload_id == upload_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row is not None else None

    @staticmethod
    def _result_from_row(row: dict[str, Any], *, duplicate: bool) -> UploadResult:
        return UploadResult(
            upload_id=row["upload_id"],
            accepted=int(row["accepted"]),
            rejected=int(row["rejected"]),
            errors=json.loads(row["errors"]),
            duplicate=duplicate,
            report=json.loads(row["report"]),
        )

    def get_upload(self, upload_id: str) -> dict[str, Any]:
        """Return one upload: who, when, file name, sha256, counts, errors and report.

        Raises
        ------
        NotFoundError
            If no upload has this id.
        """
        row = self._upload_row(upload_id=upload_id)
        if row is None:
            raise NotFoundError(
                f"no upload with id {upload_id!r}; check the id the upload returned"
            )
        row.pop("fid", None)
        row["errors"] = json.loads(row["errors"])
        row["report"] = json.loads(row["report"])
        return row

    def list_uploads(self, team: str | None = None) -> pd.DataFrame:
        """Return every upload's metadata (no reports), oldest first, optionally for one team."""
        uploads = self.tables["uploads"]
        columns = [c for c in uploads.c if c.name not in ("fid", "errors", "report")]
        query = select(*columns).order_by(uploads.c.fid)
        if team is not None:
            query = query.where(uploads.c.team == team)
        with self.engine.connect() as conn:
            return pd.DataFrame(
                conn.execute(query).mappings().all(), columns=[c.name for c in columns]
            )

    # -- plots ---------------------------------------------------------------------
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


def _error_record(error: Any) -> dict[str, Any]:
    record = {"row": error.row, "field": error.field, "message": error.message}
    if getattr(error, "sheet", ""):  # the repeat sheet or CSV the row is on
        record["sheet"] = error.sheet
    return record


SEASON_FIRST_MONTH = 8
"""Poppy is a dry-season crop sown from about September: a plot surveyed from August on
belongs to the survey of the next calendar year, the year of its harvest."""


def survey_year_of(survey_date: str) -> int:
    """The survey (harvest) year of a field visit on ``survey_date`` (ISO date)."""
    when = pd.Timestamp(survey_date)
    return int(when.year + 1 if when.month >= SEASON_FIRST_MONTH else when.year)
