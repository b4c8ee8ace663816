"""The table schema of survey plots, as :func:`models.survey.load_plots` returns them.

One row per field plot (polygon) or point observation, geometry in EPSG:4326.
The schema is a pandera ``DataFrameSchema`` so that any producer (the loader,
the store, a test) can check a table against the same definition::

    from models.schema import PLOT_SCHEMA
    PLOT_SCHEMA.validate(plots)

Extra columns (metadata kept from the file) are allowed after the fixed ones.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.engines.geopandas_engine import Geometry

from core.legend import LEGEND

__all__ = ["PLOT_COLUMNS", "CROPS", "STATUSES", "PLOT_SCHEMA", "PLOT_CRS"]

PLOT_CRS = "EPSG:4326"
"""Coordinate reference system of every plot geometry."""

CROPS: tuple[str, ...] = ("opium_poppy", "cannabis", "other")
"""Allowed values of ``crop``."""

STATUSES: tuple[str, ...] = ("cultivated", "eradicated", "abandoned", "unknown")
"""Allowed values of ``status``."""

PLOT_COLUMNS: tuple[str, ...] = (
    "plot_id",
    "crop",
    "status",
    "survey_date",
    "team",
    "gps_accuracy_m",
    "measured_area_ha",
    "district_id",
    "source_upload",
    "land_cover",
    "yield_kg_ha",
    "geometry",
)
"""The fixed columns, in order; extra columns from the file follow them."""

_LAND_COVER_NAMES = [c.name for c in LEGEND]

PLOT_SCHEMA = pa.DataFrameSchema(
    {
        "plot_id": pa.Column(str, nullable=False, unique=True, description="unique within a file"),
        "crop": pa.Column(str, pa.Check.isin(CROPS), description="opium_poppy, cannabis or other"),
        "status": pa.Column(str, pa.Check.isin(STATUSES)),
        "survey_date": pa.Column(
            "datetime64[ns]", nullable=True, description="local date, no time"
        ),
        "team": pa.Column(str, nullable=True),
        "gps_accuracy_m": pa.Column(float, pa.Check.ge(0), nullable=True),
        "measured_area_ha": pa.Column(float, pa.Check.gt(0), nullable=True),
        "district_id": pa.Column(str, nullable=True),
        "source_upload": pa.Column(str, nullable=False),
        "land_cover": pa.Column(str, pa.Check.isin(_LAND_COVER_NAMES)),
        "yield_kg_ha": pa.Column(float, pa.Check.ge(0), nullable=True),
        "geometry": pa.Column(Geometry(crs=PLOT_CRS), nullable=False),
    },
    strict=False,
    ordered=True,
    coerce=False,
    name="survey_plots",
    description="Field survey plots (reference sample and training data), EPSG:4326",
)
"""pandera schema of the plot table; ``ordered=True`` checks the fixed column order."""
