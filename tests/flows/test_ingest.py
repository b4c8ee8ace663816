"""Upload to run, durably: the field export is rebuilt from the store, read by the annual run,
and a published demo's public site carries no plot data while the restricted one needs a token.

Before: the export written after an upload could not be read back (``load_plots`` raised
``cannot insert source_row, already exists``), a kill during the export left half of it
for good, and the only publication carried every plot.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.ingest import export_field_plots, field_plots_path, rebuild_field_exports
from models.store import open_store
from models.survey import load_plots
from tests.security.test_public_site import leaks
from tests.web.conftest import FieldPlot, geojson
from web.app import create_app


def _plots(n: int) -> list[FieldPlot]:
    return [
        FieldPlot(f"K{k:05d}", "poppy", "cultivated", "2025-01-14", "team-a",
                  97.0 + (k % 300) / 500, 20.0 + (k // 300) / 500)
        for k in range(n)
    ]  # fmt: skip


def test_the_export_reads_back_and_is_only_rewritten_when_the_store_changed(tmp_path):
    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        store.ingest_upload(geojson(_plots(5)), "a.geojson", "team-a")
        target = Path(export_field_plots(store, tmp_path, [2025])[2025])
        assert target == field_plots_path(tmp_path, 2025)
        plots, report = load_plots(target)
        assert len(plots) == 5 and report.rejected == 0
        before = target.stat().st_mtime_ns
        export_field_plots(store, tmp_path, [2025])
        assert target.stat().st_mtime_ns == before  # same uploads: same file, same checksum
        store.ingest_upload(geojson(_plots(8)[5:]), "b.geojson", "team-a")
        export_field_plots(store, tmp_path, [2025])
        assert len(load_plots(target)[0]) == 8


_EXPORT_FOREVER = """
import sys
from pathlib import Path
from flows.ingest import export_field_plots
from models.store import open_store
ws = Path(sys.argv[1])
store = open_store(ws / "store.gpkg", workspace=ws)
print("ready", flush=True)
while True:
    (ws / "field" / "2025" / "survey_plots.json").unlink(missing_ok=True)  # force a rewrite
    export_field_plots(store, ws, [2025])
"""


@pytest.mark.slow
def test_a_kill_9_during_the_export_leaves_the_old_export_or_none_and_a_restart_repairs(tmp_path):
    n = 3000
    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        store.ingest_upload(geojson(_plots(n)), "big.geojson", "team-a")
    target = field_plots_path(tmp_path, 2025)
    root = Path(__file__).resolve().parents[2]
    for delay_s in (1.0, 1.7, 2.9):
        writer = subprocess.Popen(
            [sys.executable, "-c", _EXPORT_FOREVER, str(tmp_path)],
            cwd=root,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(delay_s)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        if target.exists():  # never half a file: the previous complete export, or none yet
            assert len(load_plots(target)[0]) == n
    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        rebuilt = rebuild_field_exports(store, tmp_path)  # what the service does at start
    assert rebuilt == {2025: str(target)}
    assert len(load_plots(target)[0]) == n
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".tmp-")]


@pytest.fixture(scope="module")
def uploaded_run(small_region, tmp_path_factory, prefect_harness, serial_flow):
    """A survey team uploads the region's Kobo export through the service; the annual run
    of the last year trains on the store's field export; both sites are published."""
    from flows.demo import demo_config_text

    workspace = tmp_path_factory.mktemp("ws-upload")
    year = small_region.years[-1]
    app = create_app(workspace)
    token = app.state.store.create_token("team-a", "uploader")
    kobo = Path(small_region.kobo_exports[year])
    with TestClient(app) as client:
        answer = client.post(
            "/api/v1/uploads",
            files={"file": (kobo.name, kobo.read_bytes())},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201, answer.text
    app.state.store.close()
    region = Path(small_region.root)
    text = demo_config_text(region, workspace, [year]).replace(
        str(region / "plots" / "{year}" / "survey_plots.geojson"),
        str(workspace / "field" / "{year}" / "survey_plots.gpkg"),
    )
    config = workspace / "run.toml"
    config.write_text(text, encoding="utf-8")
    result = serial_flow(config_path=str(config), year=year)
    return {"workspace": workspace, "year": year, "accepted": answer.json()["accepted"],
            "result": result, "region": small_region}  # fmt: skip


@pytest.mark.slow
def test_plots_uploaded_through_the_service_train_the_classifier(uploaded_run):
    manifest = json.loads((Path(uploaded_run["result"]["run_dir"]) / "manifest.json").read_text())
    classify = next(s for s in manifest["stages"] if s["stage"] == "classify")["outputs"]
    assert classify["n_train_plots"] + classify["n_holdout_plots"] == uploaded_run["accepted"]
    training = [i["path"] for i in manifest["inputs"] if i["role"] == "training_plots"]
    assert training == [f"field/{uploaded_run['year']}/survey_plots.gpkg"]
    text = json.dumps(manifest)
    assert str(uploaded_run["workspace"]) not in text  # paths relative to the workspace


@pytest.mark.slow
def test_a_published_demo_has_no_plot_data_in_public_and_restricted_needs_a_token(uploaded_run):
    import geopandas as gpd

    workspace = uploaded_run["workspace"]
    plots = gpd.read_file(field_plots_path(workspace, uploaded_run["year"]))
    secrets = sorted(set(plots["plot_id"].astype(str)) | set(plots["team"].astype(str)))
    assert leaks(workspace / "published" / "public", plots, secrets) == []
    assert leaks(workspace / "published" / "restricted", plots, secrets) != []  # live check
    app = create_app(workspace)
    store = app.state.store
    reviewer, uploader = store.create_token("wg", "reviewer"), store.create_token("t", "uploader")
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/").status_code == 200
        assert client.get("/restricted/").status_code == 303  # to the sign-in page
        assert "/login" in client.get("/restricted/").headers["location"]
        denied = client.get("/restricted/", headers={"Authorization": f"Bearer {uploader}"})
        assert denied.status_code == 403
        page = client.get("/login")
        csrf = page.cookies["admon_csrf"]
        signed = client.post(
            "/login", data={"token": reviewer, "csrf": csrf, "next": "/restricted/"}
        )
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.get("/restricted/").status_code == 200
        forged = client.post("/login", data={"token": reviewer, "csrf": "forged", "next": "/"})
        assert forged.status_code == 403
    store.close()


def test_the_years_of_an_upload_are_asked_of_the_store_without_reading_every_plot(
    tmp_path, monkeypatch
):
    from flows.ingest import upload_years

    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        first = store.ingest_upload(geojson(_plots(3)), "a.geojson", "team-a")
        autumn = [replace(p, date="2025-10-02") for p in _plots(6)[3:]]
        second = store.ingest_upload(geojson(autumn), "b.geojson", "team-a")
        plots = store.get_plots()
        expected = {  # independently, from every stored plot
            u.upload_id: sorted(set(plots.loc[plots["upload_id"] == u.upload_id, "year"]))
            for u in (first, second)
        }
        assert expected[first.upload_id] == [2025] and expected[second.upload_id] == [2026]

        def every_plot(*args, **kwargs):
            raise AssertionError("upload_years read the whole plot table")

        monkeypatch.setattr(store, "get_plots", every_plot)
        assert upload_years(store, first.upload_id) == expected[first.upload_id]
        assert upload_years(store, second.upload_id) == expected[second.upload_id]
        assert upload_years(store, "0" * 32) == []
