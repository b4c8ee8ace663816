# ruff: noqa: E501  (the JavaScript/CSS templates read better unwrapped)
"""Custom folium elements of admon's interactive map.

District choropleths share one GeoJSON payload (``admon_districts``) and
colour features from precomputed class indices, so 1,000+ districts are
embedded once, not once per layer, and drawn on a canvas. Legends are plain
HTML shown or hidden with their layer; no d3/jQuery needed.
"""

from __future__ import annotations

import json
from typing import Any

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

__all__ = [
    "DistrictData",
    "DistrictLayer",
    "DistrictSearch",
    "ProgrammeClick",
    "Legends",
    "Banner",
    "Registry",
]


class DistrictData(MacroElement):
    """Defines the JS variable ``admon_districts`` and the tooltip formatter."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var admon_districts = {{ this.payload }};
        var admonFillOpacity = 0.78;  // lowered while a raster overlay is shown under the districts
        var admon_crop_labels = {{ this.crop_labels }};
        function admonFmt(v, signed) {
            if (v === null || v === undefined || !isFinite(v)) { return "–"; }
            var s = Number(v).toLocaleString("en", {maximumFractionDigits: Math.abs(v) < 10 ? 1 : 0});
            return (signed && v > 0 ? "+" : "") + s;
        }
        function admonTooltip(p, crop, year) {
            var e = p[crop] || {};
            var html = "<b>" + p.name + "</b> (" + p.id + ")<br>";
            html += admon_crop_labels[crop] + " " + year + ": <b>" + admonFmt(e.a) + " ha</b>";
            html += "<br>95% interval: " + admonFmt(e.lo) + " – " + admonFmt(e.hi) + " ha";
            html += "<br>sample size: n = " + admonFmt(e.n) + " reference units";
            html += "<br>density: " + admonFmt(e.d) + " ha per km² (" + admonFmt(p.km2) + " km²)";
            if (e.ch !== undefined && e.ch !== null) {
                html += "<br>change since " + (e.by || "baseline") + ": <b>" + admonFmt(e.ch, true)
                    + " ha</b> (95%: " + admonFmt(e.chlo, true) + " to " + admonFmt(e.chhi, true) + ")";
            }
            return html;
        }
        {% endmacro %}
        """
    )

    def __init__(self, feature_collection: dict[str, Any], crop_labels: dict[str, str]):
        super().__init__()
        self._name = "AdmonDistrictData"
        self.payload = json.dumps(feature_collection, separators=(",", ":"), allow_nan=False)
        self.crop_labels = json.dumps(crop_labels)


