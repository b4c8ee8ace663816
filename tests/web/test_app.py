"""The HTTP service through FastAPI's TestClient: every status, every format, hostile input."""

from __future__ import annotations

import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from models.store import UploadLimits, open_store
from web.app import create_app

FORMATS = [
    "kobo_export.csv",
    "odk_central_export.csv",
    "plots.geojson",
    "plots.kml",
    "plots.kmz",
    "plots_shapefile.zip",
    "plots.gpkg",
]


@pytest.mark.parametrize("name", FORMATS)
def test_each_export_format_is_stored_with_a_row_report(
    name, exports, upload, open_store_for, fieldkit
):
    response = upload(name, exports[name])

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["duplicate"]) == (2, 1, False)
    assert [e["row"] for e in body["errors"]] == [2]
    assert body["errors"][0]["field"].lower().endswith("crop")
    assert "banana" in body["errors"][0]["message"]
    assert response.headers["location"] == f"/api/v1/uploads/{body['upload_id']}"
    with open_store_for() as store:
        plots = store.get_plots()
    assert list(plots["plot_id"]) == fieldkit.ACCEPTED_IDS
    assert list(plots["crop"]) == ["opium_poppy", "cannabis"]
    assert set(plots["upload_id"]) == {body["upload_id"]}
    # the south-west corner of each stored field is where the export put it (lon, lat),
    # whichever axis order the format uses (ODK/Kobo geoshapes are latitude first)
    corners = [(round(g.bounds[0], 6), round(g.bounds[1], 6)) for g in plots.geometry]
    assert corners == [(97.1012, 20.2034), (97.153, 20.2521)]


def test_the_same_file_again_answers_200_with_the_first_id(upload, exports, open_store_for):
    first = upload("kobo_export.csv", exports["kobo_export.csv"])
    again = upload("copy-of-kobo.csv", exports["kobo_export.csv"])

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["upload_id"] == first.json()["upload_id"]
    assert again.json()["duplicate"] is True
    with open_store_for() as store:
        assert len(store.get_plots()) == 2


def test_no_token_or_an_unknown_token_is_401(client, exports):
    files = {"file": ("plots.geojson", exports["plots.geojson"])}
    missing = client.post("/api/v1/uploads", files=files)
    wrong = client.post("/api/v1/uploads", files=files, headers={"Authorization": "Bearer nope"})
    basic = client.post("/api/v1/uploads", files=files, headers={"Authorization": "Basic YTpi"})

    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert "admon token create" in missing.json()["detail"]


def test_a_reviewer_token_may_read_but_not_upload(upload, exports, client, tokens):
    refused = upload("plots.geojson", exports["plots.geojson"], role="reviewer")
    assert refused.status_code == 403
    assert "reviewer" in refused.json()["detail"]

    stored = upload("plots.geojson", exports["plots.geojson"])
    read = client.get(f"/api/v1/uploads/{stored.json()['upload_id']}", headers=tokens["reviewer"])
    assert read.status_code == 200
    assert read.json()["team"] == "team-a"


def test_get_upload_returns_the_stored_report(upload, exports, app, client, tokens):
    upload_id = upload("plots.kml", exports["plots.kml"]).json()["upload_id"]

    record = client.get(f"/api/v1/uploads/{upload_id}", headers=tokens["uploader"]).json()

    assert record["filename"] == "plots.kml"
    assert (record["accepted"], record["rejected"]) == (2, 1)
    assert record["report"]["total_rows"] == 3
    assert record["report"]["errors"][0]["row"] == 2
    assert len(record["sha256"]) == 64
    other_team = client.get(f"/api/v1/uploads/{upload_id}", headers=tokens["other_uploader"])
    assert other_team.status_code == 403
    # an interpreter labels the reference sample and reads nobody's uploads
    interpreter_token = app.state.store.create_token("team-a", "interpreter")
    interpreter = {"Authorization": f"Bearer {interpreter_token}"}
    as_interpreter = client.get(f"/api/v1/uploads/{upload_id}", headers=interpreter)
    assert as_interpreter.status_code == 403
    assert "team-a" not in as_interpreter.text and "plots.kml" not in as_interpreter.text
    assert client.get(f"/api/v1/uploads/{upload_id}").status_code == 401
    missing = client.get("/api/v1/uploads/" + "0" * 32, headers=tokens["admin"])
    assert missing.status_code == 404
    assert "raw_path" not in record  # where the server keeps files is not the caller's business


