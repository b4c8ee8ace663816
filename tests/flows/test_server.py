"""The Prefect API of a command (``flows.server``): a configured server, or one temporary server."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import urllib.request

import psutil
import pytest

from flows import server as prefect_server
from flows import server_db


@pytest.fixture
def own_home(tmp_path, monkeypatch):
    """A Prefect home of the test's own, and no configured server."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    return tmp_path / "prefect"


def test_a_configured_server_is_used_and_none_is_started(own_home, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    checked = []
    assert prefect_server.launch_server() is None
    with prefect_server.prefect_api(while_starting=lambda: checked.append(True)) as url:
        assert url == "http://127.0.0.1:9/api"
    assert checked == [True]
    assert not (own_home / "temporary-server.json").exists()


def test_a_failed_input_check_stops_the_server_it_overlapped(own_home):
    def failing_check() -> None:
        raise ValueError("inputs.districts missing (simulated)")

    launched = prefect_server.launch_server()  # as `admon demo` does, before its checks
    assert launched is not None
    server_process = psutil.Process(launched.process.pid)
    assert (own_home / "temporary-server.json").exists()
    with (
        pytest.raises(ValueError, match="simulated"),
        prefect_server.prefect_api(while_starting=failing_check),
    ):
        pytest.fail("the API must not be handed out when the checks failed")
    assert prefect_server.process_gone(server_process)
    assert prefect_server._LAUNCHED == {}
    assert not (own_home / "temporary-server.json").exists()


@pytest.mark.slow
def test_one_temporary_server_answers_is_recorded_and_stops(own_home):
    first = prefect_server.launch_server()
    assert first is not None
    assert prefect_server.launch_server() is first, "a second call must not start another"
    record = json.loads((own_home / "temporary-server.json").read_text())
    assert record["server_pid"] == first.process.pid
    assert record["owner_pid"] == psutil.Process().pid
    url = first.wait_ready()
    assert url == f"http://127.0.0.1:{first.port}/api"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/health", timeout=10) as response:
        assert response.status == 200
    process = psutil.Process(record["server_pid"])
    first.stop()
    assert prefect_server.process_gone(process)
    assert not (own_home / "temporary-server.json").exists()
    assert (own_home / "prefect.db").exists(), "the server's database lives in PREFECT_HOME"


def _rows(database, table: str) -> int:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608


@pytest.mark.slow
def test_a_new_workspace_starts_from_the_first_servers_empty_database(own_home, tmp_path,
                                                                     monkeypatch):  # fmt: skip
    monkeypatch.setenv("ADMON_CACHE_DIR", str(tmp_path / "cache"))
    template = server_db.template_path()
    assert template is not None and not template.exists()
    first = prefect_server.TemporaryServer().launch()
    assert first.keeps_template, "no database and no template: this server makes one"
    assert _migrate_setting(first) is None, "a new database is migrated by the server"
    first.wait_ready()
    first.stop()
    assert template.is_file()
    assert _rows(template, "alembic_version") == 1, "the template is migrated"
    assert _rows(template, "block_type") > 0, "and holds Prefect's block types"
    assert _rows(template, "configuration") == 0, "but not the server's telemetry session"
    assert _rows(template, "flow_run") == 0
    kept = template.read_bytes()

    second_home = tmp_path / "second"
    monkeypatch.setenv("PREFECT_HOME", str(second_home))
    second = prefect_server.TemporaryServer().launch()
    assert not second.keeps_template
    assert (second_home / "prefect.db").read_bytes() == kept, "copied before the server starts"
    assert _migrate_setting(second) == "false", "a copy at the last migration is not checked"
    url = second.wait_ready()
    request = urllib.request.Request(f"{url}/flow_runs/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        assert json.loads(response.read()) == [], "a new workspace has no runs of another"
    second.stop()
    assert template.read_bytes() == kept, "a seeded server never rewrites the template"


def _migrate_setting(server: prefect_server.TemporaryServer) -> str | None:
    return psutil.Process(server.process.pid).environ().get("PREFECT_API_DATABASE_MIGRATE_ON_START")


def _database(path, *marks: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.executemany("INSERT INTO alembic_version VALUES (?)", [(m,) for m in marks])
        db.commit()
    return path


def test_only_a_database_at_the_templates_migration_skips_the_check(tmp_path, monkeypatch):
    monkeypatch.setenv("ADMON_CACHE_DIR", str(tmp_path / "cache"))
    assert not server_db.migrated(tmp_path / "a"), "no template: Prefect checks as usual"
    _database(server_db.template_path(), "3c841a1800a1")
    assert not server_db.migrated(tmp_path / "a"), "no database yet"
    assert server_db.migrated(_database(tmp_path / "same" / "prefect.db", "3c841a1800a1").parent)
    assert not server_db.migrated(_database(tmp_path / "old" / "prefect.db", "9e2a1c08c6f1").parent)
    assert not server_db.migrated(_database(tmp_path / "none" / "prefect.db").parent)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "prefect.db").write_bytes(b"not a database")
    assert not server_db.migrated(tmp_path / "broken")


def test_a_configured_or_existing_database_is_left_alone(own_home, tmp_path, monkeypatch):
    monkeypatch.setenv("ADMON_CACHE_DIR", str(tmp_path / "cache"))
    template = server_db.template_path()
    template.parent.mkdir(parents=True)
    template.write_bytes(b"template")
    own_home.mkdir(parents=True)
    (own_home / "prefect.db").write_bytes(b"this workspace's runs")
    assert not server_db.seed_database(own_home)
    assert (own_home / "prefect.db").read_bytes() == b"this workspace's runs"
    assert server_db.seed_database(tmp_path / "new")
    assert (tmp_path / "new" / "prefect.db").read_bytes() == b"template"
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "postgresql+asyncpg://db/prefect")
    assert server_db.template_path() is None
    assert not server_db.seed_database(tmp_path / "other")
    assert not (tmp_path / "other" / "prefect.db").exists()


@pytest.mark.slow
def test_a_runs_logs_reach_the_temporary_server_before_it_stops(own_home):
    """Prefect sends run logs from a background worker; drained only at interpreter exit,
    they went to a server already stopped (lost, and the exit waited on refused
    connections)."""
    from prefect import flow, get_run_logger

    @flow(name="logs-reach-the-server")
    def logging_flow() -> None:
        get_run_logger().warning("marker 7f3c: this line must reach the server")

    with prefect_server.prefect_api():
        logging_flow()
    with contextlib.closing(sqlite3.connect(own_home / "prefect.db")) as db:
        messages = [row[0] for row in db.execute("SELECT message FROM log")]
    assert any("marker 7f3c" in message for message in messages), messages