class DistrictLayer(Layer):
    """One choropleth (crop × metric) over the shared district payload."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON(admon_districts, {
            style: function (f) {
                var c = f.properties.c[{{ this.key|tojson }}];
                var colours = {{ this.colours|tojson }};
                return {fillColor: (c === null || c < 0) ? {{ this.nodata|tojson }} : colours[c],
                        color: "#4d4d4d", weight: 0.7, opacity: 0.9, fillOpacity: admonFillOpacity};
            },
            onEachFeature: function (f, layer) {
                layer.bindTooltip(function () {
                    return admonTooltip(f.properties, {{ this.crop|tojson }}, {{ this.year|tojson }});
                }, {sticky: true});
                layer.on("mouseover", function () { layer.setStyle({weight: 2.5, color: "#000"}); });
                layer.on("mouseout", function () { layer.setStyle({weight: 0.7, color: "#4d4d4d"}); });
            }
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        name: str,
        *,
        key: str,
        crop: str,
        year: int,
        colours: list[str],
        nodata: str,
        show: bool,
    ):
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "DistrictLayer"
        self.key = key
        self.crop = crop
        self.year = year
        self.colours = colours
        self.nodata = nodata


class Legends(MacroElement):
    """A bottom-left control holding one legend per layer, shown while its layer is on."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .admon-legend { background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
                          font: 12px/1.35 sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.35); max-width: 260px;
                          max-height: 55vh; overflow-y: auto; }
          .admon-legend h4 { margin: 2px 0 4px; font-size: 12.5px; }
          .admon-legend .row { display: flex; align-items: center; gap: 6px; }
          .admon-legend .sw { width: 16px; height: 12px; border: 1px solid #777; flex: none; }
          .admon-legend .ramp { height: 10px; width: 200px; border: 1px solid #777; }
          .admon-legend .ends { display: flex; justify-content: space-between; width: 202px; }
          .admon-legend section + section { border-top: 1px solid #ccc; margin-top: 5px; padding-top: 4px; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var legendHtml = {}, order = [];
            {{ this.legends|tojson }}.forEach(function (pair) { order.push(pair[0]); legendHtml[pair[0]] = pair[1]; });
            var control = L.control({position: "bottomleft"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "admon-legend");
                div.id = "admon-legend";
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            control.addTo(map);
            var shown = {};
            function redraw() {
                var names = order.filter(function (n) { return shown[n]; });
                var div = document.getElementById("admon-legend");
                div.innerHTML = names.map(function (n) { return "<section>" + legendHtml[n] + "</section>"; }).join("");
                div.style.display = names.length ? "" : "none";
            }
            map.on("baselayerchange", function (e) {
                {{ this.base_names|tojson }}.forEach(function (n) { shown[n] = false; });
                shown[e.name] = true; redraw();
            });
            map.on("overlayadd", function (e) { shown[e.name] = true; redraw(); });
            map.on("overlayremove", function (e) { shown[e.name] = false; redraw(); });
            {{ this.initial|tojson }}.forEach(function (n) { shown[n] = true; });
            redraw();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, legends: dict[str, str], base_names: list[str], initial: list[str]):
        super().__init__()
        self._name = "AdmonLegends"
        self.legends = list(legends.items())  # keep order: tojson would sort a dict
        self.base_names = base_names
        self.initial = initial


class Banner(MacroElement):
    """A title box and, for demo data, a SYNTHETIC banner across the top of the map."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          #admon-title { position: absolute; top: 10px; left: 56px; z-index: 1000; background: rgba(255,255,255,0.92);
                         padding: 5px 10px; border-radius: 4px; font: 600 14px/1.3 sans-serif;
                         box-shadow: 0 1px 4px rgba(0,0,0,0.35); }
          #admon-title small { font-weight: 400; color: #444; }
          .leaflet-control-layers { font: 12.5px/1.3 sans-serif; }
          .leaflet-control-layers label { margin: 1px 0; }
          #admon-synthetic { position: absolute; top: 0; left: 50%; transform: translateX(-50%); z-index: 1001;
                             background: #b30000; color: #fff; font: 700 14px/1.2 sans-serif; padding: 6px 16px;
                             border-radius: 0 0 6px 6px; letter-spacing: 0.06em; pointer-events: none; }
          /* a phone: controls fold into small scrolling boxes, the banner clears the title */
          @media (max-width: 500px) {
            #admon-title { top: 30px; font-size: 12px; max-width: 45vw; }
            #admon-synthetic { font-size: 11px; padding: 3px 8px; }
            .leaflet-control-layers-expanded { max-height: 30vh; max-width: 48vw; overflow-y: auto; font-size: 11px; }
            .admon-legend { max-height: 24vh; max-width: 48vw; overflow-y: auto; font-size: 11px; }
          }
          @media print {
            .leaflet-control-layers, .leaflet-control-zoom, .leaflet-control-fullscreen { display: none; }
          }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div id="admon-title">{{ this.title }}<br><small>{{ this.subtitle }}</small></div>
        {% if this.synthetic %}<div id="admon-synthetic">SYNTHETIC DEMO DATA – not real survey results</div>{% endif %}
        {% endmacro %}
        """
    )

    def __init__(self, title: str, subtitle: str, synthetic: bool):
        super().__init__()
        self._name = "AdmonBanner"
        self.title = title
        self.subtitle = subtitle
        self.synthetic = synthetic


class Registry(MacroElement):
    """Exposes the map and its named layers as ``window.admon`` and wires layer behaviour.

    While a raster overlay (``rasters``) is on, district fills turn nearly
    transparent so the raster below shows; after a district layer switch the
    field layers (``field``) are brought back on top of the shared canvas.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.admon = {
            map: {{ this._parent.get_name() }},
            districtLayers: { {% for name, var in this.districts %}{{ name|tojson }}: {{ var }}{{ "," if not loop.last }}{% endfor %} },
            overlays: { {% for name, var in this.overlays %}{{ name|tojson }}: {{ var }}{{ "," if not loop.last }}{% endfor %} },
            districtCount: {{ this.count }}
        };
        (function (admon) {
            var map = admon.map, rastersOn = {};
            var rasterNames = {{ this.rasters|tojson }}, fieldNames = {{ this.field|tojson }};
            function restyle() {
                var anyRaster = rasterNames.some(function (n) { return rastersOn[n]; });
                admonFillOpacity = anyRaster ? 0.12 : 0.78;
                Object.values(admon.districtLayers).forEach(function (l) { l.setStyle({fillOpacity: admonFillOpacity}); });
            }
            map.on("overlayadd overlayremove", function (e) {
                if (rasterNames.indexOf(e.name) >= 0) { rastersOn[e.name] = e.type === "overlayadd"; restyle(); }
            });
            // one canvas holds districts and field data: keep field data drawn (and clickable) on top
            map.on("baselayerchange", function () {
                fieldNames.forEach(function (n) { var l = admon.overlays[n]; if (map.hasLayer(l)) { l.bringToFront(); } });
            });
        })(window.admon);
        {% endmacro %}
        """
    )

    def __init__(
        self,
        districts: list[tuple[str, str]],
        overlays: list[tuple[str, str]],
        count: int,
        rasters: tuple[str, ...] = (),
        field: tuple[str, ...] = (),
    ):
        super().__init__()
        self._name = "AdmonRegistry"
        self.rasters = list(rasters)
        self.field = list(field)
        self.districts = districts
        self.overlays = overlays
        self.count = count


class DistrictSearch(JSCSSMixin, MacroElement):
    """A search box (Leaflet Search, shipped offline) that zooms to a district by name.

    It searches the shared ``admon_districts`` payload, whose names are
    already HTML-escaped, so a tip never renders markup from a user file. The
    found district is outlined for a few seconds.
    """

    default_js = [
        (
            "Leaflet.Search.js",
            "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js",
        )
    ]
    default_css = [
        (
            "Leaflet.Search.css",
            "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css",
        )
    ]

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .leaflet-control-search .search-input { width: 150px; font: 12.5px sans-serif; }
          /* the plugin's loader.gif is not shipped: no spinner (the search is local and instant) */
          .leaflet-container .leaflet-control-search.search-load .search-input { background: #fff; }
          @media (max-width: 500px) { .leaflet-control-search .search-input { width: 100px; } }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var index = L.geoJSON(admon_districts);  // never drawn: only searched
            var outline = null;
            var control = new L.Control.Search({
                layer: index, propertyName: "name", position: "topleft",
                initial: false, marker: false, autoCollapse: false, collapsed: false,
                textPlaceholder: "Find a district…", textErr: "No such district",
                moveToLocation: function (latlng, title, m) {}
            });
            control.on("search:locationfound", function (e) {
                map.fitBounds(e.layer.getBounds());
                if (outline) { map.removeLayer(outline); }
                outline = L.geoJSON(e.layer.feature, {interactive: false,
                    style: {color: "#ff7f00", weight: 4, fill: false}}).addTo(map);
                setTimeout(function () { if (outline) { map.removeLayer(outline); outline = null; } }, 6000);
            });
            map.addControl(control);
            map.removeLayer(index);  // the plugin adds its layer to the map: keep it off
            window.admonSearch = control;
        })();
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "AdmonDistrictSearch"


