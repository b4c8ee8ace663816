"""The published website mirrors: run pages under published/<audience>/runs/, kept in step."""

from __future__ import annotations

import json
import os

from fastapi.testclient import TestClient

from maps import build_gallery
from maps.site import mirror_run, sync_published_runs


def _run(workspace, year, run_id):
    run_dir = workspace / "runs" / str(year) / run_id
    (run_dir / "static").mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps({"run_id": run_id, "year": year}))
    for name in ("map.html", "report.html", "map_classes.png", "district_estimates.csv"):
        (run_dir / name).write_text(name)
    (run_dir / "static" / "leaflet.js").write_text("L")
    (run_dir / "classes.tif").write_bytes(b"\0" * 1000)  # working raster: not published
    (run_dir / "model.joblib").write_bytes(b"\0")
    return run_dir


def test_only_published_files_are_mirrored_as_links(tmp_path):
    run_dir = _run(tmp_path, 2025, "r")
    target = tmp_path / "published" / "runs" / "2025" / "r"
    assert mirror_run(run_dir, target) == 6
    mirrored = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert mirrored == [
        "district_estimates.csv", "manifest.json", "map.html", "map_classes.png",
        "report.html", "static/leaflet.js",
    ]  # fmt: skip
    assert os.path.samefile(target / "map.html", run_dir / "map.html")  # hard link, no copy
    assert mirror_run(run_dir, target) == 0  # nothing changed


def test_republished_and_removed_files_follow_the_run(tmp_path):
    run_dir = _run(tmp_path, 2025, "r")
    target = tmp_path / "published" / "runs" / "2025" / "r"
    mirror_run(run_dir, target)
    replacement = run_dir / ".tmp-map.html"  # how atomic writes replace a file: a new inode
    replacement.write_text("second version")
    os.replace(replacement, run_dir / "map.html")
    (run_dir / "map_classes.png").unlink()
    assert mirror_run(run_dir, target) == 1
    assert (target / "map.html").read_text() == "second version"
    assert not (target / "map_classes.png").exists()


def test_runs_that_are_gone_leave_the_site(tmp_path):
    keep, gone = _run(tmp_path, 2025, "keep"), _run(tmp_path, 2024, "gone")
    sync_published_runs(tmp_path, [keep, gone], "restricted")
    root = tmp_path / "published" / "restricted" / "runs"
    assert (root / "2024" / "gone" / "map.html").is_file()
    sync_published_runs(tmp_path, [keep], "restricted")
    assert not (root / "2024").exists() and (root / "2025" / "keep" / "map.html").is_file()


def test_web_service_serves_gallery_and_run_pages(tmp_path):
    """admon serve (web.app) serves the public site at / and the restricted one at
    /restricted/ with a reviewer token: every gallery link must answer there."""
    from web.app import create_app

    run_dir = _run(tmp_path, 2025, "r")
    (run_dir / "public" / "static").mkdir(parents=True)
    (run_dir / "public" / "map.html").write_text("public map")
    (run_dir / "public" / "static" / "leaflet.js").write_text("L")
    build_gallery(tmp_path)
    app = create_app(tmp_path)
    reviewer = {"Authorization": f"Bearer {app.state.store.create_token('wg', 'reviewer')}"}
    with TestClient(app) as client:
        index = client.get("/")
        assert index.status_code == 200 and 'href="runs/2025/r/map.html"' in index.text
        for path in ("/runs/2025/r/map.html", "/runs/2025/r/static/leaflet.js"):
            assert client.get(path).status_code == 200, path
        assert client.get("/runs/2025/r/map.html").text == "public map"
        assert client.get("/runs/2025/r/report.html").status_code == 404  # restricted only
        restricted = client.get("/restricted/", headers=reviewer)
        assert 'href="runs/2025/r/report.html"' in restricted.text
        for path in ("map.html", "report.html", "static/leaflet.js"):
            url = f"/restricted/runs/2025/r/{path}"
            assert client.get(url, headers=reviewer).status_code == 200, path
        assert (
            client.get("/restricted/runs/2025/r/classes.tif", headers=reviewer).status_code == 404
        )
