"""How the stages of a flow run as Prefect tasks: cache keys, retries, where dask computes.

Compute stages are cached on their inputs, their own source and a hash of admon's
code (``COMPUTE_OPTIONS``), so a run that died resumes after its last finished
stage and a rerun with unchanged inputs recomputes nothing (the flow caches the
scene checks on the input files too, and publishing on every run's estimates:
``InputFiles``, ``WorkspaceEstimates``); I/O stages retry with
exponential backoff (``IO_RETRIES``). ``cluster_compute`` and
``computes_in_process`` choose where a stage's dask graphs are computed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from prefect.cache_policies import TASK_SOURCE, CachePolicy, Inputs
from prefect.tasks import exponential_backoff

from core.io import release_memory

__all__ = [
    "AdmonCode",
    "admon_code_hash",
    "COMPUTE_CACHE",
    "InputFiles",
    "WorkspaceEstimates",
    "StableInputs",
    "COMPUTE_OPTIONS",
    "IO_RETRIES",
    "cluster_compute",
    "computes_in_process",
]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class AdmonCode(CachePolicy):
    """Cache key part: a hash of admon's own code (every ``.py`` of core, geo, synthetic, models, maps, flows).

    Prefect's ``TASK_SOURCE`` sees only a task's own lines; a stage's numbers also
    depend on the library code it calls, so a change there must invalidate the cache.
    """

    def compute_key(self, task_ctx: Any, inputs: Any, flow_parameters: Any, **kwargs: Any) -> str:
        return admon_code_hash()


@functools.cache
def admon_code_hash() -> str:
    """sha256 over the source files of admon's packages (computed once per process)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in ("core", "geo", "synthetic", "models", "maps", "flows"):
        for source in sorted((root / package).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


@dataclass
class StableInputs(CachePolicy):
    """Prefect's ``INPUTS``, with every table (DataFrame) hashed by its contents, also
    inside lists and dicts.

    Prefect stabilises a DataFrame given as an input itself, but hashes a list of them by
    its pickle, and that depends on which objects the tables share: tables just computed
    share some, the same tables read back from the cache do not. The estimate stage's
    map-area tables made the first rerun of every finished run miss the cache. (Not a
    subclass of ``Inputs``: a compound policy merges those into a plain ``Inputs``.)
    """

    def compute_key(self, task_ctx: Any, inputs: Any, flow_parameters: Any, **kwargs: Any) -> Any:
        stable = {key: _by_contents(value) for key, value in (inputs or {}).items()}
        return Inputs().compute_key(task_ctx, stable, flow_parameters, **kwargs)


def _by_contents(value: Any) -> Any:
    """``value`` with each DataFrame in it replaced by a digest of its dtypes and values."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        digest = hashlib.sha256(repr([(str(c), str(t)) for c, t in value.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        return ("DataFrame", digest.hexdigest())
    if type(value) in (list, tuple):  # not a named tuple: its fields are hashed as Prefect does
        return type(value)(_by_contents(item) for item in value)
    if type(value) is dict:
        return {key: _by_contents(item) for key, item in value.items()}
    return value


COMPUTE_CACHE = StableInputs() + TASK_SOURCE + AdmonCode()
"""Cache compute stages on what they are given, on their code and on the code they call."""


@dataclass(kw_only=True)  # CachePolicy has fields of its own: a positional value would go there
class InputFiles(CachePolicy):
    """Cache key part: the digest of every input file of the run (``RunPlan.inputs_digest``).

    For a stage given paths whose files it reads (a scene's check): the same path
    with other bytes is another key.
    """

    digest: str = ""

    def compute_key(self, task_ctx: Any, inputs: Any, flow_parameters: Any, **kwargs: Any) -> str:
        return self.digest


@dataclass(kw_only=True)
class WorkspaceEstimates(CachePolicy):
    """Cache key part: every run's ``district_estimates.csv`` in the workspace, by content.

    Publishing reads them all (the multi-year history and the gallery), so a run of
    another year that changed its estimates publishes this one again.
    """

    workspace: str = ""

    def compute_key(self, task_ctx: Any, inputs: Any, flow_parameters: Any, **kwargs: Any) -> str:
        digest = hashlib.sha256()
        root = Path(self.workspace)
        for table in sorted(root.glob("runs/*/*/district_estimates.csv")):
            digest.update(table.relative_to(root).as_posix().encode())
            digest.update(hashlib.sha256(table.read_bytes()).digest())
        return digest.hexdigest()


IO_RETRIES = {"retries": 3, "retry_delay_seconds": exponential_backoff(backoff_factor=2)}
"""Reading inputs can fail for passing reasons (network mounts, object stores)."""

COMPUTE_OPTIONS = {"cache_policy": COMPUTE_CACHE, "persist_result": True}
"""Task options of a compute stage: cached, with its result persisted for resumed runs."""


@contextlib.contextmanager
def cluster_compute() -> Iterator[None]:
    """Let dask graphs inside a task use the whole Dask cluster when the task runs on one.

    On a Dask worker (DaskTaskRunner, or ``--dask-address``), a task's dask arrays
    would otherwise be computed by that worker's threads alone. On the way out, the
    memory the stage freed is handed back (``core.io.release_memory``), so a long run
    does not carry each stage's high-water mark into the next.
    """
    try:
        with _cluster_client():
            yield
    finally:
        release_memory()


def _cluster_client() -> contextlib.AbstractContextManager[Any]:
    """The Dask client of the cluster this task runs on, or nothing outside a worker."""
    from distributed import get_worker  # imported by the stages that compute, not on import

    try:
        get_worker()
    except ValueError:
        return contextlib.nullcontext()
    from prefect_dask import get_dask_client

    return get_dask_client()


def computes_in_process(function: Callable[P, R]) -> Callable[P, R]:
    """Run a small stage's dask computations on the threads of its own process.

    Inside a task on a Dask worker, ``dask.compute`` would otherwise send each small
    graph to the cluster and wait for it while holding the worker's thread; small
    window reads gain nothing from the cluster (district batches at 16x on 2 workers:
    23 s that way, 13 s in process). Freed memory is handed back at the end, as after
    every stage.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import dask

        try:
            with dask.config.set(scheduler="threads"):
                return function(*args, **kwargs)
        finally:
            release_memory()

    return wrapper