class ProgrammeClick(MacroElement):
    """Open a programme's popup on a click anywhere inside its area, not only on the outline.

    The areas stay drawn as outlines so the districts under them keep their
    hover tooltips (one canvas hit-tests only its topmost shape); a map click
    is tested against the programme polygons here instead (even–odd rule, so
    holes are outside). ``popup_html`` is built escaped by
    :mod:`maps.programme_areas`. Nothing happens while the layer is off.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, group = {{ this.group }};
            var areas = {{ this.payload }};
            function inRings(x, y, rings) {
                var inside = false;
                rings.forEach(function (ring) {
                    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
                        var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
                        if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
                    }
                });
                return inside;
            }
            function contains(geometry, x, y) {
                var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
                return polygons.some(function (rings) { return inRings(x, y, rings); });
            }
            map.on("click", function (e) {
                if (!map.hasLayer(group)) { return; }
                var hit = areas.features.filter(function (f) { return contains(f.geometry, e.latlng.lng, e.latlng.lat); });
                if (!hit.length) { return; }
                L.popup({maxWidth: 480}).setLatLng(e.latlng)
                    .setContent(hit.map(function (f) { return f.properties.popup_html; }).join("<hr>"))
                    .openOn(map);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, feature_collection: dict[str, Any], group: str):
        super().__init__()
        self._name = "AdmonProgrammeClick"
        self.payload = json.dumps(feature_collection, separators=(",", ":"), allow_nan=False)
        self.group = group
