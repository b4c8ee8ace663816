"""Faults long runs meet: a transient error retried, a permanent one recorded, a kill resumed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from flows.runtime import process_gone

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def test_a_transient_read_error_is_retried_and_the_run_completes(
    small_region, tmp_path, config_writer, serial_flow, monkeypatch
):
    import geo.imagery
    from flows import stages

    # the scene checks are cached on the input files: an earlier test's run of the same
    # region would answer from the cache and never read the scene
    check = stages.check_scene.with_options(retry_delay_seconds=[0.1, 0.1, 0.1], refresh_cache=True)
    monkeypatch.setattr(stages, "check_scene", check)
    # the check-scene stage imports it when it runs; it is the stage's first read of a scene
    real_describe = geo.imagery.describe_source
    calls: dict[str, int] = {}

    def flaky_describe(source, *args, **kwargs):
        calls[str(source)] = calls.get(str(source), 0) + 1
        if calls[str(source)] == 1 and str(source) == str(small_region.scenes[2024][0]):
            raise OSError(f"{source}: connection reset by peer (simulated)")
        return real_describe(source, *args, **kwargs)

    monkeypatch.setattr(geo.imagery, "describe_source", flaky_describe)
    config = config_writer(small_region, tmp_path / "ws")
    result = serial_flow(config_path=str(config), year=2024)
    manifest = json.loads((Path(result["run_dir"]) / "manifest.json").read_text())
    assert manifest["outcome"] == "completed"
    assert calls[str(small_region.scenes[2024][0])] >= 2, "the failed read was not retried"


def test_a_permanent_failure_names_the_stage_and_reason_in_the_manifest(
    small_region, tmp_path, config_writer, serial_flow, monkeypatch
):
    import geo.estimation

    def broken(*args, **kwargs):
        raise ValueError("reference sample has no point in district D02 (simulated)")

    monkeypatch.setattr(geo.estimation, "district_estimates", broken)
    config = config_writer(small_region, tmp_path / "ws")
    with pytest.raises(ValueError, match="simulated"):
        serial_flow(config_path=str(config), year=2024)
    manifest_path = next((tmp_path / "ws" / "runs" / "2024").glob("*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    assert manifest["outcome"] == "failed"
    assert manifest["failure"]["stage"] == "estimate"
    assert "no point in district D02" in manifest["failure"]["reason"]
    assert not (manifest_path.parent / "district_estimates.csv").exists()


def _cli_env() -> dict[str, str]:
    """The environment of a user's shell: no test-only Prefect settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    return env


def _admon(*args: str) -> list[str]:
    return [sys.executable, "-m", "flows.cli", *args]


def test_a_killed_run_resumes_and_gives_the_same_estimates(
    small_region, tmp_path, config_writer, serial_run
):
    """SIGKILL mid-run, start again: it completes, matches an uninterrupted run, leaves no partial file."""
    year = small_region.years[0]
    config = config_writer(small_region, tmp_path / "ws")
    runs = tmp_path / "ws" / "runs" / str(year)
    command = _admon("run", str(config), "--year", str(year), "--serial")
    # Only the admon process is killed, as the out-of-memory killer would: its temporary
    # Prefect server is orphaned, and the next run must stop it. Its own process group
    # lets the test clean up whatever remains.
    victim = subprocess.Popen(
        command,
        cwd=REPO,
        env=_cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    stages_done: list[str] = []
    while time.monotonic() < deadline and victim.poll() is None:
        manifests = list(runs.glob("*/manifest.json"))
        if manifests:
            try:
                stages_done = [s["stage"] for s in json.loads(manifests[0].read_text())["stages"]]
            except ValueError:
                stages_done = []
            if "composite" in stages_done:
                break
        time.sleep(0.2)
    assert victim.poll() is None, (
        f"the run ended before it could be killed: {victim.stderr.read().decode()[-2000:]}"
    )
    record = json.loads((tmp_path / "ws" / ".prefect" / "temporary-server.json").read_text())
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    try:
        orphan = psutil.Process(record["server_pid"])
        assert not process_gone(orphan), "the killed run's server lives on until the next run"
        killed_manifest = json.loads(next(runs.glob("*/manifest.json")).read_text())
        assert killed_manifest["outcome"] == "running", "the kill must land mid-run"
        assert "publish" not in [s["stage"] for s in killed_manifest["stages"]]

        resumed = subprocess.run(
            command, cwd=REPO, env=_cli_env(), capture_output=True, text=True, timeout=900
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "left by a command that was killed" in resumed.stderr
        assert process_gone(orphan), "the orphaned server was not stopped"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(victim.pid, signal.SIGKILL)
    run_dir = next(runs.glob("*/manifest.json")).parent
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["outcome"] == "completed"
    assert not list(run_dir.rglob(".tmp-*")), "a half-written file remains"
    uninterrupted = pd.read_csv(serial_run["results"][year]["district_estimates"])
    pd.testing.assert_frame_equal(pd.read_csv(run_dir / "district_estimates.csv"), uninterrupted)
