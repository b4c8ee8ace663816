"""The gallery page: every run with a manifest, newest first, relative links."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInputError
from maps import build_gallery, list_runs


def _run(workspace, year, run_id, created, files=("map.html", "thumbnail.png"), **extra):
    run_dir = workspace / "runs" / str(year) / run_id
    run_dir.mkdir(parents=True)
    manifest = {"run_id": run_id, "year": year, "created": created, **extra}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    for name in files:
        (run_dir / name).write_text("x")
    return run_dir


def test_runs_are_listed_by_year_then_creation_newest_first(tmp_path):
    _run(tmp_path, 2023, "old", "2023-04-01T00:00:00")
    _run(tmp_path, 2025, "early", "2025-03-01T00:00:00")
    _run(tmp_path, 2025, "late", "2025-09-01T00:00:00")
    _run(tmp_path, 2024, "mid", "2024-04-01T00:00:00")
    (tmp_path / "runs" / "2025" / "no-manifest").mkdir()  # a run that died before its manifest
    assert [e["run_id"] for e in list_runs(tmp_path)] == ["late", "early", "mid", "old"]


def test_page_links_are_relative_and_only_to_existing_files(tmp_path):
    _run(tmp_path, 2025, "r1", "2025-03-01", files=("map.html", "report.html", "thumbnail.png"))
    _run(tmp_path, 2024, "r0", "2024-03-01", files=())
    page = build_gallery(tmp_path)
    assert page == tmp_path / "published" / "public" / "index.html"
    text = (tmp_path / "published" / "restricted" / "index.html").read_text()
    assert str(tmp_path) not in text  # copies of the workspace browse as they are
    assert 'href="runs/2025/r1/map.html"' in text
    assert 'href="runs/2025/r1/report.html"' in text
    assert 'src="runs/2025/r1/thumbnail.png"' in text
    assert "runs/2024/r0/map.html" not in text and "not published yet" in text
    for name in ("map.html", "report.html", "thumbnail.png", "manifest.json"):
        assert (tmp_path / "published" / "restricted" / "runs" / "2025" / "r1" / name).is_file()
    assert text.index('id="year-2025"') < text.index('id="year-2024"')


def test_synthetic_flag_and_summary_come_from_the_publish_record(tmp_path):
    run_dir = _run(tmp_path, 2025, "demo", "2025-03-01")
    record = {"synthetic": True, "summary": ["Opium poppy: 210 ha (95% 191–229)"]}
    (run_dir / "publish.json").write_text(json.dumps(record))
    _run(tmp_path, 2024, "real", "2024-03-01")
    build_gallery(tmp_path)
    text = (tmp_path / "published" / "restricted" / "index.html").read_text()
    # the demo run's card and the front page (which shows the newest run, the demo)
    cards = text[text.index('id="all-runs"') :]
    assert cards.count('class="tag">SYNTHETIC') == 1
    assert text[: text.index('id="all-runs"')].count('class="tag">SYNTHETIC') == 1
    assert "Opium poppy: 210 ha (95% 191–229)" in text


def test_empty_workspace_says_how_to_make_a_run(tmp_path):
    text = build_gallery(tmp_path).read_text()
    assert "0 runs" in text and "admon demo" in text


def test_broken_manifest_is_named(tmp_path):
    run_dir = _run(tmp_path, 2025, "bad", "2025-03-01")
    (run_dir / "manifest.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match=r"runs/2025/bad/manifest.json: not valid JSON"):
        build_gallery(tmp_path)


def test_year_falls_back_to_the_folder_and_must_be_a_number(tmp_path):
    run_dir = tmp_path / "runs" / "2022" / "r"
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps({"run_id": "r"}))
    assert list_runs(tmp_path)[0]["year"] == 2022
    other = tmp_path / "runs" / "latest" / "s"
    other.mkdir(parents=True)
    (other / "manifest.json").write_text(json.dumps({"run_id": "s"}))
    with pytest.raises(InvalidInputError, match="'latest' is not a number"):
        list_runs(tmp_path)


def test_the_public_gallery_links_only_each_runs_public_set(tmp_path):
    run_dir = _run(tmp_path, 2025, "r1", "2025-03-01", files=("map.html", "report.html"))
    (run_dir / "public").mkdir()
    (run_dir / "public" / "map.html").write_text("public map")
    public = build_gallery(tmp_path).read_text()
    assert 'href="runs/2025/r1/map.html"' in public and "runs/2025/r1/report.html" not in public
    site = tmp_path / "published" / "public" / "runs" / "2025" / "r1"
    assert sorted(p.name for p in site.iterdir()) == ["map.html"]
    assert (site / "map.html").read_text() == "public map"
    assert "Public site" in public


def test_the_old_single_site_is_removed_not_left_for_a_web_server(tmp_path):
    old = tmp_path / "published" / "runs" / "2025" / "r1"
    old.mkdir(parents=True)
    (old / "map.html").write_text("plots of every team")
    (tmp_path / "published" / "index.html").write_text("old gallery")
    build_gallery(tmp_path)
    assert not (tmp_path / "published" / "runs").exists()
    assert not (tmp_path / "published" / "index.html").exists()
