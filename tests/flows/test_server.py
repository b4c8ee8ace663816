"""The Prefect API of a command (``flows.server``): a configured server, or one temporary server."""

from __future__ import annotations

import json
import urllib.request

import psutil
import pytest

from flows import server as prefect_server


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
