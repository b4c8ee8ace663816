"""``published/public/`` and ``published/restricted/``: two self-contained websites.

The public site is what a government may put on its website (each run's
``public/`` set: aggregates only); the restricted site is the working group's
(the run folder's pages, PNGs, downloads and ``static/`` assets: everything,
survey plots included). The web service serves ``published/public/`` at ``/``
and ``published/restricted/`` at ``/restricted/`` behind a token, and either
folder can be copied alone to a laptop or a web server and browsed offline.
Each gallery links to ``runs/<year>/<run_id>/...`` inside its own folder.
Files are hard-linked where the file system allows (no second copy on disk) and
copied otherwise; a file that changed in the run folder is replaced, a run that
no longer exists is removed from the mirror.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

__all__ = [
    "AUDIENCES",
    "PUBLISHED_PATTERNS",
    "PUBLIC_PATTERNS",
    "site_root",
    "mirror_run",
    "sync_published_runs",
]

logger = logging.getLogger(__name__)

PUBLISHED_PATTERNS: tuple[str, ...] = (
    "map.html",
    "report.html",
    "provenance.html",
    "thumbnail.png",
    "map_*.png",
    "chart_*.png",
    "overlay_*.png",
    "district_estimates.csv",
    "district_estimates.gpkg",
    "district_estimates.geojson",
    "programme_change.csv",
    "region_estimates.csv",
    "programme_vs_other.csv",
    "programme_series.csv",
    "programme_feedback.csv",
    "eradication.csv",
    "production.csv",
    "segment_estimates.csv",
    "manifest.json",
    "publish.json",
    "static/*",
)
"""Files of a run folder that belong to the restricted website."""

PUBLIC_PATTERNS: tuple[str, ...] = (
    "*.html",
    "*.png",
    "*.csv",
    "*.gpkg",
    "*.geojson",
    "publish.json",
    "static/*",
)
"""Files of a run's ``public/`` set that belong to the public website."""

AUDIENCES: tuple[str, ...] = ("public", "restricted")
"""The two publications, each a folder of ``published/``."""


def site_root(workspace: Path, audience: str) -> Path:
    """``<workspace>/published/<audience>``."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, got {audience!r}")
    return Path(workspace) / "published" / audience


def _same(source: Path, target: Path) -> bool:
    if not target.exists():
        return False
    a, b = source.stat(), target.stat()
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        return True
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime)


def _place(source: Path, target: Path) -> None:
    """Link (or copy) ``source`` to ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.name}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(source, tmp)
    except OSError:  # another file system, or links not supported (FAT USB sticks)
        shutil.copy2(source, tmp)
    os.replace(tmp, target)


def mirror_run(
    run_dir: Path, target_dir: Path, patterns: tuple[str, ...] = PUBLISHED_PATTERNS
) -> int:
    """Mirror the files of ``run_dir`` matching ``patterns`` into ``target_dir``; return files placed.

    Files of ``target_dir`` that are no longer published by the run are removed.
    """
    wanted: dict[Path, Path] = {}
    for pattern in patterns:
        for source in run_dir.glob(pattern):
            if source.is_file() and not source.name.startswith(".tmp-"):
                wanted[source.relative_to(run_dir)] = source
    placed = 0
    for relative, source in sorted(wanted.items()):
        target = target_dir / relative
        if not _same(source, target):
            _place(source, target)
            placed += 1
    if target_dir.exists():
        for existing in sorted(target_dir.rglob("*"), reverse=True):
            relative = existing.relative_to(target_dir)
            if existing.is_file() and relative not in wanted:
                existing.unlink()
            elif existing.is_dir() and not any(existing.iterdir()):
                existing.rmdir()
    return placed


def sync_published_runs(workspace: Path, run_dirs: list[Path], audience: str) -> Path:
    """Mirror every listed run into one site's ``runs/`` and drop runs that are gone.

    Parameters
    ----------
    workspace
        The admon workspace.
    run_dirs
        ``<workspace>/runs/<year>/<run_id>/`` folders to publish.
    audience
        ``"public"`` (each run's ``public/`` set) or ``"restricted"`` (the run folder).

    Returns
    -------
    Path
        ``<workspace>/published/<audience>/runs``.
    """
    _remove_single_site(workspace)
    mirror_root = site_root(workspace, audience) / "runs"
    keep = set()
    placed = 0
    for run_dir in run_dirs:
        relative = run_dir.relative_to(workspace / "runs")
        keep.add(relative)
        if audience == "public":
            placed += mirror_run(run_dir / "public", mirror_root / relative, PUBLIC_PATTERNS)
        else:
            placed += mirror_run(run_dir, mirror_root / relative)
    if mirror_root.exists():
        for stale in sorted(mirror_root.glob("*/*")):
            if stale.is_dir() and stale.relative_to(mirror_root) not in keep:
                shutil.rmtree(stale)
                logger.info("removed %s from the published site (run folder gone)", stale)
        for year_dir in mirror_root.iterdir():
            if year_dir.is_dir() and not any(year_dir.iterdir()):
                year_dir.rmdir()
    logger.debug("published site: %d files placed for %d runs", placed, len(run_dirs))
    return mirror_root


def _remove_single_site(workspace: Path) -> None:
    """Remove the one-site layout of earlier admon (``published/index.html`` and
    ``published/runs/``): it held the survey plots, and a web server pointed at
    ``published/`` would serve them to anyone."""
    old = Path(workspace) / "published"
    if (old / "runs").is_dir():
        shutil.rmtree(old / "runs")
        logger.warning(
            "removed %s: the single published site is now public/ and restricted/", old / "runs"
        )
    (old / "index.html").unlink(missing_ok=True)
