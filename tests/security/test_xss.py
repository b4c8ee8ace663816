"""No stored XSS: hostile strings in every user-supplied text reach pages as text, never as code.

Before: an uploaded ``plot_id`` or ``team`` of ``<img src=x onerror=...>`` ran in the map
tooltip (folium's GeoJsonTooltip sets innerHTML). Here every text field a user
controls (plot id, team, status, survey date text, segment ids, district names,
programme ids, names and baseline notes, feedback verdict notes, the survey's
name in the manifest) carries payloads that would set ``window.__xss``; Debian's
chromium opens the map (every tooltip and popup opened), the report, both
galleries and the upload page, and no payload may run.
"""

from __future__ import annotations

import pytest

import maps
from tests.browser import CHROMIUM_ARGS, chromium_executable, served, sign_in
from tests.maps.builders import make_run_inputs
from tests.web.conftest import FieldPlot, geojson
from web.app import create_app

pytestmark = pytest.mark.browser

PAYLOADS = (
    '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
    "<script>window.__xss=(window.__xss||0)+1</script>",
    '"\'><svg onload="window.__xss=(window.__xss||0)+1">',
)

OPEN_EVERYTHING = """() => {
  const map = window.admon.map;
  let opened = 0;
  map.eachLayer(layer => {
    const at = layer.getLatLng ? layer.getLatLng()
      : (layer.getBounds && layer.getBounds().isValid() ? layer.getBounds().getCenter() : null);
    if (!at) return;
    for (const kind of ["mouseover", "click"]) {
      try { layer.fire(kind, {latlng: at, layer: layer, target: layer}, true); opened++; }
      catch (e) { /* a layer without handlers */ }
    }
  });
  // a click inside a programme area opens its popup from the map's click handler
  const areas = window.admon.overlays["AD programme areas"];
  if (areas && map.hasLayer(areas)) {
    areas.eachLayer(g => g.eachLayer(x => {
      map.fire("click", {latlng: x.getBounds().getCenter()});
      opened += document.querySelectorAll(".leaflet-popup-content").length;
    }));
  }
  return opened;
}"""


def hostile(k: int) -> str:
    return f"P{k}{PAYLOADS[k % len(PAYLOADS)]}"


@pytest.fixture(scope="module")
def chromium(playwright_session):
    browser = playwright_session.chromium.launch(
        executable_path=chromium_executable(),
        args=CHROMIUM_ARGS,  # loopback stays reachable for the live service
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    inputs = make_run_inputs(tmp_path_factory.mktemp("xss") / "workspace")
    n = len(inputs.plots)
    plots = inputs.plots.assign(
        plot_id=[hostile(k) for k in range(n)],
        team=[hostile(k + 1) for k in range(n)],
        status=[hostile(k + 2) for k in range(n)],
        survey_date=[hostile(k) for k in range(n)],
    )
    segments = inputs.segments.assign(
        segment_id=[hostile(k) for k in range(len(inputs.segments))],
        stratum=[hostile(k + 1) for k in range(len(inputs.segments))],
    )
    names = [hostile(k) for k in range(len(inputs.districts))]
    districts = inputs.districts.assign(district_name=names)
    estimates = inputs.estimates.assign(
        district_name=inputs.estimates["district_id"].map(
            dict(zip(districts["district_id"], names, strict=True))
        )
    )
    programmes = inputs.programmes.assign(
        name=[hostile(0), hostile(1)], baseline_source_note=[hostile(2), hostile(0)]
    )
    change = inputs.programme_change.assign(
        baseline_source=hostile(1), verdict=hostile(2), note=hostile(0)
    )
    manifest = inputs.manifest | {
        "parameters": {"survey": {"name": hostile(1)}, "composite": hostile(2)},
        "inputs": [{"path": hostile(0), "sha256": hostile(1)}],
    }
    kwargs = inputs.kwargs() | {
        "plots": plots,
        "segments": segments,
        "districts": districts,
        "district_estimates": estimates,
        "programmes": programmes,
        "programme_change": change,
        "manifest": manifest,
    }
    maps.publish_run(inputs.run_dir, **kwargs)
    maps.build_gallery(inputs.run_dir.parents[2])
    return inputs.run_dir


def _visit(chromium, url: str, *, open_layers: bool = False) -> tuple[int, list[str]]:
    context = chromium.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    opened = 0
    if open_layers:
        page.wait_for_function("() => window.admon !== undefined && window.L !== undefined")
        opened = page.evaluate(OPEN_EVERYTHING)
        page.wait_for_timeout(300)
    ran = page.evaluate("() => window.__xss || 0")
    text = page.evaluate("() => document.documentElement.outerHTML")
    context.close()
    assert ran == 0 and dialogs == [], f"{url}: a payload ran"
    return opened, [p for p in PAYLOADS if p in text]


@pytest.mark.parametrize("audience", ["restricted", "public"])
def test_no_payload_runs_in_the_map_with_every_tooltip_and_popup_open(
    chromium, hostile_site, audience
):
    run_dir = hostile_site if audience == "restricted" else hostile_site / "public"
    opened, _ = _visit(chromium, (run_dir / "map.html").resolve().as_uri(), open_layers=True)
    assert opened > 10  # districts, plots, segments and programme outlines were all opened


def test_no_payload_runs_in_the_reports_and_galleries(chromium, hostile_site):
    published = hostile_site.parents[2] / "published"
    pages = [
        hostile_site / "report.html",
        hostile_site / "public" / "report.html",
        published / "restricted" / "index.html",
        published / "public" / "index.html",
    ]
    shown = []
    for page in pages:
        _, raw = _visit(chromium, page.resolve().as_uri())
        shown += raw
    assert shown == []  # payloads appear escaped (as text), never as markup


@pytest.fixture
def live_service(tmp_path):
    app = create_app(tmp_path / "ws")
    with served(app) as base:
        yield base, app
    app.state.store.close()


def test_no_payload_runs_on_the_upload_page_or_the_served_sites(
    chromium, live_service, hostile_site
):
    import shutil

    base, app = live_service
    shutil.copytree(hostile_site.parents[2] / "published", app.state.workspace / "published")
    token = app.state.store.create_token(hostile(0), "admin")  # a hostile team name too
    plots = [
        FieldPlot(hostile(k), "banana" if k == 1 else "poppy", hostile(k + 1), "2025-01-14",
                  hostile(k + 2), 97.1 + k / 100, 20.2)
        for k in range(3)
    ]  # fmt: skip
    context = chromium.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, base, token)
    # arrow functions: the page's CSP forbids eval, which an expression string would need
    page.wait_for_function(
        "() => document.getElementById('session').textContent.includes('Signed')"
    )
    page.set_input_files(
        "#file",
        files=[{"name": "p.geojson", "mimeType": "application/json", "buffer": geojson(plots)}],
    )
    page.click("button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#report tbody tr').length > 0")
    assert page.evaluate("() => window.__xss || 0") == 0
    assert page.query_selector("#report img, #report svg, #session img") is None
    for path in ("/restricted/", "/restricted/runs/" + "/".join(hostile_site.parts[-2:]) + "/map.html",
                 "/"):  # fmt: skip
        answer = page.goto(base + path)
        assert answer.status == 200, path
        scripts = answer.headers["content-security-policy"].split("script-src", 1)[1].split(";")[0]
        assert "'self'" in scripts and "unsafe" not in scripts, path
        assert page.evaluate("() => window.__xss || 0") == 0, path
    page.goto(base + "/docs")  # Swagger UI renders from local files under the page's CSP
    page.wait_for_selector(".swagger-ui .info", timeout=30000)
    assert dialogs == []
    context.close()
