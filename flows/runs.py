"""The runs of a workspace: which run of a year holds the reference sample, its map, its files."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from core.errors import NotFoundError

__all__ = ["sample_runs", "sample_run", "run_inputs"]

log = logging.getLogger(__name__)


def sample_runs(workspace: str | Path, year: int | None = None) -> list[Path]:
    """Run folders with a drawn reference sample, newest first (of ``year`` if given)."""
    pattern = f"runs/{year if year is not None else '*'}/*/reference_sample.gpkg"
    found = sorted(Path(workspace).glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.parent for p in found]


def sample_run(workspace: str | Path, year: int | None = None) -> Path:
    """The newest run folder of ``year`` (default any year) with a reference sample.

    Raises
    ------
    NotFoundError
        No run has drawn a sample yet; the message says how to make one.
    """
    runs = sample_runs(workspace, year)
    if not runs:
        which = f"of {year} " if year is not None else ""
        raise NotFoundError(
            f"no run {which}in {workspace} has a reference sample yet; run the survey first "
            "(admon run survey.toml)"
        )
    return runs[0]


def run_inputs(workspace: str | Path, year: int | None = None) -> dict[str, Any]:
    """Class map, districts and labelled sample of a year's newest run, for ``admon estimate``.

    Raises
    ------
    NotFoundError
        No such run, or its sample is not labelled yet.
    """
    run_dir = sample_run(workspace, year)
    labelled = run_dir / "reference_labelled.gpkg"
    if not labelled.exists():
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("parameters", {}).get("reference_interpreter") == "file":
            raise NotFoundError(
                f"{run_dir}: the reference sample is not labelled yet (outcome "
                f"{manifest.get('outcome')}); label it, then run the survey again"
            )
        labelled = run_dir / "reference_sample.gpkg"  # the demo's, labelled from its truth
    return {
        "run_dir": run_dir,
        "classes": run_dir / "classes.tif",
        "districts": run_dir / "districts.gpkg",
        "reference": labelled,
    }
