"""The gallery page ``published/index.html``: every run, by year, newest first.

``published/`` is a self-contained website: the gallery links to
``runs/<year>/<run_id>/map.html`` inside it (see :mod:`maps.site`), so the
web service can serve the folder at ``/`` and a copy of the folder (or of the
whole workspace) on a laptop or USB stick browses offline as it is.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import jinja2

from core.errors import InvalidInputError
from core.io import atomic_write_text
from maps.site import sync_published_runs

__all__ = ["PUBLISH_RECORD", "GalleryEntry", "list_runs", "build_gallery"]

logger = logging.getLogger(__name__)

PUBLISH_RECORD = "publish.json"
"""Written by :func:`maps.publish_run` into the run folder: year, synthetic flag, summary."""

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)

GalleryEntry = dict[str, Any]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{path}: not valid JSON ({exc}); rerun the run or remove the folder"
        ) from exc
    if not isinstance(payload, dict):
        raise InvalidInputError(f"{path}: expected a JSON object, got {type(payload).__name__}")
    return payload


def _entry(run_dir: Path, workspace: Path) -> GalleryEntry:
    manifest = _read_json(run_dir / "manifest.json")
    record = _read_json(run_dir / PUBLISH_RECORD) if (run_dir / PUBLISH_RECORD).exists() else {}
    year_text = manifest.get("year", record.get("year", run_dir.parent.name))
    try:
        year = int(year_text)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{run_dir / 'manifest.json'}: year {year_text!r} is not a number; "
            "runs live in runs/<year>/<run_id>/"
        ) from None
    rel = Path("runs") / run_dir.relative_to(workspace / "runs")

    def link(name: str) -> str | None:
        return (rel / name).as_posix() if (run_dir / name).exists() else None

    return {
        "year": year,
        "run_id": str(manifest.get("run_id", run_dir.name)),
        "created": str(manifest.get("created", record.get("published", ""))),
        "synthetic": bool(record.get("synthetic", manifest.get("synthetic", False))),
        "summary": [str(line) for line in record.get("summary", [])],
        "folder": rel.as_posix() + "/",
        "run_dir": run_dir,
        "map": link("map.html"),
        "report": link("report.html"),
        "thumbnail": link("thumbnail.png"),
        "csv": link("district_estimates.csv"),
        "gpkg": link("district_estimates.gpkg"),
        "geojson": link("district_estimates.geojson"),
    }


def list_runs(workspace: str | Path) -> list[GalleryEntry]:
    """Every ``runs/<year>/<run_id>/`` with a ``manifest.json``, newest first.

    Newest means highest year, then latest ``created`` timestamp, then run id.
    """
    workspace = Path(workspace)
    entries = [
        _entry(m.parent, workspace) for m in sorted(workspace.glob("runs/*/*/manifest.json"))
    ]
    entries.sort(key=lambda e: (e["year"], e["created"], e["run_id"]), reverse=True)
    return entries


def build_gallery(workspace: str | Path) -> Path:
    """Write ``<workspace>/published/index.html`` listing every run, and mirror the runs' pages.

    The published files of each run (map, report, PNGs, downloads, assets)
    are hard-linked or copied under ``published/runs/`` (see :mod:`maps.site`).

    Parameters
    ----------
    workspace
        The admon workspace (holds ``runs/``).

    Returns
    -------
    Path
        The gallery page.

    Raises
    ------
    InvalidInputError
        A run's ``manifest.json`` is not readable JSON or has no usable year.

    Examples
    --------
    >>> build_gallery("workspace")  # doctest: +SKIP
    PosixPath('workspace/published/index.html')
    """
    workspace = Path(workspace)
    runs = list_runs(workspace)
    sync_published_runs(workspace, [entry["run_dir"] for entry in runs])
    years = [(year, list(group)) for year, group in groupby(runs, key=lambda e: e["year"])]
    page = _ENV.get_template("gallery.html").render(
        runs=runs, years=years, built=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    path = atomic_write_text(workspace / "published" / "index.html", page)
    logger.info("gallery of %d runs at %s", len(runs), path)
    return path
