"""The service on a PostGIS store: uploads, repeats and concurrency as on the GeoPackage."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from models.store import open_store
from web.app import create_app

pytestmark = pytest.mark.postgis


@pytest.fixture
def pg_service(postgis_url, tmp_path):
    store = open_store(postgis_url, workspace=tmp_path / "ws")
    app = create_app(tmp_path / "ws", store=store, upload_queue=32)  # room for 20 at once
    headers = {"Authorization": f"Bearer {store.create_token('team-a', 'uploader')}"}
    with TestClient(app) as client:
        yield client, headers, store
    store.close()


def test_uploads_and_repeats_on_postgis(pg_service, fieldkit, tmp_path):
    client, headers, store = pg_service
    files = {"file": ("kobo_export.csv", fieldkit.kobo_csv())}

    first = client.post("/api/v1/uploads", files=files, headers=headers)
    again = client.post("/api/v1/uploads", files=files, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["upload_id"] == first.json()["upload_id"]
    assert (first.json()["accepted"], first.json()["rejected"]) == (2, 1)
    record = client.get(f"/api/v1/uploads/{first.json()['upload_id']}", headers=headers).json()
    assert record["report"]["errors"][0]["row"] == 2
    assert list(store.get_plots()["plot_id"]) == fieldkit.ACCEPTED_IDS
    assert "raw_path" not in record  # the server's folders are not the caller's business
    raw_path = store.get_upload(first.json()["upload_id"])["raw_path"]
    assert (tmp_path / "ws" / raw_path).read_bytes() == fieldkit.kobo_csv()


def test_twenty_concurrent_uploads_on_postgis(pg_service, fieldkit):
    client, headers, store = pg_service

    def export(k):
        plots = [
            fieldkit.FieldPlot(
                f"G{k:02d}-{j}",
                "poppy",
                "cultivated",
                "2025-01-14",
                "t",
                96.5 + k / 50 + j / 1000,
                20.5,
            )
            for j in range(2)
        ]
        return fieldkit.geojson(plots)

    payloads = [export(k) for k in range(16)] + [export(99)] * 4
    start = threading.Barrier(len(payloads))

    def send(k):
        start.wait()
        files = {"file": (f"g{k}.geojson", payloads[k])}
        return client.post("/api/v1/uploads", files=files, headers=headers)

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        responses = list(pool.map(send, range(len(payloads))))

    assert sorted(r.status_code for r in responses) == [200] * 3 + [201] * 17
    plots = store.get_plots()
    assert len(plots) == 17 * 2 and plots["plot_id"].is_unique
    assert len(store.list_uploads()) == 17
