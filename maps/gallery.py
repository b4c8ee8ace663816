"""The gallery pages ``published/public/index.html`` and ``published/restricted/index.html``.

Every run, by year, newest first. Each site is self-contained: its gallery
links to ``runs/<year>/<run_id>/map.html`` inside its own folder (see
:mod:`maps.site`), so the web service serves it as it is and a copy of the
folder on a laptop or USB stick browses offline.
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
from maps.front import front_page
from maps.site import AUDIENCES, site_root, sync_published_runs

__all__ = ["PUBLISH_RECORD", "GalleryEntry", "list_runs", "build_gallery"]

logger = logging.getLogger(__name__)

PUBLISH_RECORD = "publish.json"
"""Written by :func:`maps.publish_run` into the run folder: year, synthetic flag, summary."""

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)

_ENV.filters["ha"] = lambda v: (
    "–" if v is None or v != v else f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"
)
_ENV.filters["signed"] = lambda v: (
    "–"
    if v is None or v != v
    else ("+" if v > 0 else "−" if v < 0 else "±")
    + (f"{abs(v):,.0f}" if abs(v) >= 100 else f"{abs(v):,.1f}")
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


def _entry(run_dir: Path, workspace: Path, audience: str = "restricted") -> GalleryEntry:
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
    files = run_dir / "public" if audience == "public" else run_dir

    def link(name: str) -> str | None:
        return (rel / name).as_posix() if (files / name).exists() else None

    return {
        "year": year,
        "run_id": str(manifest.get("run_id", run_dir.name)),
        "created": str(manifest.get("created", record.get("published", ""))),
        "synthetic": bool(record.get("synthetic", manifest.get("synthetic", False))),
        "summary": [str(line) for line in record.get("summary", [])],
        "survey_name": str(
            record.get("survey_name")
            or ((manifest.get("parameters") or {}).get("survey") or {}).get("name")
            or ""
        ),
        "programmes": [p for p in record.get("programmes", []) if isinstance(p, dict)],
        "folder": rel.as_posix() + "/",
        "run_dir": run_dir,
        "map": link("map.html"),
        "report": link("report.html"),
        "thumbnail": link("thumbnail.png"),
        "csv": link("district_estimates.csv"),
        "gpkg": link("district_estimates.gpkg"),
        "geojson": link("district_estimates.geojson"),
    }


def list_runs(workspace: str | Path, audience: str = "restricted") -> list[GalleryEntry]:
    """Every ``runs/<year>/<run_id>/`` with a ``manifest.json``, newest first.

    Newest means highest year, then latest ``created`` timestamp, then run id. For the
    ``public`` audience the links point at each run's public set.
    """
    workspace = Path(workspace)
    entries = [
        _entry(m.parent, workspace, audience)
        for m in sorted(workspace.glob("runs/*/*/manifest.json"))
    ]
    entries.sort(key=lambda e: (e["year"], e["created"], e["run_id"]), reverse=True)
    return entries


def build_gallery(workspace: str | Path) -> Path:
    """Write both sites' galleries listing every run, and mirror the runs' pages into them.

    The restricted files of each run (map, report, PNGs, downloads, assets) are
    hard-linked or copied under ``published/restricted/runs/``, its public set under
    ``published/public/runs/`` (see :mod:`maps.site`).

    Parameters
    ----------
    workspace
        The admon workspace (holds ``runs/``).

    Returns
    -------
    Path
        The public gallery page, ``published/public/index.html`` (the restricted one is
        ``published/restricted/index.html``).

    Raises
    ------
    InvalidInputError
        A run's ``manifest.json`` is not readable JSON or has no usable year.

    Examples
    --------
    >>> build_gallery("workspace")  # doctest: +SKIP
    PosixPath('workspace/published/public/index.html')
    """
    workspace = Path(workspace)
    pages = {}
    for audience in AUDIENCES:
        runs = list_runs(workspace, audience)
        sync_published_runs(workspace, [entry["run_dir"] for entry in runs], audience)
        years = [(year, list(group)) for year, group in groupby(runs, key=lambda e: e["year"])]
        page = _ENV.get_template("gallery.html").render(
            runs=runs,
            years=years,
            front=front_page(runs, audience),
            audience=audience,
            built=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        pages[audience] = atomic_write_text(site_root(workspace, audience) / "index.html", page)
        logger.info("%s gallery of %d runs at %s", audience, len(runs), pages[audience])
    return pages["public"]
