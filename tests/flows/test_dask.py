"""Scale-out: the same run on a local Dask cluster with 2 workers gives the serial numbers."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_a_local_cluster_with_two_workers_matches_the_serial_run(
    small_region, tmp_path, config_writer, serial_run
):
    from flows.annual import annual_survey
    from flows.runtime import task_runner

    year = small_region.years[0]
    config = config_writer(small_region, tmp_path / "ws")
    runner = task_runner(n_workers=2)
    assert runner.cluster_kwargs["n_workers"] == 2
    result = annual_survey.with_options(task_runner=runner)(config_path=str(config), year=year)
    serial = serial_run["results"][year]
    assert result["run_id"] == serial["run_id"], "same inputs, same run id"
    pd.testing.assert_frame_equal(
        pd.read_csv(result["district_estimates"]), pd.read_csv(serial["district_estimates"])
    )
