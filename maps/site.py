"""``published/`` as a self-contained website: the gallery plus each run's viewable files.

The web service serves ``<workspace>/published/`` at ``/`` and nothing above
it, and a reviewer may copy only that folder to a laptop. So the gallery
links to ``runs/<year>/<run_id>/...`` *inside* ``published/``, and this module
mirrors there the files a reviewer opens (pages, PNGs, downloads, the
``static/`` assets), never the working rasters or models. Files are
hard-linked where the file system allows (no second copy on disk) and copied
otherwise; a file that changed in the run folder is replaced, a run that no
longer exists is removed from the mirror.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

__all__ = ["PUBLISHED_PATTERNS", "mirror_run", "sync_published_runs"]

logger = logging.getLogger(__name__)

PUBLISHED_PATTERNS: tuple[str, ...] = (
    "map.html",
    "report.html",
    "thumbnail.png",
    "map_*.png",
    "chart_*.png",
    "overlay_*.png",
    "district_estimates.csv",
    "district_estimates.gpkg",
    "district_estimates.geojson",
    "programme_change.csv",
    "manifest.json",
    "publish.json",
    "static/*",
)
"""Files of a run folder that belong to the published website."""


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


def mirror_run(run_dir: Path, target_dir: Path) -> int:
    """Mirror the published files of one run folder into ``target_dir``; return files placed.

    Files of ``target_dir`` that are no longer published by the run are removed.
    """
    wanted: dict[Path, Path] = {}
    for pattern in PUBLISHED_PATTERNS:
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


def sync_published_runs(workspace: Path, run_dirs: list[Path]) -> Path:
    """Mirror every listed run under ``<workspace>/published/runs/`` and drop runs that are gone.

    Parameters
    ----------
    workspace
        The admon workspace.
    run_dirs
        ``<workspace>/runs/<year>/<run_id>/`` folders to publish.

    Returns
    -------
    Path
        ``<workspace>/published/runs``.
    """
    mirror_root = workspace / "published" / "runs"
    keep = set()
    placed = 0
    for run_dir in run_dirs:
        relative = run_dir.relative_to(workspace / "runs")
        keep.add(relative)
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
