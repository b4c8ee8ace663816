"""A service that a stuck writer, a big small file or a corrupt archive cannot freeze or break.

Each test here failed on the service before these protections: a held GeoPackage
lock froze every endpoint, 20,000 CSV columns or 800 KML folders cost minutes of
CPU, corrupt archive members and an out-of-range year answered 500.
"""

from __future__ import annotations

import fcntl
import io
import os
import struct
import threading
import time
import zipfile

import pytest
from fastapi.testclient import TestClient

from tests.security.conftest import bearer
from tests.web.conftest import geojson, kml
from web.app import create_app


def _hold_lock(store):
    fd = os.open(store.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_held_lock_answers_503_with_retry_after_and_reads_do_not_wait(tmp_path):
    app = create_app(tmp_path / "ws")
    store = app.state.store
    store.lock_timeout_s = 0.5  # the service default is 10 s; the test needs no patience
    token = store.create_token("team-a", "uploader")
    fd = _hold_lock(store)  # a stuck writer: another process holding the store's lock
    try:
        with TestClient(app) as client:
            started = time.monotonic()
            answer = client.post(
                "/api/v1/uploads", files={"file": ("p.geojson", geojson())}, headers=bearer(token)
            )
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["retry-after"]) >= 1
            assert time.monotonic() - started < 10
            for path in ("/healthz", "/api/v1/estimates", "/"):
                started = time.monotonic()
                assert client.get(path).status_code == 200, path
                assert time.monotonic() - started < 2, path
    finally:
        os.close(fd)


def test_queued_uploads_never_take_the_threads_reads_answer_from(tmp_path):
    app = create_app(tmp_path / "ws", upload_workers=1, upload_queue=2)
    store = app.state.store
    token = store.create_token("team-a", "uploader")
    fd = _hold_lock(store)
    try:
        with TestClient(app) as client:
            answers = []

            def send(k):
                answers.append(
                    client.post(
                        "/api/v1/uploads",
                        files={"file": (f"k{k}.geojson", geojson() + b" " * k)},
                        headers=bearer(token),
                    )
                )

            threads = [threading.Thread(target=send, args=(k,)) for k in range(12)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)
            for path in ("/healthz", "/api/v1/estimates"):
                started = time.monotonic()
                assert client.get(path).status_code == 200
                assert time.monotonic() - started < 2, path
            os.close(fd)
            fd = None
            for thread in threads:
                thread.join(timeout=60)
    finally:
        if fd is not None:
            os.close(fd)
    codes = sorted(a.status_code for a in answers)
    refused = [a for a in answers if a.status_code == 503]
    assert refused, codes  # 12 at once against 1 worker + 2 waiting: the rest are told to wait
    assert all(int(a.headers["retry-after"]) > 0 for a in refused)
    assert codes.count(201) >= 1


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("wide.csv", (",".join(f"c{i}" for i in range(20_000)) + "\n1\n").encode(), "columns"),
        (
            "folders.kml",
            (
                '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                + "".join(f"<Folder><name>f{i}</name></Folder>" for i in range(800))
                + "</Document></kml>"
            ).encode(),
            "folders",
        ),
    ],
)
def test_small_files_with_too_many_columns_or_layers_are_refused_at_once(send, name, content, what):
    started = time.monotonic()
    answer = send(name, content)
    assert answer.status_code == 413, answer.text
    assert what in answer.json()["detail"] and name in answer.json()["detail"]
    assert time.monotonic() - started < 5


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _bad_crc(raw: bytes) -> bytes:
    data = bytearray(raw)
    offset = data.index(b"PK\x03\x04") + 14  # local header: CRC-32 at byte 14
    data[offset : offset + 4] = b"\0\0\0\0"
    central = data.index(b"PK\x01\x02") + 16
    data[central : central + 4] = b"\0\0\0\0"
    return bytes(data)


