"""/interpret under the hardened service: sign-in cookie with CSRF, the page's CSP, token scope.

The page signs in the way the upload page does (``/login`` sets an HttpOnly
cookie and a CSRF cookie); a label saved with the cookie must echo the CSRF
token, the page carries no inline script or style, and an interpreter token
opens the interpretation and nothing restricted.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.interpretation_fixtures import RUN_ID, interpretation_workspace
from web.app import create_app

API = "/api/v1/interpret"


@pytest.fixture
def service(tmp_path):
    app = create_app(interpretation_workspace(tmp_path / "ws"))
    with TestClient(app) as client:
        yield client, app.state.store
    app.state.store.close()


def _sign_in(client, token, next_path="/interpret"):
    form = client.get(f"/login?next={next_path}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = client.post(
        "/login", data={"token": token, "csrf": csrf, "next": next_path}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == next_path
    return client.cookies.get("admon_csrf")


def test_a_signed_in_interpreter_saves_labels_only_with_the_csrf_token(service):
    client, store = service
    csrf = _sign_in(client, store.create_token("alice", "interpreter"))
    point = client.get(f"{API}/{RUN_ID}/next").json()  # the cookie alone reads
    sent = {"sample_id": point["sample_id"], "reference_class": "forest"}

    refused = client.post(f"{API}/{RUN_ID}/labels", json=sent)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    forged = client.post(f"{API}/{RUN_ID}/labels", json=sent, headers={"X-CSRF-Token": "x" + csrf})
    assert forged.status_code == 403
    assert store.get_labels(RUN_ID).empty

    saved = client.post(f"{API}/{RUN_ID}/labels", json=sent, headers={"X-CSRF-Token": csrf})
    assert saved.status_code == 201
    labels = store.get_labels(RUN_ID)
    assert labels["interpreter"].tolist() == ["alice"]
    assert labels["reference_class"].tolist() == ["forest"]


def test_the_page_runs_under_a_policy_without_inline_code(service):
    client, _ = service
    page = client.get("/interpret")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy
    assert "img-src 'self' data: blob:" in policy  # the chips the script fetched
    assert page.headers["x-frame-options"] == "DENY"
    assert "<style" not in page.text and " style=" not in page.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    style = client.get("/static/interpret.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


def test_an_interpreter_token_opens_the_interpretation_and_nothing_restricted(service):
    client, store = service
    interpreter = {"Authorization": f"Bearer {store.create_token('alice', 'interpreter')}"}
    assert client.get(f"{API}/runs", headers=interpreter).status_code == 200
    assert client.get("/restricted/", headers=interpreter).status_code == 403
    upload = client.post(
        "/api/v1/uploads", headers=interpreter, files={"file": ("a.csv", b"x,y\n", "text/csv")}
    )
    assert upload.status_code == 403


def test_a_revoked_interpreter_token_stops_at_once(service):
    client, store = service
    token = store.create_token("alice", "interpreter")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/runs", headers=headers).status_code == 200
    store.revoke_token(store.list_tokens(team="alice")["token_id"].iloc[0])
    assert client.get(f"{API}/runs", headers=headers).status_code == 401


def test_a_point_with_its_exact_location_is_never_cached(service):
    client, store = service
    headers = {"Authorization": f"Bearer {store.create_token('alice', 'interpreter')}"}
    point = client.get(f"{API}/{RUN_ID}/next", headers=headers)
    assert point.status_code == 200 and "lon" in point.json()
    assert point.headers["cache-control"] == "no-store"
    again = client.get(f"{API}/{RUN_ID}/points/{point.json()['sample_id']}", headers=headers)
    assert again.headers["cache-control"] == "no-store"
