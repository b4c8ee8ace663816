"""Tables of the store, shared by the GeoPackage and PostGIS backends.

Typed columns hold what a reader of the file (QGIS, psql) wants to filter and
see; a JSON ``record``/``attributes`` column keeps every column of the row as
it was given, so tables whose columns grow (estimates, programmes) round-trip
without schema migrations.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, Double, Index, Integer, MetaData, Table, Text, UniqueConstraint
from sqlalchemy.types import TypeEngine

from models import schema

__all__ = ["PLOT_COLUMNS", "ESTIMATE_COLUMNS", "build_metadata", "WGS84"]

WGS84 = 4326

_NUMERIC_PLOT_COLUMNS = ("gps_accuracy_m", "measured_area_ha", "yield_kg_ha")

#: Typed columns of ``survey_plots``: ``models.schema.PLOT_COLUMNS`` in order, without the
#: geometry (besides fid, upload_id, uploaded_by, year, attributes and geom). Numbers are
#: DOUBLE: a GeoPackage FLOAT column is read back by GDAL as 32-bit.
PLOT_COLUMNS: dict[str, type[TypeEngine]] = {
    name: Double if name in _NUMERIC_PLOT_COLUMNS else Text
    for name in schema.PLOT_COLUMNS
    if name != "geometry"
}

#: Typed columns of ``estimates`` (the published district_estimates.csv columns).
ESTIMATE_COLUMNS: dict[str, type[TypeEngine]] = {
    "district_id": Text,
    "district_name": Text,
    "year": Integer,
    "crop": Text,
    "area_ha": Double,
    "ci_low_ha": Double,
    "ci_high_ha": Double,
    "method": Text,
    "n_reference": Integer,
    "se_ha": Double,
    "map_area_ha": Double,
    "shared_se_ha": Text,
}


def build_metadata(geometry: Callable[[int | None], TypeEngine]) -> MetaData:
    """Return the store's tables, with geometry columns made by ``geometry(srid)``.

    ``srid`` is 4326 for survey plots and ``None`` (any SRID, kept per table) for
    districts and programmes, whose CRS is the one they were given in.
    """
    metadata = MetaData()
    Table(
        "uploads",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("upload_id", Text, nullable=False, unique=True),
        Column("sha256", Text, nullable=False),
        Column("filename", Text, nullable=False),
        Column("team", Text, nullable=False),
        Column("received_at", Text, nullable=False),
        Column("size_bytes", Integer, nullable=False),
        Column("accepted", Integer, nullable=False),
        Column("rejected", Integer, nullable=False),
        Column("status", Text, nullable=False),
        Column("raw_path", Text, nullable=False),
        Column("errors", Text, nullable=False),
        Column("report", Text, nullable=False),
        Column("duplicate_of", Text),
        # the same content is stored once per team: a second team's copy is its own record
        UniqueConstraint("sha256", "team", name="uq_uploads_sha256_team"),
    )
    Table(
        "refused_uploads",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("sha256", Text, nullable=False),
        Column("filename", Text, nullable=False),
        Column("team", Text, nullable=False),
        Column("received_at", Text, nullable=False),
        Column("size_bytes", Integer, nullable=False),
        Column("reason", Text, nullable=False),
        Column("kept_path", Text),
    )
    Table(
        "survey_plots",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("upload_id", Text, nullable=False, index=True),
        Column("uploaded_by", Text, nullable=False),
        Column("year", Integer),
        *(Column(name, kind) for name, kind in PLOT_COLUMNS.items()),
        Column("attributes", Text),
        Column("geom", geometry(WGS84)),
    )
    Table(
        "districts",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("district_id", Text, nullable=False, unique=True),
        Column("district_name", Text),
        Column("attributes", Text),
        Column("geom", geometry(None)),
    )
    Table(
        "programmes",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("programme_id", Text),
        Column("attributes", Text),
        Column("geom", geometry(None)),
    )
    estimates = Table(
        "estimates",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Text, nullable=False),
        Column("stored_at", Text, nullable=False),
        *(Column(name, kind) for name, kind in ESTIMATE_COLUMNS.items()),
        Column("record", Text, nullable=False),
    )
    Index("ix_estimates_run_year", estimates.c.run_id, estimates.c.year)
    change = Table(
        "programme_change",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Text, nullable=False),
        Column("stored_at", Text, nullable=False),
        Column("programme_id", Text),
        Column("year", Integer),
        Column("record", Text, nullable=False),
    )
    Index("ix_programme_change_run", change.c.run_id)
    Table(
        "column_kinds",
        metadata,
        Column("table_name", Text, primary_key=True),
        Column("column_name", Text, primary_key=True),
        Column("position", Integer, nullable=False),
        Column("kind", Text, nullable=False),
    )
    Table(
        "reference_labels",
        metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Text, nullable=False),
        Column("sample_id", Integer, nullable=False),
        Column("interpreter", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("reference_class", Text, nullable=False),
        Column("unsure", Integer, nullable=False),
        Column("source", Text, nullable=False),
        Column("labelled_at", Text, nullable=False),
        UniqueConstraint("run_id", "sample_id", "interpreter", "kind"),
    )
    Table(
        "team_forms",
        metadata,
        Column("team", Text, primary_key=True),
        Column("files", Text, nullable=False),
        Column("sha256", Text, nullable=False),
        Column("stored_at", Text, nullable=False),
    )
    Table(
        "tokens",
        metadata,
        Column("token_sha256", Text, primary_key=True),
        Column("team", Text, nullable=False),
        Column("role", Text, nullable=False),
        Column("created_at", Text, nullable=False),
        Column("expires_at", Text),
        Column("last_used_at", Text),
        Column("revoked_at", Text),
    )
    return metadata
