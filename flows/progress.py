"""A progress display for long survey runs, fed by the run manifests as stages finish."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["SurveyProgress", "STAGES"]

STAGES = ("ingest", "composite", "classify", "sample", "labels", "estimate", "link", "publish")
"""Every stage a year can have; ``sample`` and ``labels`` only with interpreters' labels."""

_INTERPRETED = frozenset({"sample", "labels"})


def _stages_of(manifest: dict) -> tuple[str, ...]:
    """The stages this run has: ``link`` only with programmes, ``sample``/``labels`` with people."""
    interpreter = (manifest.get("parameters") or {}).get("reference_interpreter", "file")
    roles = {i.get("role") for i in manifest.get("inputs", []) if isinstance(i, dict)}
    return tuple(
        s
        for s in STAGES
        if (interpreter == "file" or s not in _INTERPRETED)
        and (s != "link" or "programmes" in roles)
    )


class SurveyProgress:
    """Show one bar per survey year, advanced by the stages recorded in ``manifest.json``.

    The flow writes its manifest after every stage, so the display needs no hook into
    Prefect and works the same on a local run or a Dask cluster.
    """

    def __init__(
        self, workspace: Path, years: list[int], *, console: Console | None = None
    ) -> None:
        self.runs = Path(workspace) / "runs"
        self.years = sorted(years)
        self.started = time.time()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[year]}[/]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} stages"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks = {
            y: self.progress.add_task("waiting", total=len(STAGES), year=y) for y in self.years
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _latest_manifest(self, year: int) -> dict | None:
        candidates = [
            p
            for p in (self.runs / str(year)).glob("*/manifest.json")
            if p.stat().st_mtime >= self.started - 1
        ]
        if not candidates:
            return None
        try:
            return json.loads(max(candidates, key=lambda p: p.stat().st_mtime).read_text())
        except (OSError, ValueError):
            return None  # being replaced right now; read it next time

    def _update(self) -> None:
        for year, task_id in self.tasks.items():
            manifest = self._latest_manifest(year)
            if manifest is None:
                continue
            stages = _stages_of(manifest)
            done = [
                s["stage"] for s in manifest.get("stages", []) if s.get("status") == "completed"
            ]
            self.progress.update(task_id, total=len(stages))
            if manifest.get("outcome") == "completed":
                self.progress.update(task_id, completed=len(stages), description="done")
                continue
            if manifest.get("outcome") == "awaiting_reference":
                self.progress.update(
                    task_id, completed=len(done), description="[yellow]awaiting reference labels[/]"
                )
                continue
            if manifest.get("outcome") == "failed":
                failure = manifest.get("failure") or {}
                self.progress.update(
                    task_id, description=f"[red]failed in {failure.get('stage')}[/]"
                )
                continue
            following = next((s for s in stages if s not in done), "publish")
            self.progress.update(task_id, completed=len(done), description=f"{following}...")

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self._update()

    def __enter__(self) -> SurveyProgress:
        self.progress.start()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._update()
        self.progress.stop()
