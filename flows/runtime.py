"""Where flows run: the Prefect API they report to and the Dask cluster they compute on.

Without a configured Prefect server (``PREFECT_API_URL``), admon starts one
temporary server for the whole command and hands its address to every Dask
worker, instead of letting each worker process start a server of its own
(``flows.server``, re-exported here). Prefect's state (database, cached results)
lives in the workspace, so runs of one workspace share their cache and different
workspaces never collide.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.io import available_cores
from flows.server import (
    DEFAULT_STARTUP_TIMEOUT_S,
    launch_server,
    prefect_api,
    process_gone,
    stop_orphaned_server,
)

__all__ = [
    "quiet_libraries",
    "configure_environment",
    "prefect_api",
    "launch_server",
    "process_gone",
    "task_runner",
    "command_runner",
    "runner_kind",
    "local_cluster_shape",
    "local_cluster_kwargs",
    "IN_PROCESS_MAX_CORES",
    "stop_orphaned_server",
    "DEFAULT_STARTUP_TIMEOUT_S",
    "GDAL_CACHE_MB",
]

log = logging.getLogger(__name__)

GDAL_CACHE_MB = "64"
"""GDAL block cache per process, in MB (override with the ``GDAL_CACHEMAX`` variable)."""

QUIET_DEFAULTS = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # Read by dask when it is first imported: set before anything imports it (the run
    # configuration imports geo, which imports dask), or every worker start, stop and
    # heartbeat prints an INFO line.
    "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "warning",
}
"""Library logging settings every command applies first, before any library is imported."""


def quiet_libraries() -> None:
    """Keep library INFO chatter out of the terminal; call before dask or Prefect is imported.

    Explicit settings in the environment win. Warnings the user can act on still show.
    """
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)


def configure_environment(workspace: Path) -> None:
    """Point Prefect at the workspace; call before Prefect is imported by the command.

    Explicit settings in the environment win, so a user's own Prefect profile or server
    is respected.
    """
    quiet_libraries()
    prefect_home = Path(workspace).resolve() / ".prefect"
    defaults = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_LOCAL_STORAGE_PATH": str(prefect_home / "storage"),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": DEFAULT_STARTUP_TIMEOUT_S,
        # GDAL's block cache defaults to 5% of the machine's memory in every process
        # (1.2 GB per Dask worker on 24 GB) and fills with the blocks of each raster a
        # stage writes; capped, the run's memory stops growing with the area. 64 MB: at
        # 256 the cache was still filling at 1x and full from 4x on, ~190 MB of the
        # growth of the season and classify peaks between 1x and 4x, for no measured
        # gain in time (tests/benchmarks/README.md, "Peak memory from 1x to 16x").
        "GDAL_CACHEMAX": GDAL_CACHE_MB,
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    prefect_home.mkdir(parents=True, exist_ok=True)


IN_PROCESS_MAX_CORES = 8
"""Up to this many cores, a run without ``--dask-address`` or ``--n-workers`` computes in
the command's own process. Measured on 2 cores (``tests/benchmarks/README.md``): the
demo's stages on two local worker processes took 2-35 times as long as in one process,
and three times the CPU overall. Above this size a local cluster is the default (not
measured here): one process's threads would contend for the interpreter lock in the
Python parts of a stage."""


def runner_kind(
    *,
    address: str | None = None,
    n_workers: int | None = None,
    serial: bool | None = None,
    cores: int | None = None,
) -> str:
    """Where a command's tasks run: ``cluster``, ``local_cluster``, ``in_process`` or ``serial``.

    ``serial`` wins, then an address, then an explicit number of local workers; without
    any of them, a machine of at most ``IN_PROCESS_MAX_CORES`` cores runs in process.
    """
    if serial:
        return "serial"
    if address:
        return "cluster"
    if n_workers:
        return "local_cluster"
    cores = cores or available_cores()
    return "in_process" if cores <= IN_PROCESS_MAX_CORES else "local_cluster"


def task_runner(
    *,
    address: str | None = None,
    n_workers: int | None = None,
    serial: bool | None = None,
    cores: int | None = None,
) -> Any:
    """The task runner of the annual flow (see :func:`runner_kind` for which one).

    Parameters
    ----------
    address
        Scheduler of an existing Dask cluster (``tcp://host:8786``): tasks and the dask
        arrays inside them run there.
    n_workers
        Start a local Dask cluster of this many workers (one per flow run; a command
        running several years starts one itself, see :func:`command_runner`). The
        cores are shared out as threads among them (``local_cluster_shape``).
    serial
        Run tasks one at a time in the command's own process, with no Dask cluster.
    cores
        Cores to plan for; default those this process may use.

    Without an address, workers or ``serial``, tasks run side by side in threads of
    the command's process (on a small machine), their dask arrays on dask's threaded
    scheduler, which uses every core.
    """
    from prefect.task_runners import ThreadPoolTaskRunner

    kind = runner_kind(address=address, n_workers=n_workers, serial=serial, cores=cores)
    if kind == "serial":
        return ThreadPoolTaskRunner(max_workers=1)
    if kind == "in_process":
        return ThreadPoolTaskRunner(max_workers=cores or available_cores())
    from prefect_dask import DaskTaskRunner

    # On a loaded machine a worker can take more than the nanny's 4 s to exit when the
    # cluster closes after the run; the nanny then stops it and warns, though every
    # result is already written. Nothing for the user to do, so not shown.
    logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    if kind == "cluster":
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs=local_cluster_kwargs(n_workers, cores))


def local_cluster_kwargs(n_workers: int | None, cores: int | None = None) -> dict[str, Any]:
    """Arguments of the local Dask cluster: processes sharing the cores, no dashboard."""
    workers, threads = local_cluster_shape(n_workers, cores)
    return {
        "n_workers": workers,
        "threads_per_worker": threads,
        "processes": True,
        "dashboard_address": None,
    }


@contextlib.contextmanager
def command_runner(
    *, address: str | None = None, n_workers: int | None = None, serial: bool | None = None
) -> Iterator[Any]:
    """The task runner of a whole command: one local Dask cluster (if any) for every year.

    A ``DaskTaskRunner`` given only cluster arguments starts a cluster for each flow
    run it serves; here the cluster starts once, and every year's flow connects to it.
    """
    kind = runner_kind(address=address, n_workers=n_workers, serial=serial)
    if kind != "local_cluster":
        yield task_runner(address=address, n_workers=n_workers, serial=serial)
        return
    from distributed import LocalCluster

    logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    with LocalCluster(**local_cluster_kwargs(n_workers)) as cluster:
        yield task_runner(address=cluster.scheduler_address)


def local_cluster_shape(n_workers: int | None, cores: int | None = None) -> tuple[int, int]:
    """Worker processes and threads per worker of the local cluster, using every core once.

    Without ``n_workers``, Dask's own sizing (``nprocesses_nthreads``: 2 x 1 on 2 cores,
    4 x 2 on 8). With it, the cores are shared out as threads: a stage's dask arrays
    run on its worker's threads, so one single-threaded worker on 2 cores would leave
    a core idle (1 worker: 2 threads; 2 workers: 1 thread each).
    """
    cores = cores or available_cores()
    if not n_workers:
        from distributed.deploy.utils import nprocesses_nthreads

        return nprocesses_nthreads(cores)
    return n_workers, max(1, cores // n_workers)
