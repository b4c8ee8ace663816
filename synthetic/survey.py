"""The synthetic field survey: plots walked with GPS, points, and their Kobo export.

Each year survey teams walk the boundary of a sample of poppy, cannabis and
other-crop fields (GPS vertex noise of a few metres), record status
(``cultivated`` or ``eradicated``), date, team and, on part of the poppy
fields, a yield measurement; they also record labelled points of forest,
fallow/bare land, water and paddy. The same submissions are written as a
KoboToolbox CSV export (``;`` delimiter, group paths joined by ``/``, geoshape
text ``"lat lon alt acc;..."``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer
from scipy import ndimage

from synthetic.fields import make_field_polygon
from synthetic.truth import SURFACE, TruthRegion, rng_for

__all__ = [
    "SURVEY_FILE_COLUMNS",
    "draw_survey",
    "kobo_export_text",
    "kobo_metadata",
    "write_kobo_csv",
]

logger = logging.getLogger(__name__)

SURVEY_FILE_COLUMNS = (
    "plot_id",
    "crop",
    "status",
    "survey_date",
    "team",
    "gps_accuracy_m",
    "measured_area_ha",
    "district_id",
    "land_cover",
    "yield_kg_ha",
)
"""Columns of the survey file a team uploads (then geometry). admon's reader adds
``source_upload`` on the way in, giving ``models.schema.PLOT_COLUMNS``; a test checks
the two agree."""
_GEOD = Geod(ellps="WGS84")
_POINT_CLASSES = ("forest", "fallow_bare", "water", "other_crops")
_POINT_SURFACE = {
    "forest": SURFACE["forest"],
    "fallow_bare": SURFACE["fallow_bare"],
    "water": SURFACE["water"],
    "other_crops": SURFACE["paddy"],
}


def _season_date(year: int, day: float) -> dt.date:
    return dt.date(year - 1, 10, 1) + dt.timedelta(days=int(day))


def _sample_counts(truth: TruthRegion) -> tuple[int, int]:
    height, width = truth.shape
    ratio = np.sqrt(width * height / (1200 * 900))
    return int(np.clip(round(45 * ratio), 8, 200)), int(np.clip(round(60 * ratio), 6, 300))


def _walked(rng: np.random.Generator, polygon: shapely.Polygon, accuracy_m: float):
    """The boundary as a GPS records it: shared offset plus per-vertex noise.

    A walked boundary that crosses itself is walked again (a team would redo it).
    """
    ring = np.asarray(polygon.exterior.coords)[:-1]
    for _ in range(20):
        shift = rng.normal(0, accuracy_m / 3, 2)
        walked = shapely.Polygon(ring + shift + rng.normal(0, accuracy_m / 2, ring.shape))
        if walked.is_valid:
            return walked
    return shapely.Polygon(ring + shift)


def _paddy_plots(rng: np.random.Generator, truth: TruthRegion, year: int, n: int) -> list:
    paddy = truth.surface[year] == SURFACE["paddy"]
    inner = np.flatnonzero(ndimage.minimum_filter(paddy, size=11, mode="constant"))
    if inner.size == 0 or n == 0:
        return []
    t, width = truth.transform, truth.shape[1]
    picks = rng.choice(inner, size=min(n, inner.size), replace=False)
    out = []
    for pick in picks:
        x = t.c + (pick % width + 0.5) * t.a
        y = t.f + (pick // width + 0.5) * t.e
        district = truth.districts.district_id.iloc[int(truth.district_raster.flat[pick])]
        out.append((make_field_polygon(rng, x, y, rng.uniform(2000, 4500)), district))
    return out


def draw_survey(truth: TruthRegion, year: int) -> gpd.GeoDataFrame:
    """Draw the field survey of ``year``: plot polygons and labelled points, EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`SURVEY_FILE_COLUMNS` and geometry (polygons for fields, points otherwise).
    """
    rng = rng_for(truth.seed, 30, year)
    n_fields, n_points = _sample_counts(truth)
    fields = truth.fields[year]
    rows: list[dict] = []
    geoms: list = []
    team_of = {d: f"team_{chr(65 + k % 4)}" for k, d in enumerate(truth.districts.district_id)}

    def add(polygon, district_id: str, land_cover: str, crop: str, status, day, yield_kg_ha):
        accuracy = round(float(rng.uniform(3, 8)), 1)
        geoms.append(_walked(rng, polygon, accuracy) if polygon.geom_type == "Polygon" else polygon)
        rows.append(
            {
                "district_id": district_id,
                "land_cover": land_cover,
                "crop": crop,
                "status": status,
                "survey_date": _season_date(year, day).isoformat(),
                "team": team_of[district_id],
                "gps_accuracy_m": accuracy,
                "yield_kg_ha": yield_kg_ha,
            }
        )

    for crop, surface in (("opium_poppy", "opium_poppy"), ("cannabis", "cannabis")):
        pool = fields[fields.surface == surface]
        chosen = pool.iloc[np.sort(rng.permutation(len(pool))[:n_fields])]
        for field in chosen.itertuples():
            if field.eradicated:
                status, day = "eradicated", field.eradication_day + rng.uniform(1, 15)
            else:
                status, day = "cultivated", rng.uniform(80, 133)
            measured = None
            if crop == "opium_poppy" and not field.eradicated and rng.random() < 0.5:
                measured = round(float(field.yield_kg_ha * rng.lognormal(0, 0.1)), 1)
            add(field.geometry, field.district_id, crop, crop, status, day, measured)

    dry = fields[fields.surface == "dry_crop"]
    n_dry = min(len(dry), int(round(n_fields * 2 / 3)))
    for field in dry.iloc[np.sort(rng.permutation(len(dry))[:n_dry])].itertuples():
        add(field.geometry, field.district_id, "other_crops", "other", "cultivated",
            rng.uniform(80, 133), None)  # fmt: skip
    for polygon, district_id in _paddy_plots(rng, truth, year, n_fields - n_dry):
        add(polygon, district_id, "other_crops", "other", "cultivated", rng.uniform(60, 150), None)

    surface = truth.surface[year]
    t, width = truth.transform, truth.shape[1]
    for land_cover in _POINT_CLASSES:
        inner = ndimage.minimum_filter(surface == _POINT_SURFACE[land_cover], size=3)
        candidates = np.flatnonzero(inner)
        for pick in rng.choice(candidates, size=min(n_points, candidates.size), replace=False):
            x = t.c + (pick % width + rng.uniform(0.3, 0.7)) * t.a
            y = t.f + (pick // width + rng.uniform(0.3, 0.7)) * t.e
            district_id = truth.districts.district_id.iloc[int(truth.district_raster.flat[pick])]
            add(shapely.Point(x, y), district_id, land_cover, "other", None,
                rng.uniform(60, 150), None)  # fmt: skip

    survey = gpd.GeoDataFrame(rows, geometry=geoms, crs=truth.crs).to_crs("EPSG:4326")
    # what a GPS export keeps: 1e-7 degree (about 1 cm)
    survey["geometry"] = shapely.transform(survey.geometry.values, lambda xy: np.round(xy, 7))
    survey.insert(0, "plot_id", [f"S{year}-{k + 1:04d}" for k in range(len(survey))])
    survey["measured_area_ha"] = [
        round(abs(_GEOD.geometry_area_perimeter(g)[0]) / 10_000, 4)
        if g.geom_type == "Polygon"
        else None
        for g in survey.geometry
    ]
    return survey[[*SURVEY_FILE_COLUMNS, "geometry"]]


def kobo_metadata(
    rng: np.random.Generator, dates: list[dt.date], submitters: list[str], version: str
) -> pd.DataFrame:
    """KoboToolbox metadata columns for submissions made on ``dates``."""
    n = len(dates)
    starts = [
        dt.datetime.combine(d, dt.time(7)) + dt.timedelta(minutes=int(m))
        for d, m in zip(dates, rng.integers(0, 9 * 60, n), strict=True)
    ]
    local = dt.timezone(dt.timedelta(hours=6, minutes=30))
    ends = [
        s + dt.timedelta(minutes=int(m))
        for s, m in zip(starts, rng.integers(6, 40, n), strict=True)
    ]
    sync = [
        e + dt.timedelta(days=int(k), hours=3)
        for e, k in zip(ends, rng.integers(0, 6, n), strict=True)
    ]
    return pd.DataFrame(
        {
            "start": [s.replace(tzinfo=local).isoformat(timespec="milliseconds") for s in starts],
            "end": [e.replace(tzinfo=local).isoformat(timespec="milliseconds") for e in ends],
            "today": [d.isoformat() for d in dates],
            "_id": 310_000_000 + np.sort(rng.choice(9_000_000, n, replace=False)),
            "_uuid": [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)],
            "_submission_time": [(s - dt.timedelta(hours=6, minutes=30)).isoformat() for s in sync],
            "_validation_status": np.where(rng.random(n) < 0.8, "validation_status_approved", ""),
            "_notes": "",
            "_status": "submitted_via_web",
            "_submitted_by": submitters,
            "__version__": version,
            "_tags": "",
            "_index": np.arange(1, n + 1),
        }
    )


def write_kobo_csv(table: pd.DataFrame) -> str:
    """Render a Kobo export table as ``;``-delimited CSV text, every value quoted."""
    buffer = io.StringIO()
    table.to_csv(buffer, sep=";", index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return buffer.getvalue()


def _geoshape(polygon, elevation_at, accuracy: float) -> str:
    coords = np.asarray(polygon.exterior.coords)[:-1]
    vertices = [
        f"{lat:.7f} {lon:.7f} {elevation_at(lon, lat):.1f} {accuracy:.1f}" for lon, lat in coords
    ]
    return ";".join([*vertices, vertices[0]])  # closed ring: last vertex repeats the first


def kobo_export_text(survey: gpd.GeoDataFrame, truth: TruthRegion, year: int) -> str:
    """Return the survey as a KoboToolbox CSV export (choice names, ``/`` group paths)."""
    rng = rng_for(truth.seed, 31, year)
    to_utm = Transformer.from_crs("EPSG:4326", truth.crs, always_xy=True)
    height, width = truth.shape
    t = truth.transform

    def elevation_at(lon: float, lat: float) -> float:
        x, y = to_utm.transform(lon, lat)
        col = int(np.clip((x - t.c) / t.a, 0, width - 1))
        row = int(np.clip((y - t.f) / t.e, 0, height - 1))
        return float(truth.elevation[row, col]) + float(rng.normal(0, 6))

    rows = []
    for plot in survey.itertuples():
        geom = plot.geometry
        first = geom if geom.geom_type == "Point" else shapely.Point(geom.exterior.coords[0])
        altitude = elevation_at(first.x, first.y)
        rows.append(
            {
                "plot/plot_id": plot.plot_id,
                "plot/district_id": plot.district_id,
                "plot/team": plot.team,
                "plot/survey_date": plot.survey_date,
                "plot/land_cover": plot.land_cover,
                "plot/crop": plot.crop,
                "plot/status": plot.status or "",
                "plot/location": (
                    f"{first.y:.7f} {first.x:.7f} {altitude:.1f} {plot.gps_accuracy_m:.1f}"
                ),
                "_plot/location_latitude": f"{first.y:.7f}",
                "_plot/location_longitude": f"{first.x:.7f}",
                "_plot/location_altitude": f"{altitude:.1f}",
                "_plot/location_precision": f"{plot.gps_accuracy_m:.1f}",
                "plot/boundary": ""
                if geom.geom_type == "Point"
                else _geoshape(geom, elevation_at, plot.gps_accuracy_m),
                "plot/gps_accuracy_m": f"{plot.gps_accuracy_m:.1f}",
                "plot/measured_area_ha": ""
                if pd.isna(plot.measured_area_ha)
                else f"{plot.measured_area_ha:.4f}",
                "plot/yield_kg_ha": "" if pd.isna(plot.yield_kg_ha) else f"{plot.yield_kg_ha:.1f}",
            }
        )
    table = pd.DataFrame(rows)
    dates = [dt.date.fromisoformat(d) for d in survey.survey_date]
    meta = kobo_metadata(
        rng, dates, [f"{team}_enumerator" for team in survey.team], f"vSyn{year}Plots"
    )
    table = pd.concat(
        [meta[["start", "end", "today"]], table, meta.drop(columns=["start", "end", "today"])],
        axis=1,
    )
    return write_kobo_csv(table)
