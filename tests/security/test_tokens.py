"""Tokens with a life, and uploads recorded for the team of the token that sent them.

Before: only ``admon token create`` existed (no list, revoke or expiry), a file's
``team`` column overrode the token's team, and another team's copy of a stored
file was answered with the first team's upload id and not recorded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from flows.cli import app as cli
from models.store import open_store
from tests.security.conftest import bearer
from tests.web.conftest import PLOTS, FieldPlot, geojson


def test_list_revoke_rotate_and_expiry_through_the_command_line(tmp_path):
    runner = CliRunner()
    ws = ["--workspace", str(tmp_path)]
    made = runner.invoke(cli, ["token", "create", "--team", "ministry", "--role", "reviewer",
                               "--expires-days", "30", *ws])  # fmt: skip
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        assert store.verify_token(token).team == "ministry"
        listed = store.list_tokens()
    token_id = listed["token_id"].iloc[0]
    assert token not in runner.invoke(cli, ["token", "list", *ws]).output
    assert token_id in runner.invoke(cli, ["token", "list", *ws]).output
    assert listed["expires_at"].iloc[0].startswith(str((datetime.now(UTC) + timedelta(30)).date()))
    assert listed["last_used_at"].iloc[0] is not None  # verify_token above used it

    rotated = runner.invoke(cli, ["token", "rotate", token_id, *ws])
    assert rotated.exit_code == 0, rotated.output
    new_token = rotated.stdout.strip().splitlines()[-1]
    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        assert store.verify_token(token) is None  # the old one stopped working
        assert store.verify_token(new_token).role == "reviewer"
        new_id = store.list_tokens().query("state == 'active'")["token_id"].iloc[0]
    revoked = runner.invoke(cli, ["token", "revoke", new_id, *ws])
    assert revoked.exit_code == 0 and "ministry" in revoked.output
    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        assert store.verify_token(new_token) is None
        assert sorted(store.list_tokens()["state"]) == ["revoked", "revoked"]
    unknown = runner.invoke(cli, ["token", "revoke", "abcdef123456", *ws])
    assert unknown.exit_code == 2 and "token list" in unknown.output


def test_an_expired_or_revoked_token_is_refused_by_the_service(app, client, send):
    store = app.state.store
    token = store.create_token("team-a", "uploader", expires_in_days=1)
    tokens = store.tables["tokens"]
    with store._write() as conn:
        conn.execute(update(tokens).values(expires_at="2020-01-01T00:00:00+00:00"))
    answer = client.post(
        "/api/v1/uploads", files={"file": ("p.geojson", geojson())}, headers=bearer(token)
    )
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    other = store.create_token("team-a", "uploader")
    store.revoke_token(store.list_tokens().query("state == 'active'")["token_id"].iloc[0])
    answer = client.post(
        "/api/v1/uploads", files={"file": ("p.geojson", geojson())}, headers=bearer(other)
    )
    assert answer.status_code == 401


def test_the_tokens_team_is_the_records_team_and_another_team_is_a_row_warning(
    app, client, send, tokens
):
    plots = [FieldPlot(p.plot_id, p.crop, p.status, p.date, "team-z", p.lon, p.lat) for p in PLOTS]
    answer = send("plots.geojson", geojson(plots))
    assert answer.status_code == 201, answer.text
    stored = app.state.store.get_plots()
    assert set(stored["team"]) == {"team-a"} and set(stored["uploaded_by"]) == {"team-a"}
    assert set(stored["team_in_file"]) == {"team-z"}
    record = app.state.store.get_upload(answer.json()["upload_id"])
    warnings = [w for w in record["report"]["warnings"] if w["field"] == "team"]
    assert len(warnings) == 2 and "team-z" in warnings[0]["message"]


def test_another_teams_copy_of_a_file_is_recorded_for_that_team(client, send, tokens):
    first = send("plots.geojson", geojson())
    theirs = send("copy.geojson", geojson(), role="other_uploader")
    assert (first.status_code, theirs.status_code) == (201, 200)
    assert theirs.json()["upload_id"] != first.json()["upload_id"]
    assert theirs.json()["duplicate"] is True
    record = client.get(
        f"/api/v1/uploads/{theirs.json()['upload_id']}", headers=bearer(tokens["other_uploader"])
    )
    assert record.status_code == 200 and record.json()["team"] == "team-b"
    again = send("copy.geojson", geojson(), role="other_uploader")
    assert again.json()["upload_id"] == theirs.json()["upload_id"]


def test_an_old_store_is_migrated_in_place(tmp_path):
    """A store written before tokens had a life and uploads were unique per team opens."""
    import sqlite3

    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        store.create_token("team-a", "uploader")
    db = sqlite3.connect(tmp_path / "store.gpkg")
    db.executescript(
        """
        ALTER TABLE tokens DROP COLUMN expires_at;
        ALTER TABLE tokens DROP COLUMN last_used_at;
        ALTER TABLE tokens DROP COLUMN revoked_at;
        DROP TABLE uploads;
        CREATE TABLE uploads (fid INTEGER PRIMARY KEY, upload_id TEXT NOT NULL UNIQUE,
          sha256 TEXT NOT NULL UNIQUE, filename TEXT NOT NULL, team TEXT NOT NULL,
          received_at TEXT NOT NULL, size_bytes INTEGER NOT NULL, accepted INTEGER NOT NULL,
          rejected INTEGER NOT NULL, status TEXT NOT NULL, raw_path TEXT NOT NULL,
          errors TEXT NOT NULL, report TEXT NOT NULL);
        """
    )
    db.close()
    with open_store(tmp_path / "store.gpkg", workspace=tmp_path) as store:
        assert store.list_tokens()["state"].tolist() == ["active"]
        a = store.ingest_upload(geojson(), "p.geojson", "team-a")
        b = store.ingest_upload(geojson(), "p.geojson", "team-b")
        assert b.upload_id != a.upload_id
        assert json.loads(json.dumps(store.get_upload(b.upload_id)["team"])) == "team-b"


@pytest.mark.parametrize("role", ["uploader", "reviewer", "admin"])
def test_token_ids_never_reveal_the_token(app, role):
    token = app.state.store.create_token("t", role)
    listed = app.state.store.list_tokens()
    assert token not in listed.to_csv() and len(listed["token_id"].iloc[0]) == 12
