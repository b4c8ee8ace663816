"""publish_run: every output exists, names the right year, and the numbers are the inputs'."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

import maps
from core.errors import InvalidInputError
from core.legend import LEGEND
from tests.maps.builders import make_districts, make_estimates


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key) and tag in ("img", "a", "script", "link"):
                self.links.append(attrs[key])


def _links(path) -> list[str]:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.links


def test_every_output_is_written(published_run):
    inputs, paths = published_run
    run = inputs.run_dir
    assert paths["map"] == run / "map.html" and paths["report"] == run / "report.html"
    names = sorted(p.name for p in paths["pngs"])
    assert names == sorted(
        [f"map_opium_poppy_{m}.png" for m in ("area_ha", "ha_per_km2", "change_ha")]
        + [f"map_cannabis_{m}.png" for m in ("area_ha", "ha_per_km2")]
        + ["map_classes.png", "map_ndvi.png"]
    )
    assert sorted(p.name for p in paths["charts"]) == [
        "chart_cannabis_districts.png",
        "chart_opium_poppy_districts.png",
        "chart_programmes.png",
    ]
    for key in ("csv", "gpkg", "geojson", "thumbnail", "record"):
        assert paths[key].is_file(), key
    assert (run / "static").is_dir()
    assert not list(run.rglob(".tmp-*"))


def test_pngs_name_the_year_and_are_print_sized(published_run):
    _, paths = published_run
    for png in paths["pngs"] + paths["charts"]:
        with Image.open(png) as image:
            assert "2025" in image.text["Title"], png.name
            assert image.width >= 1000, png.name
    with Image.open(paths["thumbnail"]) as thumb:
        assert thumb.size == (320, 240)


def test_class_map_png_uses_the_legend_colours(published_run):
    _, paths = published_run
    png = next(p for p in paths["pngs"] if p.name == "map_classes.png")
    with Image.open(png) as image:
        pixels = set(image.convert("RGB").getdata())
    for entry in LEGEND:
        rgb = tuple(round(255 * c) for c in to_rgb(entry.colour))
        assert rgb in pixels, entry.name


def test_report_names_year_totals_methods_and_provenance(published_run):
    inputs, paths = published_run
    text = paths["report"].read_text(encoding="utf-8")
    assert "Illicit crop cultivation survey 2025" in text
    assert "SYNTHETIC DEMO DATA" in text
    # poppy: 10 x (1+...+6) = 210 ha, se_k = k: 1.96 sqrt(91) = 18.70 -> 191 – 229
    assert "210 ha" in text and "191 – 229 ha" in text
    # cannabis: 42 ha, se_k = 0.2k: 1.96 x 0.2 sqrt(91) = 3.74 -> 38.3 – 45.7
    assert "42.0 ha" in text and "38.3 – 45.7 ha" in text
    assert "Olofsson" in text and "stratified" in text
    assert "0.912" in text and "0.850" in text  # overall and poppy user's accuracy
    provenance = (inputs.run_dir / "provenance.html").read_text(encoding="utf-8")
    assert 'href="provenance.html"' in text and "ab" * 32 not in text
    assert "ab" * 32 in provenance and "imagery/2025/S2A.json" in provenance
    assert "reference points" in text and "600" in text
    # every image and download the report links to exists in the run folder
    for link in _links(paths["report"]):
        assert (inputs.run_dir / link).is_file(), link


def test_provenance_shows_workspace_paths_never_the_analysts_folders(tmp_path):
    from maps.report import _relative

    run_dir = tmp_path / "ws" / "runs" / "2025" / "r1"
    run_dir.mkdir(parents=True)
    inside = tmp_path / "ws" / "demo_region" / "plots.csv"
    assert _relative(str(inside), run_dir) == "demo_region/plots.csv"
    assert _relative(str(inside), run_dir / "public") == "demo_region/plots.csv"
    assert _relative("/home/analyst/secret/plots.csv", run_dir) == "…/plots.csv"
    assert _relative("imagery/a.json", run_dir) == "imagery/a.json"


def test_map_page_is_offline_and_embeds_districts_once(published_run):
    inputs, paths = published_run
    text = paths["map"].read_text(encoding="utf-8")
    assert maps.assets.remote_references(text) == []
    assert text.count("var admon_districts =") == 1
    assert "data:image/png;base64" not in text  # overlays are files, not blobs
    for link in _links(paths["map"]):
        assert (inputs.run_dir / link).is_file(), link
    assert "jquery" not in text.lower() and "bootstrap" not in text.lower()


def test_downloads_hold_the_estimates(published_run):
    inputs, paths = published_run
    csv = pd.read_csv(paths["csv"])
    pd.testing.assert_frame_equal(csv, inputs.estimates, check_dtype=False)
    assert pyogrio.list_layers(paths["gpkg"])[0][0] == "district_estimates"
    gpkg = gpd.read_file(paths["gpkg"])
    assert gpkg.crs.to_epsg() == 32647 and len(gpkg) == 12
    geojson = gpd.read_file(paths["geojson"])
    assert geojson.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = geojson.total_bounds
    assert 98 < minx < maxx < 100 and 20 < miny < maxy < 21  # UTM 47N, near 99 E 20.8 N
    d005 = geojson[(geojson.district_id == "D005") & (geojson.crop == "opium_poppy")]
    assert d005.area_ha.tolist() == [50.0]


def test_publish_record_feeds_the_gallery(published_run):
    _, paths = published_run
    record = json.loads(paths["record"].read_text())
    assert record["year"] == 2025 and record["run_id"] == "r2025a" and record["synthetic"]
    assert record["summary"][0] == "Opium poppy: 210 ha (95% 191–229)"
    assert "map.html" in record["files"]


def test_existing_downloads_are_kept_and_rerun_is_stable(tmp_path):
    districts = make_districts(2, 1)
    estimates = make_estimates(districts, 2024)
    run = tmp_path / "runs" / "2024" / "x"
    run.mkdir(parents=True)
    (run / "district_estimates.csv").write_text("written,by,the,flow\n")
    first = maps.publish_run(run, districts=districts, district_estimates=estimates)
    assert (run / "district_estimates.csv").read_text() == "written,by,the,flow\n"
    files = sorted(p.name for p in run.iterdir())
    geojson = first["geojson"].read_bytes()
    second = maps.publish_run(run, districts=districts, district_estimates=estimates)
    assert sorted(p.name for p in run.iterdir()) == files
    assert second["geojson"].read_bytes() == geojson
    assert "map_opium_poppy_change_ha.png" not in files  # no baseline, no change map
    with Image.open(run / "map_cannabis_area_ha.png") as image:
        assert image.text["Title"].startswith("Cannabis 2024")


def test_inconsistent_inputs_are_refused(tmp_path):
    districts = make_districts(2, 1)
    estimates = make_estimates(districts, 2025)
    with pytest.raises(InvalidInputError, match="no district estimates"):
        maps.publish_run(tmp_path, districts=districts, district_estimates=estimates.iloc[:0])
    with pytest.raises(InvalidInputError, match="D002"):
        maps.publish_run(tmp_path, districts=districts.iloc[:1], district_estimates=estimates)
