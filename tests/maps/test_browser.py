"""Open the published map and gallery in headless chromium with the network off."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from matplotlib.colors import to_rgb

import maps
from maps.gallery import list_runs
from maps.layers import METRICS, colour_scale, district_table
from tests.maps.builders import make_districts, make_estimates
from tests.maps.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

# For every district of the visible choropleth: does it have projected rings
# (Leaflet drew it) and is the canvas painted at its centre (independent check
# through the pixels)? Test districts are rectangles, so the centre is inside.
DRAWN_JS = """async () => {
  // Leaflet's canvas renderer paints on the next animation frames: let it finish
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const a = window.admon, map = a.map;
  const name = Object.keys(a.districtLayers).find(n => map.hasLayer(a.districtLayers[n]));
  const layer = a.districtLayers[name];
  const members = layer.getLayers();
  const canvas = members[0]._renderer._container;
  const ctx = canvas.getContext("2d");
  const cr = canvas.getBoundingClientRect(), mr = map.getContainer().getBoundingClientRect();
  const scale = canvas.width / cr.width;
  let withParts = 0, painted = 0;
  const colours = {};
  for (const l of members) {
    if (l._parts && l._parts.length) withParts++;
    const p = map.latLngToContainerPoint(l.getBounds().getCenter());
    const x = Math.round((p.x + mr.left - cr.left) * scale);
    const y = Math.round((p.y + mr.top - cr.top) * scale);
    const px = ctx.getImageData(x, y, 1, 1).data;
    if (px[3] > 0) painted++;
    colours[l.feature.properties.id] = Array.from(px.slice(0, 3));
  }
  return {name, total: members.length, withParts, painted, colours, count: a.districtCount};
}"""


def test_map_loads_offline_and_draws_every_district(published_run, open_page):
    inputs, paths = published_run
    page, log = open_page(paths["map"])
    page.wait_for_function("window.admon !== undefined && window.L !== undefined")
    assert page.evaluate("typeof L.version") == "string"
    drawn = _drawn(page, len(inputs.districts))
    assert drawn["name"] == "Opium poppy: estimated area (ha)"
    assert drawn["total"] == drawn["withParts"] == drawn["painted"] == len(inputs.districts)
    assert drawn["count"] == len(inputs.districts)
    assert page.locator("#admon-synthetic").is_visible()
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_offline.png"))
    assert log.console_errors() == []
    assert log.off_machine_requests() == []
    assert log.failed == []


def _drawn(page, expected: int) -> dict:
    """DRAWN_JS, read again while the canvas is still painting (busy CI machines lag)."""
    for _ in range(20):
        drawn = page.evaluate(DRAWN_JS)
        if drawn["painted"] >= expected:
            break
        page.wait_for_timeout(250)
    return drawn


def _expected_rgb(inputs, crop: str, metric_key: str) -> dict[str, list[int]]:
    """District fill colours computed in Python, independently of the page."""
    table = district_table(
        inputs.districts, inputs.estimates, programme_change=inputs.programme_change
    )
    metric = next(m for m in METRICS if m.key == metric_key)
    column = table[f"{crop}_{metric_key}"]
    colours = colour_scale(column, metric).colour_of(column)
    return {
        d: [round(255 * c) for c in to_rgb(h)]
        for d, h in zip(table["district_id"], colours, strict=True)
    }


def _close(seen: dict[str, list[int]], expected: dict[str, list[int]]) -> bool:
    # canvas pixels are stored premultiplied by the fill opacity: allow rounding
    return seen.keys() == expected.keys() and all(
        abs(a - b) <= 2 for k in seen for a, b in zip(seen[k], expected[k], strict=True)
    )


def test_switching_layers_changes_what_is_drawn(published_run, open_page):
    inputs, paths = published_run
    page, log = open_page(paths["map"])
    page.wait_for_function("window.admon !== undefined")
    before = _drawn(page, len(inputs.districts))
    assert _close(before["colours"], _expected_rgb(inputs, "opium_poppy", "area_ha"))
    legend = page.locator("#admon-legend")
    assert "Opium poppy 2025: Estimated area" in legend.inner_text()

    page.get_by_text("Opium poppy: change since baseline (ha)").click()
    after = _drawn(page, len(inputs.districts))
    assert after["name"] == "Opium poppy: change since baseline (ha)"
    assert after["painted"] == len(inputs.districts)
    expected = _expected_rgb(inputs, "opium_poppy", "change_ha")
    assert _close(after["colours"], expected)
    # only D001, D002, D005 have a programme baseline: the others are drawn as "no estimate"
    assert expected["D003"] == [217, 217, 217] and expected["D005"] != expected["D003"]
    assert after["colours"] != before["colours"]
    assert "change since baseline" in legend.inner_text().lower()
    assert "Estimated area" not in legend.inner_text()

    plots_on = "window.admon.map.hasLayer(window.admon.overlays['Survey plots'])"
    assert page.evaluate(plots_on) is False  # off at first: the districts come first
    page.get_by_text("Survey plots", exact=True).click()
    assert page.evaluate(plots_on) is True

    alpha = (
        "() => Object.values(window.admon.districtLayers).find(l => window.admon.map.hasLayer(l))"
    )
    alpha += ".getLayers()[0].options.fillOpacity"
    assert page.evaluate(alpha) == pytest.approx(0.78)
    page.get_by_text("Class map (poppy / cannabis)").click()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.leaflet-image-layer'))"
        ".some(i => i.complete && i.naturalWidth > 0)"
    )
    assert "Opium poppy" in legend.inner_text() and "Water" in legend.inner_text()
    assert page.evaluate(alpha) < 0.2  # districts turn see-through over the raster
    assert log.console_errors() == []
    assert log.off_machine_requests() == []


def test_tooltip_shows_interval_and_sample_size(published_run, open_page):
    inputs, paths = published_run
    page, _ = open_page(paths["map"])
    page.wait_for_function("window.admon !== undefined")
    point = page.evaluate(
        """() => { const a = window.admon, l = Object.values(a.districtLayers)[0];
        const d = l.getLayers().find(x => x.feature.properties.id === "D005");
        const p = a.map.latLngToContainerPoint(d.getBounds().getCenter());
        const r = a.map.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }"""
    )
    page.mouse.move(*point)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    text = tooltip.inner_text()
    # D005 (builders): poppy 50 ha, se 5 -> 95% 40.2 – 59.8, n = 25; baseline 75 ha -> -25 ha
    assert "District 5" in text and "50 ha" in text
    assert "40 – 60 ha" in text
    assert "n = 25" in text
    assert "change since 2024: -25 ha" in text


@pytest.mark.slow
def test_thousand_districts_load_and_draw_within_budget(tmp_path, open_page):
    districts = make_districts(40, 26, side_m=1_000.0)  # 1,040 districts
    estimates = make_estimates(districts, 2025)
    run_dir = tmp_path / "runs" / "2025" / "big"
    started = time.perf_counter()
    paths = maps.publish_run(run_dir, districts=districts, district_estimates=estimates)
    publish_s = time.perf_counter() - started
    page_kb = paths["map"].stat().st_size / 1024

    started = time.perf_counter()
    page, log = open_page(paths["map"])
    page.wait_for_function("window.admon !== undefined")
    drawn = _drawn(page, 1040)
    load_s = time.perf_counter() - started
    page.screenshot(path=str(ARTIFACTS / "map_1040_districts.png"))
    print(f"1040 districts: publish {publish_s:.1f} s, {page_kb:.0f} kB, load+draw {load_s:.2f} s")
    assert drawn["total"] == drawn["withParts"] == drawn["painted"] == 1040
    assert load_s < 10
    assert page_kb < 3000
    assert log.console_errors() == []


def test_gallery_lists_runs_newest_first_offline(published_run, tmp_path, open_page):
    inputs, _ = published_run
    workspace = tmp_path / "workspace"
    # three copies of the published run under other years / ids / creation times
    for year, run_id, created in (
        (2024, "a2024", "2024-05-01"),
        (2025, "a2025", "2025-05-01"),
        (2025, "b2025", "2025-06-01"),
    ):
        run_dir = workspace / "runs" / str(year) / run_id
        shutil.copytree(inputs.run_dir, run_dir)
        manifest = {**inputs.manifest, "run_id": run_id, "year": year, "created": created}
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
    gallery = maps.build_gallery(workspace)
    page, log = open_page(gallery)
    order = page.eval_on_selector_all("article.run", "els => els.map(e => e.dataset.runId)")
    assert order == ["b2025", "a2025", "a2024"] == [e["run_id"] for e in list_runs(workspace)]
    headings = page.eval_on_selector_all("h2[id^=year-]", "els => els.map(e => e.textContent)")
    assert headings == ["2025", "2024"]
    assert page.eval_on_selector_all(
        "article.run img", "els => els.every(i => i.complete && i.naturalWidth === 320)"
    )
    assert page.locator("article.run .tag", has_text="SYNTHETIC").count() == 3
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)
    page.locator("article[data-run-id=a2024] a", has_text="interactive map").click()
    page.wait_for_function("window.admon !== undefined")
    assert page.url.endswith("/published/public/runs/2024/a2024/map.html")
    assert page.evaluate("window.admon.districtCount") == len(inputs.districts)
    assert log.console_errors() == []
    assert log.off_machine_requests() == []


def test_published_folder_alone_browses_offline(published_run, tmp_path, open_page):
    """What a reviewer copies to a USB stick: only published/restricted/, opened from the
    file system (published/public/ alone is what goes on a government website)."""
    inputs, _ = published_run
    workspace = tmp_path / "workspace"
    shutil.copytree(inputs.run_dir, workspace / "runs" / "2025" / inputs.run_dir.name)
    maps.build_gallery(workspace)
    stick = tmp_path / "usb"
    shutil.copytree(workspace / "published" / "restricted", stick)
    page, log = open_page(stick / "index.html")
    page.locator("article.run a", has_text="interactive map").click()
    page.wait_for_function("window.admon !== undefined")
    assert _drawn(page, len(inputs.districts))["painted"] == len(inputs.districts)
    page.go_back()
    page.locator("article.run a", has_text="report").click()
    assert "Illicit crop cultivation survey 2025" in page.title()
    assert page.eval_on_selector_all("img", "els => els.every(i => i.naturalWidth > 0)")
    assert log.console_errors() == []
    assert log.failed == []
    website = tmp_path / "website"  # the public site alone is as self-contained
    shutil.copytree(workspace / "published" / "public", website)
    page, log = open_page(website / "index.html")
    page.locator("article.run a", has_text="interactive map").click()
    page.wait_for_function("window.admon !== undefined")
    assert _drawn(page, len(inputs.districts))["painted"] == len(inputs.districts)
    assert "Cultivation density (generalised)" in page.content()
    assert log.console_errors() == [] and log.failed == []


def test_programme_outline_opens_baseline_vs_current_popup(published_run, open_page):
    _, paths = published_run
    page, log = open_page(paths["map"])
    page.wait_for_function("window.admon !== undefined")
    page.get_by_text("Opium poppy: change since baseline (ha)").click()  # districts redrawn
    # a point on P2's outline (district D005), in page pixels
    point = page.evaluate(
        """() => { const a = window.admon; let line = null;
        a.overlays["AD programme areas"].eachLayer(g => g.eachLayer(x => {
            if (x.feature.properties.programme_id === "P2") line = x; }));
        const ring = line.getLatLngs().flat(3);
        const mid = L.latLng((ring[0].lat + ring[1].lat) / 2, (ring[0].lng + ring[1].lng) / 2);
        const p = a.map.latLngToContainerPoint(mid);
        const r = a.map.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }"""
    )
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    # builders: D005 baseline 75 ha (2024), now 50 ha, change -25 (-30 to -20)
    assert "Tea & macadamia" in text and "75.0 ha (2024, estimate)" in text
    assert "50.0 ha" in text and "-25.0" in text and "decrease" in text
    assert log.console_errors() == []


def test_report_opens_offline_and_prints_to_a4(published_run, open_page):
    inputs, paths = published_run
    page, log = open_page(paths["report"])
    assert page.title() == "Illicit crop cultivation survey 2025: run report"
    images = page.eval_on_selector_all("img", "els => els.map(i => i.naturalWidth)")
    assert len(images) == 10 and all(width >= 1000 for width in images)  # 7 maps, 3 charts
    page.emulate_media(media="print")
    assert page.locator("#synthetic-banner").is_visible()
    pdf = page.pdf(format="A4")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    # a brief: summary and districts, programmes, one map per crop, methods
    assert pdf.startswith(b"%PDF") and 3 <= pages <= 6, pages
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report_a4.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert log.console_errors() == [] and log.failed == []


def test_search_box_finds_a_district_and_zooms_to_it_offline(published_run, open_page):
    inputs, paths = published_run
    page, log = open_page(paths["map"])
    page.wait_for_function("window.admon !== undefined && window.admonSearch !== undefined")
    target = inputs.districts.iloc[-1]
    before = page.evaluate("window.admon.map.getZoom()")
    box = page.locator(".leaflet-control-search input.search-input")
    assert box.is_visible()
    box.press_sequentially(str(target.district_name), delay=30)
    tip = page.locator(".search-tooltip .search-tip", has_text=str(target.district_name))
    tip.first.wait_for(state="visible", timeout=5000)
    tip.first.click()
    page.wait_for_function(f"window.admon.map.getZoom() > {before}", timeout=5000)
    # the view is centred inside the district that was asked for
    west, south, east, north = (
        inputs.districts[inputs.districts.district_id == target.district_id]
        .to_crs("EPSG:4326")
        .total_bounds
    )
    lat, lng = page.evaluate("[window.admon.map.getCenter().lat, window.admon.map.getCenter().lng]")
    assert south <= lat <= north and west <= lng <= east
    # the searched index is never drawn: only the choropleth and the found outline
    drawn = _drawn(page, len(inputs.districts))
    assert drawn["total"] == len(inputs.districts)
    assert page.evaluate("window.admon.map.hasLayer(window.admonSearch._layer)") is False
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_search.png"))
    assert log.console_errors() == []
    assert log.off_machine_requests() == []
    assert log.failed == []


def test_click_inside_a_programme_area_opens_its_popup(published_run, open_page):
    inputs, paths = published_run
    page, log = open_page(paths["map"])
    page.wait_for_function("window.admon !== undefined")
    # the centre of D005, P2's only district: far from any outline
    centre = (
        inputs.districts[inputs.districts.district_id == "D005"]
        .to_crs("EPSG:4326")
        .geometry.iloc[0]
        .centroid
    )
    point = page.evaluate(
        """([lat, lng]) => { const map = window.admon.map;
        const p = map.latLngToContainerPoint(L.latLng(lat, lng));
        const r = map.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }""",
        [centre.y, centre.x],
    )
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "Tea & macadamia" in text and "Highland coffee" not in text
    page.locator(".leaflet-popup-close-button").click()
    # the programme layer off: a click inside opens nothing
    page.locator(".leaflet-control-layers").get_by_text("AD programme areas").click()
    page.mouse.click(*point)
    page.wait_for_timeout(300)
    assert page.locator(".leaflet-popup-content").count() == 0
    assert log.console_errors() == []
