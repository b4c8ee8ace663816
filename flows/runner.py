"""Run the annual survey for the years of a configuration, on the chosen task runner."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from flows.config import RunConfig, load_config
from flows.runtime import command_runner, configure_environment, prefect_api

__all__ = ["run_survey", "runner_settings"]

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
    dask arrays of each stage are computed chunk by chunk, on every core of this
    process or on the Dask cluster (``flows.runtime.runner_kind``). The inputs of every
    year are checked while the Prefect server starts; the server and a local cluster
    (if any) serve every year of the command.

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
        Run tasks one at a time, without Dask; None leaves it to ``dask.serial``.

    Returns
    -------
    list of dict
        One summary per year (run_id, run_dir, output paths).
    """
    config = load_config(config_path)
    configure_environment(config.workspace)
    chosen = sorted(years or config.survey.years)
    unknown = [y for y in chosen if y not in config.survey.years]
    if unknown:
        log.warning(
            "years %s are not in survey.years of %s; running them anyway", unknown, config_path
        )

    def check_every_year() -> None:  # fail in seconds, before any year starts computing
        from flows.plan import check_inputs  # imported after the server was launched

        for year in chosen:
            check_inputs(config, year)
        from flows.annual import STAGE_MODULES  # seconds of imports, while the server starts

        for module in STAGE_MODULES:
            importlib.import_module(module)

    results = []
    with (
        prefect_api(while_starting=check_every_year),
        command_runner(**runner_settings(config, dask_address, n_workers, serial)) as runner,
    ):
        from flows.annual import annual_survey

        flow = annual_survey.with_options(task_runner=runner)
        for year in chosen:
            results.append(flow(config_path=str(Path(config_path).resolve()), year=year))
    return results


def runner_settings(
    config: RunConfig, dask_address: str | None, n_workers: int | None, serial: bool | None
) -> dict[str, Any]:
    """The runner options of a command: what it was given, else the configuration's ``dask``."""
    return {
        "address": dask_address or config.dask.address,
        "n_workers": n_workers or config.dask.n_workers,
        "serial": config.dask.serial if serial is None else serial,
    }
