"""Fixtures of the store tests: PostGIS (see ``tests/postgis.py``) and a plot reader stand-in."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyogrio
import pytest

# -- a stand-in for models.survey.load_plots ----------------------------------------
# The store tests exercise the store, not the survey reader: this reads GeoJSON
# with pyogrio and refuses rows whose land_cover is not in the legend, giving the
# same (GeoDataFrame, report) shape the contract fixes for load_plots.


@dataclasses.dataclass(frozen=True)
class StandInRowError:
    row: int
    field: str
    message: str


@dataclasses.dataclass
class StandInReport:
    accepted: int
    rejected: int
    errors: list[StandInRowError]

    def to_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": [dataclasses.asdict(e) for e in self.errors],
        }


def standin_load_plots(path, *, strict=False, source_upload=None, team=None, **_):
    from core.errors import InvalidInputError
    from core.legend import LEGEND

    try:
        plots = pyogrio.read_dataframe(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable file
        raise InvalidInputError(f"{Path(path).name}: cannot read ({exc})") from exc
    names = {c.name for c in LEGEND}
    bad = ~plots["land_cover"].isin(names)
    errors = [
        StandInRowError(int(i) + 1, "land_cover", f"{value!r} is not a legend class")
        for i, value in plots.loc[bad, "land_cover"].items()
    ]
    good = plots.loc[[] if (strict and errors) else ~bad].reset_index(drop=True)
    report = StandInReport(len(good), len(plots) - len(good), errors)
    return good, report


def plot_features(n: int, *, prefix: str = "P", bad_rows: tuple[int, ...] = (), lon0=98.0):
    """A FeatureCollection in the demo's survey_plots.geojson layout (polygons, EPSG:4326)."""
    features = []
    for i in range(n):
        x, y = lon0 + 0.01 * i, 20.0 + 0.005 * i
        ring = [[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y]]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "plot_id": f"{prefix}{i:03d}",
                    "crop": "opium_poppy",
                    "status": "surveyed",
                    "survey_date": f"2025-01-{1 + i % 28:02d}",
                    "team": "field-team-a",
                    "gps_accuracy_m": 4.5,
                    "measured_area_ha": 0.11 + i / 100,
                    "district_id": "D01",
                    "land_cover": "volcano" if i + 1 in bad_rows else "opium_poppy",
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@pytest.fixture
def plot_loader():
    """The stand-in for ``models.survey.load_plots``."""
    return standin_load_plots


@pytest.fixture
def make_plots():
    """``make_plots(n, prefix=, bad_rows=)`` -> GeoJSON bytes in the survey_plots layout."""
    return plot_features
