"""Fixtures of the flow tests: a small synthetic region, its run configuration, a Prefect harness.

The region is small (a few districts, 5 scenes a year) so a whole annual run takes
seconds, but it is written in the same real layouts as the demo.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_SIZE = (300, 240)
SMALL_DISTRICTS = 4
SMALL_SEED = 7


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def small_region(tmp_path_factory):
    from synthetic import build_demo_region

    root = tmp_path_factory.mktemp("region") / "demo_region"
    return build_demo_region(root, seed=SMALL_SEED, size=SMALL_SIZE, n_districts=SMALL_DISTRICTS)


def write_config(region, workspace: Path, **overrides: str) -> Path:
    """Write the demo run configuration of ``region`` into ``workspace``; return its path."""
    from flows.demo import demo_config_text

    workspace.mkdir(parents=True, exist_ok=True)
    text = demo_config_text(Path(region.root), workspace, list(region.years))
    for key, value in overrides.items():
        text += f"\n{key}\n{value}\n"
    path = workspace / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def config_writer():
    """``config_writer(region, workspace)`` writes a run configuration and returns its path."""
    return write_config


@pytest.fixture(scope="session")
def serial_flow():
    """The annual flow with tasks run one at a time in this process (no Dask cluster)."""
    return _serial_flow()


def _serial_flow():
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.annual import annual_survey

    return annual_survey.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))


@pytest.fixture(scope="session")
def serial_run(small_region, tmp_path_factory, prefect_harness):
    """Both demo years run once, serially, in their own workspace: the reference results."""
    workspace = tmp_path_factory.mktemp("ws-serial")
    config = write_config(small_region, workspace)
    flow = _serial_flow()
    results = {year: flow(config_path=str(config), year=year) for year in small_region.years}
    return {"workspace": workspace, "config": config, "results": results}
