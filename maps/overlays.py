"""Survey plots, drone segments and AD programme areas as layers of the interactive map."""

from __future__ import annotations

import html
import logging
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from core.legend import LEGEND
from maps.elements import ProgrammeClick
from maps.layers import CROP_LABELS

__all__ = [
    "STATUS_DASHES",
    "add_plot_layer",
    "add_segment_layer",
    "add_programme_layer",
    "swatch_rows",
]

STATUS_DASHES = ("", "6 4", "2 4", "10 3 2 3")


logger = logging.getLogger(__name__)


def swatch_rows(rows: list[tuple[str, str]], style: str = "") -> str:
    return "".join(
        f'<div class="row"><span class="sw" style="background:{colour};{style}"></span>'
        f"{html.escape(label)}</div>"
        for colour, label in rows
    )


def _labels(values: pd.Series) -> pd.Series:
    """Text labels; missing values become ``"unknown"`` (pandas 3 keeps NaN through astype(str))."""
    return values.astype(object).where(values.notna(), "unknown").astype(str)


def _wgs84(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Field data in EPSG:4326; a layer without a CRS is taken as the GeoJSON default."""
    if frame.crs is None:
        logger.warning("%s have no CRS; assuming EPSG:4326 (longitude, latitude)", what)
        return frame.set_crs("EPSG:4326")
    return frame.to_crs("EPSG:4326")


def _plot_styles(plots: gpd.GeoDataFrame) -> tuple[dict[str, str], dict[str, str]]:
    crop_colours = {c.name: c.colour for c in LEGEND}
    statuses = sorted(_labels(plots["status"]).unique()) if "status" in plots else []
    dashes = {s: STATUS_DASHES[i % len(STATUS_DASHES)] for i, s in enumerate(statuses)}
    return crop_colours, dashes


def add_plot_layer(fmap: folium.Map, plots: gpd.GeoDataFrame) -> tuple[folium.FeatureGroup, str]:
    crop_colours, dashes = _plot_styles(plots)
    columns = [c for c in ("plot_id", "crop", "status", "survey_date", "team") if c in plots]
    data = _wgs84(plots[columns + ["geometry"]], "plots")
    for column in columns:
        data[column] = _labels(data[column])
    # folium's GeoJsonTooltip puts values into the page as HTML: every value a survey team
    # typed (plot id, team, status) is escaped here, once, before it reaches the page
    shown = data.assign(**{c: data[c].map(html.escape) for c in columns})

    escaped_dashes = {html.escape(k): v for k, v in dashes.items()}  # styled by escaped values

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        props = feature["properties"]
        colour = crop_colours.get(props.get("crop", ""), "#555555")
        return {
            "color": colour,
            "fillColor": colour,
            "fillOpacity": 0.55,
            "weight": 2,
            "dashArray": escaped_dashes.get(props.get("status", ""), ""),
            "radius": 4,
        }

    # off at first: the districts are the answer; plots are there to check it
    group = folium.FeatureGroup(name="Survey plots", overlay=True, show=False)
    folium.GeoJson(
        shown.__geo_interface__,
        style_function=style,
        marker=folium.CircleMarker(radius=4),
        tooltip=folium.GeoJsonTooltip(fields=columns),
    ).add_to(group)
    group.add_to(fmap)
    crops = sorted(set(data.get("crop", pd.Series(dtype=str))))
    legend = "<h4>Survey plots (colour = crop)</h4>" + swatch_rows(
        [(crop_colours.get(c, "#555555"), CROP_LABELS.get(c, c)) for c in crops]
    )
    if dashes:
        legend += (
            "<div>line = status: "
            + ", ".join(
                f"{html.escape(s)} ({'solid' if not d else 'dashed ' + d})"
                for s, d in dashes.items()
            )
            + "</div>"
        )
    return group, legend


def add_segment_layer(
    fmap: folium.Map, segments: gpd.GeoDataFrame
) -> tuple[folium.FeatureGroup, str]:
    columns = [c for c in ("segment_id", "district_id", "stratum") if c in segments]
    data = _wgs84(segments[columns + ["geometry"]], "segments")
    for column in columns:
        data[column] = _labels(data[column]).map(html.escape)  # tooltips are HTML
    group = folium.FeatureGroup(name="Drone segments", overlay=True, show=False)
    style = {"color": "#000000", "weight": 2, "fillOpacity": 0.0, "dashArray": "4 3"}
    folium.GeoJson(
        data.__geo_interface__,
        style_function=lambda _f: style,
        tooltip=folium.GeoJsonTooltip(fields=columns) if columns else None,
    ).add_to(group)
    group.add_to(fmap)
    legend = (
        '<h4>Drone segments</h4><div class="row"><span class="sw" style="border:2px dashed #000">'
        "</span>sample segment footprint</div>"
    )
    return group, legend


def add_programme_layer(fmap: folium.Map, areas: gpd.GeoDataFrame) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="AD programme areas", overlay=True, show=True)
    # outline only: the districts inside keep their tooltips; the outline opens the popup
    style = {"color": "#08519c", "weight": 4}
    web = areas[areas.geometry.notna() & ~areas.geometry.is_empty].to_crs("EPSG:4326")
    # a click inside the area opens the popup too (the polygons are tested in JS)
    polygons = web[web.geom_type.isin(["Polygon", "MultiPolygon"])]
    inside = polygons[["popup_html", "geometry"]].__geo_interface__
    # drawn as lines: Leaflet hit-tests a polygon's interior even unfilled
    web = web.assign(name=_labels(web["name"]).map(html.escape), geometry=web.geometry.boundary)
    folium.GeoJson(
        web[["programme_id", "name", "popup_html", "geometry"]].__geo_interface__,
        style_function=lambda _f: style,
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        # GeoJsonPopup sets innerHTML itself; folium.Popup would need jQuery
        popup=folium.GeoJsonPopup(fields=["popup_html"], labels=False, max_width=480),
    ).add_to(group)
    group.add_to(fmap)
    fmap.add_child(ProgrammeClick(inside, group.get_name()))
    return group
