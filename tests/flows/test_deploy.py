"""Schedules: deployments registered with a real Prefect server, and serving without one."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real Prefect server on a free loopback port, with its own database."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    prefect = Path(sys.executable).with_name("prefect")
    process = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_for(f"{api_url}/health", process)
        yield api_url
    finally:
        _stop(process)


def test_deployments_are_registered_with_their_cron(
    prefect_server, small_region, tmp_path, config_writer
):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.deploy import (
        ANNUAL_DEPLOYMENT,
        INGEST_DEPLOYMENT,
        prefect_server_reachable,
        register_deployments,
    )

    assert prefect_server_reachable(prefect_server)
    config = config_writer(small_region, tmp_path / "ws")

    async def read(name: str):
        async with get_client() as client:
            return await client.read_deployment_by_name(name)

    with temporary_settings({PREFECT_API_URL: prefect_server}):
        ids = register_deployments(config, tmp_path / "ws", cron="30 1 2 5 *")
        annual = asyncio.run(read(ANNUAL_DEPLOYMENT))
        ingest = asyncio.run(read(INGEST_DEPLOYMENT))
    assert str(annual.id) in ids and str(ingest.id) in ids
    crons = [s.schedule.cron for s in annual.schedules]
    assert crons == ["30 1 2 5 *"]
    assert annual.schedules[0].schedule.timezone == "Asia/Yangon"
    assert annual.parameters["config_path"] == str(config.resolve())
    assert not ingest.schedules, "the ingest flow runs on demand, not on a schedule"


def test_serve_without_a_prefect_server_still_serves_and_says_how_to_get_schedules(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--workspace",
            str(tmp_path / "ws"),
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process, timeout_s=120)
        assert httpx.get(f"http://127.0.0.1:{port}/upload", timeout=5).status_code == 200
    finally:
        _stop(process)
    output = process.stdout.read()
    assert "Schedules need a Prefect server" in output
    assert "prefect server start" in output