def _corrupt_deflate(raw: bytes) -> bytes:
    data = bytearray(raw)
    name_length, extra_length = struct.unpack("<HH", data[26:30])
    start = 30 + name_length + extra_length
    for i in range(start + 2, start + 40):
        data[i] ^= 0xFF
    return bytes(data)


def _unknown_method(raw: bytes) -> bytes:
    data = bytearray(raw)
    data[8:10] = struct.pack("<H", 99)  # compression method 99 in the local header...
    central = data.index(b"PK\x01\x02") + 10
    data[central : central + 2] = struct.pack("<H", 99)  # ...and the central directory
    return bytes(data)


def _lying_size(raw: bytes) -> bytes:
    data = bytearray(raw)
    central = data.index(b"PK\x01\x02") + 24  # uncompressed size in the central directory
    data[central : central + 4] = struct.pack("<I", 10)
    return bytes(data)


@pytest.mark.parametrize(
    "damage", [_bad_crc, _corrupt_deflate, _unknown_method, _lying_size], ids=lambda f: f.__name__
)
def test_corrupt_archives_answer_422_naming_the_member(send, damage):
    kmz = damage(_zip({"doc.kml": kml() * 3}))
    answer = send("plots.kmz", kmz)
    assert answer.status_code == 422, answer.text
    assert "doc.kml" in answer.json()["detail"]


def test_query_parameters_are_bounded(client):
    assert client.get("/api/v1/estimates", params={"year": 9223372036854775808}).status_code == 422
    assert client.get("/api/v1/estimates", params={"crop": "x" * 500}).status_code == 422
    assert client.get("/api/v1/uploads/" + "z" * 5000).status_code in (401, 422)
    schema = client.get("/openapi.json").json()
    year = next(
        p for p in schema["paths"]["/api/v1/estimates"]["get"]["parameters"] if p["name"] == "year"
    )
    bounds = year["schema"]["anyOf"][0]
    assert (bounds["minimum"], bounds["maximum"]) == (1900, 2200)


def test_the_body_reaches_the_store_as_a_file_not_as_bytes(app, send, monkeypatch):
    seen = []
    original = type(app.state.store).ingest_upload

    def spy(self, raw, *args, **kwargs):
        seen.append(type(raw))
        return original(self, raw, *args, **kwargs)

    monkeypatch.setattr(type(app.state.store), "ingest_upload", spy)
    assert send("plots.geojson", geojson()).status_code == 201
    assert seen and not issubclass(seen[0], (bytes, bytearray))  # streamed to disk, then moved
    assert not any((app.state.workspace / "uploads" / ".incoming").iterdir())


def test_errors_name_the_file_as_sent_never_a_server_path(send, workspace):
    answer = send("plots.gpkg", b"SQLite format 3\0" + b"\x13" * 4000)
    assert answer.status_code in (415, 422), answer.text
    text = answer.text
    assert str(workspace) not in text and "/uploads/" not in text
    assert "plots.gpkg" in text


def test_refused_uploads_are_recorded_and_kept_only_within_the_quota(app, send, workspace):
    app.state.store.limits = type(app.state.store.limits)(max_refused_bytes=64 * 1024)
    for k in range(10):
        refused = send(f"junk{k}.geojson", b"{" + b"x" * (30 * 1024) + str(k).encode())
        assert refused.status_code == 422
    records = app.state.store.list_refused_uploads()
    assert len(records) == 10 and set(records["team"]) == {"team-a"}
    kept = [p for p in (workspace / "uploads").rglob("*.geojson") if p.is_file()]
    assert sum(p.stat().st_size for p in kept) <= 64 * 1024
    assert records["kept_path"].notna().sum() == len(kept) >= 1


def test_security_headers_and_a_local_docs_page(client):
    answer = client.get("/healthz")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text
    assert "'sha256-" in docs.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/static/docs/{asset}").status_code == 200
    assert (
        "bearer" in str(client.get("/openapi.json").json()["components"]["securitySchemes"]).lower()
    )
