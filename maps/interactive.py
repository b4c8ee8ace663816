"""The interactive map of a run (folium/Leaflet), usable offline.

Base layers (radio buttons) are the district choropleths, one per crop and
metric; overlays are the class map and NDVI images, survey plots, drone
segments, AD programme areas and an *optional* OpenStreetMap layer. The tile
layer is off when the page opens, so a reviewer without internet gets a
complete, error-free map and one with internet can switch tiles on.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.plugins import Fullscreen
from matplotlib import colormaps
from matplotlib.colors import to_hex

from core.errors import AdmonError
from core.io import atomic_write_text
from core.legend import LEGEND
from maps.assets import localise_assets, remote_references
from maps.elements import (
    Banner,
    DistrictData,
    DistrictLayer,
    DistrictSearch,
    Legends,
    Registry,
)
from maps.layers import CROP_LABELS, METRICS, NO_DATA_COLOUR, ColourScale, Metric, colour_scale
from maps.overlays import add_plot_layer, add_programme_layer, add_segment_layer, swatch_rows
from maps.rasters import DENSITY_CMAP, NDVI_CMAP, NDVI_RANGE

__all__ = ["Overlay", "web_geometry", "build_interactive_map"]

logger = logging.getLogger(__name__)

RASTER_PANE = "admon-rasters"
"""Leaflet pane of the raster overlays: above tiles (200), below the vector canvas (400)."""

COORD_DECIMALS = 5
"""Decimal degrees kept in the page (1e-5 degree is about 1 m)."""


@dataclass(frozen=True)
class Overlay:
    """A raster preview PNG (next to ``map.html``) and its Leaflet bounds."""

    filename: str
    bounds: tuple[tuple[float, float], tuple[float, float]]
    top: float | None = None
    """Value at the top of the colour ramp (density overlays: ha per km²)."""
    cell_km2: float | None = None
    """Area of one cell of a generalised overlay, in km²."""


def web_geometry(districts: gpd.GeoDataFrame, relative_tolerance: float = 0.01) -> gpd.GeoSeries:
    """District outlines for the web: simplified, in EPSG:4326, coordinates rounded.

    Parameters
    ----------
    districts
        District polygons in a projected CRS.
    relative_tolerance
        Simplification tolerance as a fraction of the square root of the
        median district area (about the side of a typical district), so the
        same setting suits 10 km² and 10,000 km² districts.

    Returns
    -------
    GeoSeries
        Same index, EPSG:4326, at most :data:`COORD_DECIMALS` decimals.
    """
    projected = districts.geometry
    if districts.crs is not None and not districts.crs.is_projected:
        projected = projected.to_crs(districts.estimate_utm_crs())
    median_side_m = float(np.sqrt(np.median(projected.area))) if len(projected) else 0.0
    tolerance = relative_tolerance * median_side_m
    geoms = projected.to_numpy()
    try:
        # keeps shared borders shared, so neighbours neither overlap nor gap
        simplified = shapely.coverage_simplify(geoms, tolerance)
        if not bool(np.all(shapely.is_valid(simplified))):
            raise ValueError("invalid coverage")
    except (ValueError, shapely.errors.GEOSException):
        simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
    web = gpd.GeoSeries(simplified, index=districts.index, crs=projected.crs).to_crs("EPSG:4326")
    rounded = shapely.transform(web.to_numpy(), lambda xy: np.round(xy, COORD_DECIMALS))
    return gpd.GeoSeries(shapely.make_valid(rounded), index=districts.index, crs="EPSG:4326")


def _num(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _district_payload(table: gpd.GeoDataFrame, crops: list[str], scales: dict) -> dict[str, Any]:
    geometry = web_geometry(table)
    classes = {key: scale.classify(table[column]) for key, (column, scale) in scales.items()}
    features = []
    for i, (row, geom) in enumerate(zip(table.itertuples(index=False), geometry, strict=True)):
        props: dict[str, Any] = {
            "id": html.escape(str(row.district_id)),  # tooltips are HTML
            "name": html.escape(str(row.district_name)),
            "km2": round(float(row.area_km2), 2),
            "c": {key: int(idx[i]) for key, idx in classes.items()},
        }
        for crop in crops:
            get = lambda name, crop=crop, row=row: _num(getattr(row, f"{crop}_{name}"))  # noqa: E731
            props[crop] = {
                "a": get("area_ha"),
                "lo": get("ci_low_ha"),
                "hi": get("ci_high_ha"),
                "n": get("n_reference"),
                "d": get("ha_per_km2"),
                "ch": get("change_ha"),
                "chlo": get("change_ci_low_ha"),
                "chhi": get("change_ci_high_ha"),
                "by": int(v) if (v := get("baseline_year")) is not None else None,
            }
        features.append(
            {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        )
    return {"type": "FeatureCollection", "features": features}


def _class_legend() -> str:
    rows = [(c.colour, c.label) for c in LEGEND]
    return "<h4>Class map</h4>" + swatch_rows(rows)


def _ndvi_legend() -> str:
    cmap = colormaps[NDVI_CMAP]
    stops = ", ".join(to_hex(cmap(x)) for x in np.linspace(0, 1, 9))
    low, high = NDVI_RANGE
    return (
        "<h4>NDVI season composite</h4>"
        f'<div class="ramp" style="background:linear-gradient(to right, {stops})"></div>'
        f'<div class="ends"><span>{low:g}</span><span>{(low + high) / 2:g}</span>'
        f"<span>{high:g}</span></div>"
    )


def _density_legend(overlay: Overlay) -> str:
    cmap = colormaps[DENSITY_CMAP]
    stops = ", ".join(to_hex(cmap(x)) for x in np.linspace(0, 1, 9))
    top = overlay.top or 0.0
    return (
        f"<h4>Mapped cultivation (ha per km², cells of {overlay.cell_km2 or 0:g} km²)</h4>"
        "<div>from the class map, not the estimate: the district hectares are the estimate</div>"
        f'<div class="ramp" style="background:linear-gradient(to right, {stops})"></div>'
        f'<div class="ends"><span>0</span><span>{top / 2:.2g}</span><span>{top:.2g}</span></div>'
    )


def _add_image(
    fmap: folium.Map, overlay: Overlay, name: str, show: bool
) -> folium.raster_layers.ImageOverlay:
    layer = folium.raster_layers.ImageOverlay(
        image="data:,",
        bounds=[list(overlay.bounds[0]), list(overlay.bounds[1])],
        name=name,
        overlay=True,
        show=show,
        opacity=0.9,
        interactive=False,
        pane=RASTER_PANE,
    )
    layer.url = overlay.filename  # a file next to map.html, not a base64 blob
    layer.add_to(fmap)
    return layer


def _choropleth_legend(crop: str, year: int, metric: Metric, scale: ColourScale) -> str:
    digits = 2 if scale.breaks[-1] < 10 else 0
    rows = list(zip(scale.colours, scale.labels(digits), strict=True))
    rows.append((NO_DATA_COLOUR, metric.missing))
    return f"<h4>{CROP_LABELS[crop]} {year}: {metric.title} ({metric.units})</h4>" + swatch_rows(
        rows
    )


def build_interactive_map(
    run_dir: Path,
    table: gpd.GeoDataFrame,
    *,
    year: int,
    run_id: str,
    synthetic: bool = False,
    class_overlay: Overlay | None = None,
    ndvi_overlay: Overlay | None = None,
    plots: gpd.GeoDataFrame | None = None,
    segments: gpd.GeoDataFrame | None = None,
    programme_areas: gpd.GeoDataFrame | None = None,
    density_overlay: Overlay | None = None,
    survey_name: str = "",
) -> Path:
    """Write ``run_dir/map.html`` and its ``static/`` assets; return the page path.

    Parameters
    ----------
    run_dir
        Run folder; raster overlay PNGs must already be in it.
    table
        :func:`maps.layers.district_table` output.
    year, run_id
        Shown in the title and tooltips.
    synthetic
        Show the SYNTHETIC banner.
    class_overlay, ndvi_overlay
        Raster previews (see :func:`maps.rasters.write_overlay_png`).
    plots, segments
        Survey plots (``crop``, ``status``) and drone segment footprints.
    programme_areas
        One row per AD programme with ``popup_html`` and geometry.
    density_overlay
        Generalised cultivation density (the public map's raster, see
        :func:`maps.rasters.cultivation_density`).
    survey_name
        ``[survey] name`` of the run configuration: the map's title.

    Returns
    -------
    Path
        ``run_dir/map.html``.
    """
    crops = crops_present_table(table)
    if not len(table):
        raise AdmonError(f"{run_dir}: no districts to map")
    west, south, east, north = table.geometry.to_crs("EPSG:4326").total_bounds
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        zoom_snap=0.25,
        # from a whole country down to field level (about 2 m per pixel); no further
        min_zoom=5,
        max_zoom=17,
    )
    title = f"{survey_name or 'Cultivation survey'} {year}"
    subtitle = f"run {run_id}"
    fmap.add_child(Banner(html.escape(title), html.escape(subtitle), synthetic))
    scales = {}
    layer_specs = []
    for crop in crops:
        for metric in METRICS:
            column = f"{crop}_{metric.key}"
            if table[column].notna().any():
                key = f"{crop}:{metric.key}"
                scales[key] = (column, colour_scale(table[column], metric))
                layer_specs.append((key, crop, metric))
    fmap.add_child(DistrictData(_district_payload(table, crops, scales), CROP_LABELS))
    legends: dict[str, str] = {}
    district_layers, base_names = [], []
    for i, (key, crop, metric) in enumerate(layer_specs):
        name = f"{CROP_LABELS[crop]}: {metric.title.lower()} ({metric.units})"
        layer = DistrictLayer(
            name,
            key=key,
            crop=crop,
            year=year,
            colours=list(scales[key][1].colours),
            nodata=NO_DATA_COLOUR,
            show=i == 0,
        )
        fmap.add_child(layer)
        legends[name] = _choropleth_legend(crop, year, metric, scales[key][1])
        district_layers.append((name, layer.get_name()))
        base_names.append(name)
    overlays: list[tuple[str, str]] = []
    rasters: list[str] = []
    initial = base_names[:1]
    fmap.add_child(folium.map.CustomPane(RASTER_PANE, z_index=350, pointer_events=False))
    for overlay, name, legend, show in (
        (class_overlay, "Class map (poppy / cannabis)", _class_legend(), False),
        (ndvi_overlay, "NDVI season composite", _ndvi_legend(), False),
        (
            density_overlay,
            "Cultivation density (generalised)",
            _density_legend(density_overlay) if density_overlay else "",
            False,
        ),
    ):
        if overlay is not None:
            overlays.append((name, _add_image(fmap, overlay, name, show).get_name()))
            legends[name] = legend
            rasters.append(name)
    for frame, adder in ((plots, add_plot_layer), (segments, add_segment_layer)):
        if frame is not None and len(frame):
            group, legend = adder(fmap, frame)
            overlays.append((group.layer_name, group.get_name()))
            legends[group.layer_name] = legend
    if programme_areas is not None and len(programme_areas):
        group = add_programme_layer(fmap, programme_areas)
        overlays.append((group.layer_name, group.get_name()))
        legends[group.layer_name] = (
            '<h4>AD programme areas</h4><div class="row"><span class="sw" '
            'style="border:3px solid #08519c"></span>click inside an area: baseline vs current</div>'
        )
        initial.append(group.layer_name)
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap (online only)", overlay=True, show=False
    ).add_to(fmap)
    Fullscreen(position="topleft").add_to(fmap)
    fmap.add_child(DistrictSearch())
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    fmap.add_child(Legends(legends, base_names, initial))
    field = [name for name, _ in overlays if name not in rasters]
    fmap.add_child(Registry(district_layers, overlays, len(table), rasters, field))
    fmap.fit_bounds([[south, west], [north, east]])
    localise_assets(fmap, run_dir / "static")
    page = fmap.get_root().render()
    remote = remote_references(page)
    if remote:
        raise AdmonError(f"{run_dir / 'map.html'}: page would load from the network: {remote[:3]}")
    return atomic_write_text(run_dir / "map.html", page)


def crops_present_table(table: gpd.GeoDataFrame) -> list[str]:
    """Crops with estimate columns in a :func:`maps.layers.district_table`."""
    return [c for c in CROP_LABELS if f"{c}_area_ha" in table]