def test_nothing_valid_is_422_with_the_report(upload, fieldkit, open_store_for):
    bad = [p for p in fieldkit.PLOTS if p.crop == "banana"]
    response = upload("only_bad.geojson", fieldkit.geojson(bad))

    assert response.status_code == 422
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (0, 1)
    assert body["report"]["errors"][0]["row"] == 1
    with open_store_for() as store:
        assert store.get_plots().empty


def test_strict_mode_refuses_a_file_with_any_bad_row(upload, exports, open_store_for):
    response = upload("kobo_export.csv", exports["kobo_export.csv"], strict="true")

    assert response.status_code == 422
    assert "strict" in response.json()["detail"]
    assert response.json()["report"]["rejected"] == 1
    with open_store_for() as store:
        assert store.get_plots().empty


def test_unsupported_type_is_415(upload):
    response = upload("plots.docx", b"PK\x03\x04 not really a document")
    assert response.status_code == 415
    assert "not a supported field data format" in response.json()["detail"]


def test_missing_file_field_is_422(client, tokens):
    response = client.post("/api/v1/uploads", data={"note": "x"}, headers=tokens["uploader"])
    assert response.status_code == 422
    assert "'file'" in response.json()["detail"]


def test_a_malformed_multipart_body_is_400(client, tokens):
    response = client.post(
        "/api/v1/uploads",
        content=b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\nno end",
        headers={**tokens["uploader"], "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert 400 <= response.status_code < 500
    assert client.get("/healthz").status_code == 200


def test_too_large_is_413_and_the_service_still_answers(upload, client):
    response = upload("big.csv", b"x" * (3 * 1024 * 1024))  # limit 2 MB in the fixture

    assert response.status_code == 413
    assert "limit of 2097152 bytes" in response.json()["detail"]
    assert client.get("/healthz").json()["status"] == "ok"


def test_an_upload_without_content_length_is_411(client, tokens):
    def chunks():
        yield b"--x\r\n"

    response = client.post(
        "/api/v1/uploads",
        content=chunks(),
        headers={**tokens["uploader"], "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 411


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _zip_bomb(member: str, megabytes: int) -> bytes:
    """A zip whose one member is ``megabytes`` MB of zeros (about 1000:1), written in chunks."""
    buffer = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(member, "w", force_zip64=True) as fh:
            for _ in range(megabytes):
                fh.write(zeros)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_and_the_service_still_answers(upload, client, workspace):
    bomb = _zip_bomb("plots.shp", 64)
    assert len(bomb) < 2 * 1024 * 1024 // 10  # far under the 2 MB upload limit

    response = upload("plots_shapefile.zip", bomb)

    assert response.status_code == 413
    assert "zip bomb" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200
    assert not list(workspace.rglob("plots.shp"))  # nothing was extracted


def test_archive_members_leaving_the_folder_are_refused(upload, exports):
    response = upload("plots.kmz", _zip({"../../../tmp/doc.kml": exports["plots.kml"]}))
    assert response.status_code == 422
    assert "outside the archive" in response.json()["detail"]


def test_kml_entity_expansion_is_refused(upload, client):
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;'
        b'&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
        b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&c;</name></Document></kml>'
    )
    response = upload("plots.kml", laughs)

    assert response.status_code == 422
    assert "DTD" in response.json()["detail"] or "entit" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200


def test_text_that_is_not_utf8_is_refused_naming_the_line(upload, fieldkit):
    text = fieldkit.kobo_csv().decode("utf-8").replace("shan_enum", "Gérard", 1)
    response = upload("kobo_export.csv", text.encode("cp1252"))

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "line 2" in detail and "UTF-8" in detail


@pytest.mark.parametrize("name", ["kobo_export.csv", "plots.geojson"])
def test_too_many_rows_are_refused(tmp_path, fieldkit, name):
    workspace = tmp_path / "ws"
    store = open_store(
        workspace / "store.gpkg", workspace=workspace, limits=UploadLimits(max_rows=5)
    )
    app = create_app(workspace, store=store)
    token = store.create_token("team-a", "uploader")
    plots = [
        fieldkit.FieldPlot(f"P{i}", "poppy", "cultivated", "2025-01-14", "team-a", 97 + i / 100, 20)
        for i in range(8)
    ]
    content = fieldkit.kobo_csv(plots) if name.endswith(".csv") else fieldkit.geojson(plots)
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/uploads",
            files={"file": (name, content)},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 422
    assert "8" in response.json()["detail"] and "5" in response.json()["detail"]
    assert store.get_plots().empty
    store.close()


def test_twenty_concurrent_uploads_through_the_service(client, tokens, fieldkit, open_store_for):
    def export(k):
        return fieldkit.geojson(
            [
                fieldkit.FieldPlot(f"C{k:02d}-{j}", "poppy", "cultivated", "2025-01-14", "t",
                                   96.5 + k / 50 + j / 1000, 20.5)
                for j in range(3)
            ]
        )  # fmt: skip

    payloads = [export(k) for k in range(17)] + [export(99)] * 3
    start = threading.Barrier(len(payloads))

    def send(k):
        start.wait()
        return client.post(
            "/api/v1/uploads",
            files={"file": (f"c{k}.geojson", payloads[k])},
            headers=tokens["uploader"],
        )

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        responses = list(pool.map(send, range(len(payloads))))

    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200] + [201] * 18
    assert len({r.json()["upload_id"] for r in responses[17:]}) == 1
    with open_store_for() as store:
        plots = store.get_plots()
        assert len(plots) == 18 * 3 and plots["plot_id"].is_unique
        assert len(store.list_uploads()) == 18


def test_on_upload_runs_after_new_uploads_and_its_failure_is_harmless(tmp_path, fieldkit):
    seen = []

    def hook(result):
        seen.append(result.upload_id)
        raise RuntimeError("prefect is down")

    app = create_app(tmp_path / "ws", on_upload=hook)
    headers = {"Authorization": f"Bearer {app.state.store.create_token('team-a', 'uploader')}"}
    with TestClient(app) as client:
        first = client.post(
            "/api/v1/uploads", files={"file": ("p.geojson", fieldkit.geojson())}, headers=headers
        )
        again = client.post(
            "/api/v1/uploads", files={"file": ("p.geojson", fieldkit.geojson())}, headers=headers
        )
    assert (first.status_code, again.status_code) == (201, 200)
    assert seen == [first.json()["upload_id"]]  # not called for the repeat
    app.state.store.close()


def test_estimates_api_serves_the_latest_run(client, app):
    store = app.state.store
    base = {
        "district_id": "D01",
        "district_name": "Hopong",
        "crop": "opium_poppy",
        "ci_low_ha": 1.0,
        "ci_high_ha": 9.0,
        "method": "stratified",
        "n_reference": 30,
    }
    store.put_estimates(pd.DataFrame([{**base, "year": 2024, "area_ha": 5.0}]), "run-a")
    store.put_estimates(pd.DataFrame([{**base, "year": 2024, "area_ha": 6.5}]), "run-b")
    store.put_estimates(pd.DataFrame([{**base, "year": 2025, "area_ha": 4.0}]), "run-c")

    rows = client.get("/api/v1/estimates", params={"year": 2024}).json()
    assert [(r["run_id"], r["area_ha"]) for r in rows] == [("run-b", 6.5)]
    assert len(client.get("/api/v1/estimates").json()) == 2
    assert client.get("/api/v1/estimates", params={"crop": "cannabis"}).json() == []
    assert rows[0]["synthetic"] is False and "data_note" not in rows[0]


def test_estimates_api_marks_synthetic_runs_and_rounds_hectares(client, app, tmp_path):
    import json

    store = app.state.store
    row = {
        "district_id": "D01",
        "district_name": "Hopong",
        "crop": "opium_poppy",
        "year": 2025,
        "area_ha": 7.22416666666655,
        "ci_low_ha": 1.0,
        "ci_high_ha": 13.448333333,
        "method": "stratified",
        "n_reference": 30,
    }
    store.put_estimates(pd.DataFrame([row]), "2025-demo")
    run_dir = app.state.workspace / "runs" / "2025" / "2025-demo"
    run_dir.mkdir(parents=True)
    record = {"run_id": "2025-demo", "synthetic": True, "survey_name": "Demo region"}
    (run_dir / "publish.json").write_text(json.dumps(record))
    (got,) = client.get("/api/v1/estimates", params={"year": 2025}).json()
    assert (got["area_ha"], got["ci_high_ha"]) == (7.2, 13.4)
    assert got["synthetic"] is True and got["survey"] == "Demo region"
    assert got["run_id"] == "2025-demo" and "SYNTHETIC" in got["data_note"]


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok", "store": "geopackage"}


def test_home_page_says_how_to_publish_until_a_run_is_published(client, workspace):
    before = client.get("/")
    assert before.status_code == 200 and "admon demo" in before.text

    published = workspace / "published" / "public"
    (published / "runs").mkdir(parents=True)
    (published / "index.html").write_text("<h1>Gallery</h1>", encoding="utf-8")
    (published / "runs" / "map.html").write_text("<p>map</p>", encoding="utf-8")
    (published.parent / "store-copy.txt").write_text("not public", encoding="utf-8")
    assert client.get("/").text == "<h1>Gallery</h1>"
    assert client.get("/..%2Fstore-copy.txt").status_code == 404
    assert client.get("/runs/map.html").text == "<p>map</p>"
    assert client.get("/runs/missing.html").status_code == 404
    assert client.get("/..%2Fstore.gpkg").status_code == 404


def test_upload_page_has_the_form_and_its_script(client):
    page = client.get("/upload")
    assert page.status_code == 200
    assert 'type="file"' in page.text and 'id="session"' in page.text
    assert 'id="token"' not in page.text  # the token is typed on /login, never into a script
    script = client.get("/static/upload.js")
    assert script.status_code == 200
    assert "X-CSRF-Token" in script.text and "textContent" in script.text
    assert "sessionStorage" not in script.text and "localStorage" not in script.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN: works offline


def test_openapi_describes_the_upload_form(client):
    schema = client.get("/openapi.json").json()
    upload = schema["paths"]["/api/v1/uploads"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert "/api/v1/estimates" in schema["paths"] and "/healthz" in schema["paths"]


def test_the_upload_limit_comes_from_the_environment(tmp_path, monkeypatch, fieldkit):
    from core.errors import ConfigError

    monkeypatch.setenv("ADMON_MAX_UPLOAD_MB", "0.001")  # 1048 bytes
    app = create_app(tmp_path / "ws")
    headers = {"Authorization": f"Bearer {app.state.store.create_token('team-a', 'admin')}"}
    with TestClient(app) as client:
        big = client.post(
            "/api/v1/uploads", files={"file": ("p.csv", b"x" * 2000)}, headers=headers
        )
    assert big.status_code == 413 and "limit of 1048 bytes" in big.json()["detail"]
    app.state.store.close()
    monkeypatch.setenv("ADMON_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ConfigError, match="ADMON_MAX_UPLOAD_MB='lots'"):
        create_app(tmp_path / "ws")
