"""Run the annual survey for the years of a configuration, on the chosen task runner."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flows.config import load_config
from flows.runtime import configure_environment, prefect_api, task_runner

__all__ = ["run_survey"]

log = logging.getLogger(__name__)


def run_survey(
    config_path: str | Path,
    *,
    years: list[int] | None = None,
    dask_address: str | None = None,
    n_workers: int | None = None,
    serial: bool | None = None,
) -> list[dict[str, Any]]:
    """Run the annual survey flow for each year, oldest first.

    Years run in order because a year's programme change needs the estimates of the
    programmes' baseline years. Within a year, scenes are checked in parallel and the
    dask arrays of each stage are computed chunk by chunk on the Dask cluster.

    Parameters
    ----------
    config_path
        Run configuration (TOML).
    years
        Survey years to run; default every year of the configuration.
    dask_address
        Existing Dask scheduler; overrides ``dask.address`` of the configuration.
    n_workers
        Local cluster workers; overrides ``dask.n_workers``.
    serial
        Run without Dask; overrides ``dask.serial``.

    Returns
    -------
    list of dict
        One summary per year (run_id, run_dir, output paths).
    """
    config = load_config(config_path)
    configure_environment(config.workspace)
    from flows.annual import annual_survey

    chosen = sorted(years or config.survey.years)
    unknown = [y for y in chosen if y not in config.survey.years]
    if unknown:
        log.warning(
            "years %s are not in survey.years of %s; running them anyway", unknown, config_path
        )
    from flows.plan import check_inputs

    for year in chosen:
        check_inputs(config, year)  # fail in a second, before any server or cluster starts
    runner = task_runner(
        address=dask_address or config.dask.address,
        n_workers=n_workers or config.dask.n_workers,
        serial=config.dask.serial if serial is None else serial,
    )
    results = []
    with prefect_api():
        flow = annual_survey.with_options(task_runner=runner)
        for year in chosen:
            results.append(flow(config_path=str(Path(config_path).resolve()), year=year))
    return results
