"""The run manifest: what went in, with which parameters and versions, and how it ended.

``manifest.json`` is rewritten atomically after every stage, so even a run
killed mid-way leaves a readable record of the stages it finished; a failed
run records the failing stage and the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import platform
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from core.digests import DigestCache
from core.io import atomic_write_json, relative_paths, sha256_file

__all__ = [
    "RunManifest",
    "StageRecord",
    "fingerprint_inputs",
    "package_versions",
    "TRACKED_PACKAGES",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

TRACKED_PACKAGES = (
    "admon",
    "numpy",
    "pandas",
    "xarray",
    "dask",
    "distributed",
    "rasterio",
    "rioxarray",
    "geopandas",
    "shapely",
    "pyproj",
    "exactextract",
    "scikit-learn",
    "spyndex",
    "prefect",
    "folium",
)


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a run's numbers, plus Python and GDAL."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import rasterio

        versions["gdal"] = rasterio.__gdal_version__
    except ImportError:  # pragma: no cover - rasterio is a dependency
        pass
    return versions


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path]


def fingerprint_inputs(
    inputs: dict[str, list[Path]],
    *,
    outside_digest: Collection[str] = (),
    digests: DigestCache | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Hash every input file.

    Parameters
    ----------
    inputs
        Role of the input (``imagery``, ``training_plots`` ...) to the files or folders.
    outside_digest
        Roles recorded but left out of the digest: inputs that do not make the map
        (the labelled reference sample is made *on* the run's map, after it).
    digests
        Digests remembered from earlier runs (``core.digests.DigestCache``): an unchanged
        file is not read again. Default: every file is read.

    Returns
    -------
    records, digest
        One record per file (role, path, bytes, sha256), and one sha256 over the
        others, which names the run: the same inputs give the same run id.
    """
    records = []
    for role, paths in sorted(inputs.items()):
        for root in paths:
            for file in _files_of(Path(root)):
                records.append(
                    {
                        "role": role,
                        "path": str(file),
                        "bytes": file.stat().st_size,
                        "sha256": digests.sha256(file) if digests else sha256_file(file),
                    }
                )
    overall = hashlib.sha256()
    for record in records:
        if record["role"] in outside_digest:
            continue
        overall.update(
            f"{record['role']}:{Path(record['path']).name}:{record['sha256']}\n".encode()
        )
    return records, overall.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class StageRecord:
    """What a stage adds to its manifest entry (``outputs`` and any other details)."""

    details: dict[str, Any] = field(default_factory=dict)

    def outputs(self, outputs: T) -> T:
        """Record the stage's outputs and hand them back."""
        self.details["outputs"] = outputs
        return outputs

    def reused(self, frozen: dict[str, Any], name: str) -> Any:
        """The outputs an earlier phase of this run recorded for stage ``name``, or None.

        Phase 2 of a survey year reuses the map its reference sample was drawn on
        (see :func:`flows.phases.frozen_stages`) instead of computing it again.
        """
        if name not in frozen:
            return None
        self.details["reused"] = True
        return frozen[name]

    def note(self, **details: Any) -> None:
        """Record other details of the stage (e.g. the scenes it checked)."""
        self.details.update(details)


@dataclass
class RunManifest:
    """The mutable record of one run, saved as ``manifest.json`` in the run folder."""

    path: Path
    run_id: str
    year: int
    parameters: dict[str, Any]
    inputs: list[dict[str, Any]]
    synthetic: bool = False
    created: str = field(default_factory=_now)
    stages: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "running"
    failure: dict[str, str] | None = None
    results: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None
    """The workspace: every path in the saved manifest is written relative to it."""

    def to_dict(self) -> dict[str, Any]:
        record = {
            "run_id": self.run_id,
            "year": self.year,
            "synthetic": self.synthetic,
            "created": self.created,
            "updated": _now(),
            "outcome": self.outcome,
            "failure": self.failure,
            "parameters": self.parameters,
            "inputs": self.inputs,
            "versions": package_versions(),
            "stages": self.stages,
            "results": self.results,
        }
        return relative_paths(record, self.root) if self.root is not None else record

    def save(self) -> Path:
        return atomic_write_json(self.path, self.to_dict())

    def stage_done(self, stage: str, seconds: float, **details: Any) -> None:
        """Record a finished stage and save."""
        self.stages = [s for s in self.stages if s["stage"] != stage]
        self.stages.append(
            {"stage": stage, "status": "completed", "seconds": round(seconds, 2), **details}
        )
        self.save()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[StageRecord]:
        """Time one stage and record its outcome: completed with its details, or failed.

        A failure is recorded (stage and reason) and re-raised, so the manifest of a
        run that stopped says where and why.

        Examples
        --------
        >>> with manifest.stage("composite") as stage:  # doctest: +SKIP
        ...     products = stage.outputs(season_products(...))
        """
        started = time.monotonic()
        record = StageRecord()
        try:
            yield record
        except BaseException as exc:
            self.fail(name, f"{type(exc).__name__}: {exc}")
            log.error("run %s failed in stage %s: %s", self.run_id, name, exc)
            raise
        self.stage_done(name, time.monotonic() - started, **record.details)

    def fail(self, stage: str, reason: str) -> None:
        """Record a permanent failure and save."""
        self.outcome = "failed"
        self.failure = {"stage": stage, "reason": reason}
        self.stages.append({"stage": stage, "status": "failed", "reason": reason})
        self.save()

    def await_reference(self, **results: Any) -> None:
        """Phase 1 done: the reference sample is drawn and waits for its labels (not a failure)."""
        self.outcome = "awaiting_reference"
        self.failure = None
        self.results.update(results)
        self.save()

    def complete(self, **results: Any) -> None:
        self.outcome = "completed"
        self.failure = None
        self.results.update(results)
        self.save()

    @classmethod
    def read(cls, path: Path) -> dict[str, Any]:
        return json.loads(Path(path).read_text(encoding="utf-8"))
