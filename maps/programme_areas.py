"""AD programme areas on the map: one polygon per programme with a baseline-vs-now popup."""

from __future__ import annotations

import html
import logging
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from maps.layers import CROP_LABELS
from models.change.inputs import district_ids_of

__all__ = ["programme_areas", "BASELINE_FACTS"]

logger = logging.getLogger(__name__)


def _fmt(value: Any) -> str:
    try:
        return f"{float(value):,.1f}" if pd.notna(value) else "–"
    except (TypeError, ValueError):
        return html.escape(str(value))


def _popup(programme: dict[str, Any], change: pd.DataFrame) -> str:
    name = html.escape(str(programme.get("name", programme["programme_id"])))
    lines = [f"<div><b>{name}</b> ({html.escape(str(programme['programme_id']))})</div>"]
    if len(change):
        lines.append(
            '<table style="border-collapse:collapse;font-size:12px">'
            "<tr><th>district</th><th>crop</th><th>baseline</th><th>current (95%)</th>"
            "<th>change (95%)</th><th>verdict</th></tr>"
        )
        for r in change.to_dict("records"):
            lines.append(
                f"<tr><td>{html.escape(str(r.get('district_id')))}</td>"
                f"<td>{html.escape(str(CROP_LABELS.get(r.get('crop'), r.get('crop'))))}</td>"
                f"<td>{_fmt(r.get('baseline_ha'))} ha ({html.escape(str(r.get('baseline_year')))}"
                f"{', ' + html.escape(str(r['baseline_source'])) if r.get('baseline_source') else ''})</td>"
                f"<td>{_fmt(r.get('area_ha'))} ha ({_fmt(r.get('ci_low_ha'))} to "
                f"{_fmt(r.get('ci_high_ha'))}), {html.escape(str(r.get('year')))}</td>"
                f"<td>{_fmt(r.get('change_ha'))} ({_fmt(r.get('change_ci_low_ha'))} to "
                f"{_fmt(r.get('change_ci_high_ha'))})</td>"
                f"<td>{html.escape(str(r.get('verdict', '')))}</td></tr>"
            )
        lines.append("</table>")
    else:
        for crop in CROP_LABELS:
            if pd.notna(programme.get(f"baseline_{crop}_ha")):
                lines.append(
                    f"<div>baseline {html.escape(str(programme.get('baseline_year')))}: "
                    f"{CROP_LABELS[crop]} "
                    f"{_fmt(programme[f'baseline_{crop}_ha'])} ha (no current comparison)</div>"
                )
    facts = [
        f"{label} {html.escape(_fact(programme[key]))}"
        for key, label in BASELINE_FACTS
        if key in programme and not _missing(programme[key])
    ]
    if facts:
        lines.append(f'<div style="color:#444">baseline: {"; ".join(facts)}</div>')
    return "".join(lines)


BASELINE_FACTS = (
    ("households", "households"),
    ("population", "population"),
    ("income_per_capita_usd", "income per person (USD)"),
    ("alternative_crops", "alternative crops"),
    ("land_tenure_status", "land tenure"),
)
"""Programme baseline facts (``models/programme.py`` columns) shown in the popup."""


def _fact(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return str(value)


def _missing(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return not value
    return value is None or (not isinstance(value, str) and bool(pd.isna(value))) or value == ""


def programme_areas(
    programmes: pd.DataFrame, districts: gpd.GeoDataFrame, programme_change: pd.DataFrame | None
) -> gpd.GeoDataFrame:
    """One polygon per AD programme (its own area, else the union of its districts) with a popup.

    Returns
    -------
    GeoDataFrame
        ``programme_id, name, popup_html, geometry`` in the district CRS;
        programmes with neither an area nor known districts are left out.
    """
    by_id = districts.set_index("district_id").geometry
    rows = []
    has_geometry = (
        isinstance(programmes, gpd.GeoDataFrame) and programmes.geometry.name in programmes
    )
    source = programmes.to_crs(districts.crs) if has_geometry and programmes.crs else programmes
    for programme in source.to_dict("records"):
        geometry = programme.get("geometry") if has_geometry else None
        if geometry is None or shapely.is_empty(geometry):
            ids = [i for i in district_ids_of(programme.get("district_ids")) if i in by_id.index]
            geometry = shapely.union_all(by_id.loc[ids].to_numpy()) if ids else None
        if geometry is None:
            logger.warning(
                "programme %s has no area and no known district; not mapped",
                programme["programme_id"],
            )
            continue
        change = pd.DataFrame()
        if programme_change is not None and len(programme_change):
            change = programme_change[programme_change["programme_id"] == programme["programme_id"]]
        rows.append(
            {
                "programme_id": programme["programme_id"],
                "name": programme.get("name", ""),
                "popup_html": _popup(programme, change),
                "geometry": geometry,
            }
        )
    return gpd.GeoDataFrame(
        rows,
        columns=["programme_id", "name", "popup_html", "geometry"],
        geometry="geometry",
        crs=districts.crs,
    )
