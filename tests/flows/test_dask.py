"""Scale-out: the same run on a local Dask cluster with 2 workers gives the serial numbers."""

from __future__ import annotations

import os

import pandas as pd
import pytest


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_local_cluster_with_two_workers_matches_the_serial_run(
    small_region, tmp_path, config_writer, serial_run, monkeypatch
):
    import functools

    from flows import stages
    from flows.annual import annual_survey
    from flows.runtime import task_runner

    # One district per batch: the batches run at once on both single-threaded workers,
    # where a task waiting on the cluster for its own reads used to hang the run.
    batches = functools.partial(stages.district_batches, size=1)
    monkeypatch.setattr(stages, "district_batches", batches)
    year = small_region.years[0]
    config = config_writer(small_region, tmp_path / "ws")
    runner = task_runner(n_workers=2)
    assert runner.cluster_kwargs["n_workers"] == 2
    assert runner.cluster_kwargs["threads_per_worker"] == max(1, (os.cpu_count() or 1) // 2)
    result = annual_survey.with_options(task_runner=runner)(config_path=str(config), year=year)
    serial = serial_run["results"][year]
    assert result["run_id"] == serial["run_id"], "same inputs, same run id"
    pd.testing.assert_frame_equal(
        pd.read_csv(result["district_estimates"]), pd.read_csv(serial["district_estimates"])
    )


@pytest.mark.parametrize(
    ("n_workers", "cores", "shape"),
    [(1, 2, (1, 2)), (2, 2, (2, 1)), (4, 2, (4, 1)), (2, 8, (2, 4)), (None, 2, (2, 1))],
)
def test_the_local_cluster_shares_the_cores_out_among_its_workers(n_workers, cores, shape):
    from flows.runtime import local_cluster_shape

    assert local_cluster_shape(n_workers, cores=cores) == shape


def test_release_memory_hands_freed_memory_back():
    import numpy as np
    import psutil

    from core.io import release_memory

    process = psutil.Process()
    # Mid-sized blocks (below the mmap threshold) freed under one still in use at the
    # top of the heap stay in malloc's arena until trimmed.
    blocks = [np.ones(16_000, dtype=np.float64) for _ in range(2_000)]
    top = blocks.pop()
    del blocks
    before = process.memory_info().rss
    release_memory()
    after = process.memory_info().rss
    assert top.sum() == 16_000
    assert after < before - 100 * 2**20, (
        f"resident {before / 2**20:.0f} MB -> {after / 2**20:.0f} MB"
    )


@pytest.mark.parametrize(
    ("options", "cores", "kind"),
    [
        ({}, 2, "in_process"),
        ({}, 8, "in_process"),
        ({}, 16, "local_cluster"),
        ({"n_workers": 2}, 2, "local_cluster"),
        ({"serial": True}, 2, "serial"),
        ({"serial": True, "n_workers": 2}, 2, "serial"),
        ({"address": "tcp://127.0.0.1:8786", "n_workers": 2}, 2, "cluster"),
        ({"address": "tcp://127.0.0.1:8786", "serial": True}, 2, "serial"),
    ],
)
def test_a_small_machine_computes_in_process_unless_told_otherwise(options, cores, kind):
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.runtime import runner_kind, task_runner

    assert runner_kind(**options, cores=cores) == kind
    if kind in ("in_process", "serial"):
        runner = task_runner(**options, cores=cores)
        assert isinstance(runner, ThreadPoolTaskRunner)
        assert runner._max_workers == (1 if kind == "serial" else cores)
