"""The store contract, run against both backends (GeoPackage file and PostGIS)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, box

from core.errors import InvalidInputError, NotFoundError
from models.store import TokenInfo, UploadResult, open_store


@pytest.fixture(autouse=True)
def _helpers(plot_loader, make_plots):
    """Bind the conftest helpers to module names (conftest is not importable here)."""
    global standin_load_plots, plot_features
    standin_load_plots, plot_features = plot_loader, make_plots


@pytest.fixture(params=["geopackage", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_target(request, tmp_path):
    """(url_or_path, workspace) of an empty store of each backend."""
    if request.param == "postgis":
        return request.getfixturevalue("postgis_url"), tmp_path
    return tmp_path / "store.gpkg", tmp_path


@pytest.fixture
def store(store_target):
    target, workspace = store_target
    with open_store(target, workspace=workspace, plot_loader=standin_load_plots) as opened:
        yield opened


def test_upload_stores_accepted_plots_and_reports_rejected_rows(store, tmp_path):
    raw = plot_features(5, bad_rows=(2, 5))

    result = store.ingest_upload(raw, "survey_plots.geojson", "team-a")

    assert isinstance(result, UploadResult)
    assert (result.accepted, result.rejected, result.duplicate) == (3, 2, False)
    assert [(e["row"], e["field"]) for e in result.errors] == [(2, "land_cover"), (5, "land_cover")]
    plots = store.get_plots()
    assert plots.crs.to_epsg() == 4326
    assert list(plots["plot_id"]) == ["P000", "P002", "P003"]
    assert set(plots["upload_id"]) == {result.upload_id}
    assert set(plots["uploaded_by"]) == {"team-a"}
    assert list(plots["year"]) == [2025, 2025, 2025]
    # P002 is the third feature: x = 98.02, y = 20.01, a 0.001-degree square
    assert plots.geometry.iloc[1].bounds == pytest.approx((98.02, 20.01, 98.021, 20.011))
    assert plots["measured_area_ha"].tolist() == pytest.approx([0.11, 0.13, 0.14])


def test_upload_record_keeps_who_when_what_and_the_raw_file(store, tmp_path):
    raw = plot_features(2, bad_rows=(2,))
    result = store.ingest_upload(raw, "../../etc/plots.geojson", "team-b")

    upload = store.get_upload(result.upload_id)

    sha = hashlib.sha256(raw).hexdigest()
    assert upload["sha256"] == sha
    assert upload["team"] == "team-b"
    assert upload["filename"] == "plots.geojson"  # the client's path is never trusted
    assert (upload["accepted"], upload["rejected"], upload["size_bytes"]) == (1, 1, len(raw))
    assert upload["received_at"].endswith("Z")
    assert upload["report"]["rejected"] == 1
    saved = tmp_path / "uploads" / sha[:2] / sha / "plots.geojson"
    assert upload["raw_path"] == saved.relative_to(tmp_path).as_posix()
    assert saved.read_bytes() == raw


def test_same_content_twice_is_stored_once_and_returns_the_first_id(store):
    raw = plot_features(4)
    first = store.ingest_upload(raw, "a.geojson", "team-a")
    again = store.ingest_upload(raw, "renamed.geojson", "team-a")

    assert again.duplicate and not first.duplicate
    assert again.upload_id == first.upload_id
    assert (again.accepted, again.rejected) == (4, 0)
    assert len(store.get_plots()) == 4
    assert len(store.list_uploads()) == 1


def test_another_teams_copy_is_recorded_for_that_team_without_a_second_set_of_plots(store):
    raw = plot_features(4)
    first = store.ingest_upload(raw, "a.geojson", "team-a")
    theirs = store.ingest_upload(raw, "renamed.geojson", "team-c")

    assert theirs.duplicate and theirs.upload_id != first.upload_id
    record = store.get_upload(theirs.upload_id)
    assert (record["team"], record["status"], record["duplicate_of"]) == (
        "team-c",
        "duplicate",
        first.upload_id,
    )
    assert len(store.get_plots()) == 4
    assert sorted(store.list_uploads()["team"]) == ["team-a", "team-c"]


def test_a_teams_copy_of_anothers_file_sent_twice_at_once_is_recorded_once(store, monkeypatch):
    """Both requests pass the "not yet mine" check before either commits; the loser reports."""
    raw = plot_features(2)
    store.ingest_upload(raw, "a.geojson", "team-a")
    winner = store.ingest_upload(raw, "b.geojson", "team-c")
    lookup = store._upload_row
    raced = []

    def before_the_winner_committed(*, sha256, team=None):
        if team == "team-c" and not raced:
            raced.append(True)
            return None
        return lookup(sha256=sha256, team=team)

    monkeypatch.setattr(store, "_upload_row", before_the_winner_committed)
    loser = store.ingest_upload(raw, "b-again.geojson", "team-c")

    assert raced and loser.duplicate and loser.upload_id == winner.upload_id
    assert sorted(store.list_uploads()["team"]) == ["team-a", "team-c"]


def test_a_failure_midway_stores_nothing(store, monkeypatch):
    raw = plot_features(6)
    original = store._insert_plots

    def fail_after_half(conn, rows):
        original(conn, rows[:3])  # these rows reach the database, then the write dies
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_insert_plots", fail_after_half)
    with pytest.raises(RuntimeError, match="disk full"):
        store.ingest_upload(raw, "plots.geojson", "team-a")

    assert len(store.get_plots()) == 0
    assert store.list_uploads().empty
    monkeypatch.undo()
    retried = store.ingest_upload(raw, "plots.geojson", "team-a")
    assert (retried.accepted, retried.duplicate) == (6, False)
    assert len(store.get_plots()) == 6


def test_an_upload_with_nothing_valid_is_recorded_as_rejected(store):
    result = store.ingest_upload(plot_features(2, bad_rows=(1, 2)), "bad.geojson", "team-a")

    assert (result.accepted, result.rejected) == (0, 2)
    assert store.get_upload(result.upload_id)["status"] == "rejected"
    assert store.get_plots().empty


def test_an_unreadable_file_raises_stores_nothing_but_keeps_the_bytes(store, tmp_path):
    raw = b"this is not geojson"
    with pytest.raises(InvalidInputError, match="notes.geojson"):
        store.ingest_upload(raw, "notes.geojson", "team-a")

    assert store.list_uploads().empty
    sha = hashlib.sha256(raw).hexdigest()
    assert (tmp_path / "uploads" / sha[:2] / sha / "notes.geojson").read_bytes() == raw


def test_a_hostile_archive_is_refused_before_parsing(store):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../outside.geojson", plot_features(1))
    with pytest.raises(InvalidInputError, match="outside the archive"):
        store.ingest_upload(buffer.getvalue(), "export.zip", "team-a")
    assert store.list_uploads().empty


def test_get_upload_of_an_unknown_id_raises_not_found(store):
    with pytest.raises(NotFoundError, match="nope"):
        store.get_upload("nope")


def test_get_plots_filters_by_year_and_team(store):
    store.ingest_upload(
        plot_features(2, prefix="A"), "a.geojson", "team-a", season=("2023-09-01", "2024-04-30")
    )
    store.ingest_upload(plot_features(3, prefix="B"), "b.geojson", "team-b")

    assert list(store.get_plots(year=2024)["plot_id"]) == ["A000", "A001"]
    assert list(store.get_plots(year=2025)["plot_id"]) == ["B000", "B001", "B002"]
    assert list(store.get_plots(team="team-b")["plot_id"]) == ["B000", "B001", "B002"]
    assert store.get_plots(year=2030).empty


def test_twenty_concurrent_uploads_lose_and_duplicate_nothing(store):
    # 16 distinct files plus the same file sent 4 times at once
    payloads = [plot_features(3 + i % 4, prefix=f"T{i:02d}-") for i in range(16)]
    repeated = plot_features(5, prefix="SAME-")
    jobs = [(p, f"t{i}.geojson") for i, p in enumerate(payloads)] + [(repeated, "same.geojson")] * 4
    start = threading.Barrier(len(jobs))

    def upload(job):
        start.wait()
        return store.ingest_upload(job[0], job[1], "team-a")

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(upload, jobs))

    expected_plots = sum(3 + i % 4 for i in range(16)) + 5
    plots = store.get_plots()
    assert len(plots) == expected_plots
    assert plots["plot_id"].is_unique
    same = results[16:]
    assert len({r.upload_id for r in same}) == 1
    assert sum(not r.duplicate for r in same) == 1
    assert len(store.list_uploads()) == 17


def _upload_in_child(target, workspace, payloads, queue):
    with open_store(target, workspace=workspace, plot_loader=standin_load_plots) as child_store:
        for i, raw in enumerate(payloads):
            result = child_store.ingest_upload(raw, f"p{i}.geojson", "team-p")
            queue.put((result.upload_id, result.accepted, result.duplicate))


def test_uploads_from_several_processes_lose_and_duplicate_nothing(store_target):
    target, workspace = store_target
    open_store(target, workspace=workspace, plot_loader=standin_load_plots).close()
    shared = plot_features(2, prefix="SHARED-")
    batches = [
        [plot_features(2, prefix=f"W{w}-{k}-") for k in range(4)] + [shared] for w in range(4)
    ]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [
        context.Process(target=_upload_in_child, args=(target, workspace, b, queue))
        for b in batches
    ]
    for worker in workers:
        worker.start()
    outcomes = [queue.get(timeout=120) for _ in range(sum(len(b) for b in batches))]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    with open_store(target, workspace=workspace, plot_loader=standin_load_plots) as check:
        assert len(check.get_plots()) == 4 * 4 * 2 + 2
        assert len(check.list_uploads()) == 17
    assert sum(not duplicate for _, _, duplicate in outcomes) == 17


def test_districts_round_trip_in_their_own_crs(store):
    districts = gpd.GeoDataFrame(
        {"district_id": ["D01", "D02"], "district_name": ["Hopong", "Loilem"], "pop": [12, 7]},
        geometry=[box(400000, 2300000, 410000, 2310000), box(410000, 2300000, 425000, 2310000)],
        crs="EPSG:32647",
    )
    store.put_districts(districts)
    store.put_districts(districts)  # replaces, does not append

    back = store.get_districts()
    assert back.crs.to_epsg() == 32647
    assert list(back["district_id"]) == ["D01", "D02"]
    assert list(back["pop"]) == [12, 7]
    assert back.geometry.area.tolist() == pytest.approx([1e8, 1.5e8])


def test_districts_need_ids_and_a_crs(store):
    with pytest.raises(InvalidInputError, match="district_id"):
        store.put_districts(gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=4326))
    with pytest.raises(InvalidInputError, match="no CRS"):
        store.put_districts(gpd.GeoDataFrame({"district_id": ["x"]}, geometry=[box(0, 0, 1, 1)]))


def test_programmes_round_trip_with_and_without_geometry(store):
    table = pd.DataFrame(
        {
            "programme_id": ["AD-1", "AD-2"],
            "district_id": ["D01", "D02"],
            "baseline_year": [2020, 2021],
            "baseline_poppy_ha": [120.5, np.nan],
        }
    )
    store.put_programmes(table)
    back = store.get_programmes()
    assert not isinstance(back, gpd.GeoDataFrame)
    assert back["baseline_year"].tolist() == [2020, 2021]
    assert back["baseline_poppy_ha"].iloc[0] == 120.5 and pd.isna(back["baseline_poppy_ha"].iloc[1])

    located = gpd.GeoDataFrame(table, geometry=[Point(97.5, 20.8), Point(97.9, 21.1)], crs=4326)
    store.put_programmes(located)
    back = store.get_programmes()
    assert isinstance(back, gpd.GeoDataFrame) and back.crs.to_epsg() == 4326
    assert len(back) == 2 and back.geometry.iloc[1].equals(Point(97.9, 21.1))


def _estimates(year: int, poppy_ha: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "district_id": ["D01", "D01"],
            "district_name": ["Hopong", "Hopong"],
            "year": [year, year],
            "crop": ["opium_poppy", "cannabis"],
            "area_ha": [poppy_ha, 12.0],
            "ci_low_ha": [poppy_ha - 10, 2.0],
            "ci_high_ha": [poppy_ha + 10, 22.0],
            "method": ["stratified", "stratified"],
            "n_reference": [40, 40],
            "se_ha": [5.1, 5.1],
            "map_area_ha": [poppy_ha + 3, 15.0],
        }
    )


def test_estimates_default_to_the_latest_run_of_each_year(store):
    store.put_estimates(_estimates(2024, 100.0), run_id="r2024a")
    store.put_estimates(_estimates(2025, 80.0), run_id="r2025a")
    store.put_estimates(_estimates(2024, 90.0), run_id="r2024b")

    latest = store.get_estimates()
    assert sorted(zip(latest["year"], latest["run_id"], strict=True)) == [
        (2024, "r2024b"),
        (2024, "r2024b"),
        (2025, "r2025a"),
        (2025, "r2025a"),
    ]
    poppy_2024 = store.get_estimates(year=2024, crop="opium_poppy")
    assert poppy_2024["area_ha"].tolist() == [90.0]
    assert store.get_estimates(run_id="r2024a", crop="opium_poppy")["area_ha"].tolist() == [100.0]
    assert list(latest.columns[:9]) == list(_estimates(2024, 1).columns[:9])

    store.put_estimates(_estimates(2024, 70.0), run_id="r2024a")  # a rerun replaces its rows
    assert len(store.get_estimates(run_id="r2024a")) == 2
    assert store.get_estimates(year=2024, crop="opium_poppy")["area_ha"].tolist() == [70.0]
    assert store.get_estimates(year=1999).empty


def test_programme_series_spans_runs(store):
    def change(year, pct):
        return pd.DataFrame(
            {"programme_id": ["AD-1", "AD-2"], "year": [year, year], "change_pct": [pct, -pct]}
        )

    store.put_programme_change(change(2024, -10.0), run_id="a")
    store.put_programme_change(change(2025, -25.0), run_id="b")
    store.put_programme_change(change(2025, -30.0), run_id="c")

    series = store.get_programme_series("AD-1")
    assert series[["year", "change_pct", "run_id"]].values.tolist() == [
        [2024, -10.0, "a"],
        [2025, -30.0, "c"],
    ]
    assert len(store.get_programme_series()) == 4


def test_tokens_verify_and_only_their_hash_is_stored(store, store_target):
    token = store.create_token("team-a", "uploader")
    reviewer = store.create_token("ministry", "reviewer")

    assert store.verify_token(token) == TokenInfo("team-a", "uploader")
    assert store.verify_token(token).may_upload
    assert not store.verify_token(reviewer).may_upload
    assert store.verify_token(token + "x") is None
    assert store.verify_token("") is None
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT token_sha256, team, role FROM tokens").all()
    stored = {r[0] for r in rows}
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in json.dumps([list(r) for r in rows])
    if store.backend == "geopackage":
        assert token.encode() not in store_target[0].read_bytes()


def test_token_roles_are_checked(store):
    with pytest.raises(InvalidInputError, match="superuser"):
        store.create_token("team-a", "superuser")
    with pytest.raises(InvalidInputError, match="team"):
        store.create_token(" ", "admin")


# -- GeoPackage specifics ------------------------------------------------------------


@pytest.fixture
def gpkg_store(tmp_path):
    with open_store(tmp_path, plot_loader=standin_load_plots) as opened:
        yield opened


def test_the_geopackage_opens_as_layers_in_gdal(gpkg_store):
    gpkg_store.ingest_upload(plot_features(3), "p.geojson", "team-a")
    districts = gpd.GeoDataFrame(
        {"district_id": ["D01"]}, geometry=[box(400000, 2300000, 410000, 2310000)], crs=32647
    )
    gpkg_store.put_districts(districts)
    path = gpkg_store.path

    plots = pyogrio.read_dataframe(path, layer="survey_plots")
    assert plots.crs.to_epsg() == 4326
    assert list(plots["plot_id"]) == ["P000", "P001", "P002"]
    assert shapely.equals(plots.geometry.values, gpkg_store.get_plots().geometry.values).all()
    assert plots["measured_area_ha"].dtype == "float64"  # DOUBLE, not GeoPackage's 32-bit FLOAT
    assert plots["measured_area_ha"].tolist() == [0.11, 0.12, 0.13]
    assert pyogrio.read_dataframe(path, layer="districts").crs.to_epsg() == 32647
    # gpkg_contents carries each layer's extent (what QGIS zooms to): plots P000..P002 span
    # x 98.00..98.021, y 20.00..20.011 (see plot_features); districts their one square
    with sqlite3.connect(path) as conn:
        extents = dict(
            (row[0], row[1:])
            for row in conn.execute(
                "SELECT table_name, min_x, min_y, max_x, max_y FROM gpkg_contents"
            )
        )
    assert extents["survey_plots"] == pytest.approx((98.0, 20.0, 98.021, 20.011))
    assert extents["districts"] == (400000, 2300000, 410000, 2310000)
    gpkg_store.ingest_upload(plot_features(1, prefix="E", lon0=99.5), "e.geojson", "team-a")
    with sqlite3.connect(path) as conn:
        grown = conn.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'survey_plots'"
        ).fetchone()
    assert grown == pytest.approx((98.0, 20.0, 99.501, 20.011))
    layers = dict(pyogrio.list_layers(path))
    assert {"survey_plots", "districts", "uploads", "estimates"} <= set(layers)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47


def test_open_store_defaults_to_store_gpkg_in_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("ADMON_WORKSPACE", str(tmp_path / "ws"))
    with open_store() as default:
        assert default.path == tmp_path / "ws" / "store.gpkg"
    with open_store(tmp_path / "other") as by_folder:
        assert by_folder.path == tmp_path / "other" / "store.gpkg"


def test_concurrent_replacements_of_one_run_leave_one_copy(store, monkeypatch):
    start = threading.Barrier(6)
    lock = store._lock_for_replace

    def lock_then_linger(conn, table):
        lock(conn, table)
        time.sleep(0.05)  # widen the delete-then-insert window so unlocked writers would collide

    monkeypatch.setattr(store, "_lock_for_replace", lock_then_linger)

    def put(k):
        start.wait()
        store.put_estimates(_estimates(2025, 10.0 * (k + 1)), run_id="same-run")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(put, range(6)))

    stored = store.get_estimates(run_id="same-run")
    assert len(stored) == 2  # one writer's two rows, not a mix or a sum of them
    assert stored["area_ha"].iloc[0] in {10.0 * (k + 1) for k in range(6)}


def test_stored_plots_keep_the_survey_plot_schema(tmp_path):
    """Through the real reader: what get_plots returns passes models.schema.PLOT_SCHEMA."""
    survey = pytest.importorskip("models.survey")
    from models.schema import PLOT_SCHEMA

    export = tmp_path / "plots.csv"
    export.write_text(
        "plot_id,crop,status,survey_date,team,longitude,latitude,gps_accuracy_m\n"
        "SHN-001,poppy,cultivated,2025-01-14,team-a,97.1012,20.2034,3.0\n"
        "SHN-002,cannabis,eradicated,2025-01-15,team-a,97.2531,20.1517,3.5\n",
        encoding="utf-8",
    )
    direct, _ = survey.load_plots(export)
    with open_store(tmp_path / "store.gpkg") as store:
        store.ingest_upload(export.read_bytes(), "plots.csv", "team-a")
        stored = store.get_plots()

    PLOT_SCHEMA.validate(stored)
    assert list(stored["plot_id"]) == list(direct["plot_id"])
    assert shapely.equals(stored.geometry.values, direct.geometry.values).all()
    assert stored["survey_date"].tolist() == direct["survey_date"].tolist()


def test_tables_come_back_with_their_dtypes_and_column_order(store):
    import datetime as dt

    programmes = gpd.GeoDataFrame(
        {
            "programme_id": ["AD-001", "AD-003"],
            "start_date": [dt.date(2024, 1, 15), dt.date(2025, 3, 1)],
            "end_date": [dt.date(2028, 12, 31), None],
            "district_ids": [["D01", "D02"], ["D04"]],
            "baseline_year": pd.array([2024, pd.NA], dtype="Int64"),
            "households": [1850.0, np.nan],
            "active": [True, False],
            "reviewed_at": pd.to_datetime(["2025-02-01 10:30", "2025-02-03 08:00"]),
            "synced_at": pd.to_datetime(["2025-02-01 10:30", "2025-02-03 08:00"]).tz_localize(
                "Asia/Yangon"
            ),
            "n_villages": np.array([12, 7], dtype="int64"),
        },
        geometry=[box(98.9, 20.9, 99.0, 20.98), box(99.1, 20.85, 99.16, 20.9)],
        crs=4326,
    )
    store.put_programmes(programmes)

    back = store.get_programmes()

    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")),
        pd.DataFrame(programmes.drop(columns="geometry")),
        check_dtype=True,
    )
    assert back.geometry.geom_equals(programmes.geometry).all()


def test_a_file_that_is_not_a_geopackage_is_a_store_error(tmp_path):
    from core.errors import StoreError

    notes = tmp_path / "store.gpkg"
    notes.write_text("field notes, not a database\n" * 100, encoding="utf-8")
    with pytest.raises(StoreError, match="store.gpkg: cannot open or create"):
        open_store(notes)


def test_an_unreachable_postgis_server_is_a_store_error(tmp_path):
    import socket

    from core.errors import StoreError

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError, match="cannot open the PostGIS store") as error:
        open_store(f"postgresql://admon:secret@127.0.0.1:{port}/admon", workspace=tmp_path)
    assert "secret" not in str(error.value)  # the password never reaches a message or log
