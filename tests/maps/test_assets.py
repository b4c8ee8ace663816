"""Offline assets: folium's CDN links become files shipped next to the page."""

from __future__ import annotations

import folium
import pytest
from folium.plugins import Fullscreen, HeatMap

from core.errors import AdmonError
from maps.assets import localise_assets, remote_references


def test_leaflet_and_fullscreen_are_copied_and_cdn_links_dropped(tmp_path):
    fmap = folium.Map(tiles=None)
    Fullscreen().add_to(fmap)
    written = localise_assets(fmap, tmp_path / "static")
    names = sorted(p.name for p in written)
    assert "leaflet_1.9.3-leaflet.js" in names and "leaflet_1.9.3-leaflet.css" in names
    assert any("Control.FullScreen" in n for n in names)
    leaflet = (tmp_path / "static" / "leaflet_1.9.3-leaflet.js").read_text()
    assert "1.9.3" in leaflet[:2000] and len(leaflet) > 100_000
    html = fmap.get_root().render()
    assert remote_references(html) == []
    assert '<script src="static/leaflet_1.9.3-leaflet.js">' in html
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    # the class-level defaults folium shares between maps are left untouched
    assert folium.Map.default_js[0][1].startswith("https://")


def test_resource_not_shipped_offline_is_named(tmp_path, monkeypatch):
    fmap = folium.Map(tiles=None)
    heat = HeatMap([[0, 0, 1]])
    heat.add_to(fmap)
    monkeypatch.setattr(heat, "default_js", [("nowhere", "https://example.invalid/x.js")])
    with pytest.raises(AdmonError, match=r"https://example.invalid/x.js"):
        localise_assets(fmap, tmp_path / "static")


def test_remote_references_finds_network_loads_only():
    html = (
        '<script src="static/a.js"></script><link rel="stylesheet" href="//cdn.x/b.css">'
        '<script src="https://cdn.y/c.js"></script><a href="https://osm.org">osm</a>'
    )
    assert len(remote_references(html)) == 2


def test_newer_version_falls_back_to_the_embedded_one(tmp_path, monkeypatch, caplog):
    fmap = folium.Map(tiles=None)
    newer = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.99/dist/leaflet.js")]
    monkeypatch.setattr(fmap, "default_js", newer)
    monkeypatch.setattr(fmap, "default_css", [])
    written = localise_assets(fmap, tmp_path / "static")
    assert [p.name for p in written] == ["leaflet_1.9.3-leaflet.js"]
    assert "leaflet@1.9.99" in caplog.text
