"""The progress display counts the stages a run has and shows a year waiting for its labels."""

from __future__ import annotations

import json
import os

from rich.console import Console

from flows.progress import SurveyProgress


def _write(workspace, outcome, stages, *, interpreter="file", programmes=False):
    run = workspace / "runs" / "2025" / "2025-abc"
    run.mkdir(parents=True, exist_ok=True)
    inputs = [{"role": "programmes", "path": "p.csv"}] if programmes else []
    manifest = {"outcome": outcome, "parameters": {"reference_interpreter": interpreter},
                "inputs": inputs, "stages": [{"stage": s, "status": "completed"} for s in stages]}  # fmt: skip
    (run / "manifest.json").write_text(json.dumps(manifest))


def _task(workspace):
    display = SurveyProgress(workspace, [2025], console=Console(file=open(os.devnull, "w")))
    for manifest in workspace.glob("runs/*/*/manifest.json"):
        manifest.touch()  # written by this run: the display ignores older manifests
    display._update()
    return display.progress.tasks[0]


def test_a_year_waiting_for_labels_says_so_and_counts_its_own_stages(tmp_path):
    _write(tmp_path, "awaiting_reference", ["ingest", "composite", "classify", "sample", "labels"])
    task = _task(tmp_path)
    assert (task.completed, task.total) == (5, 7)  # no programmes: no link stage
    assert "awaiting reference labels" in task.description


def test_the_demo_has_neither_sample_nor_labels_stages(tmp_path):
    _write(
        tmp_path, "running", ["ingest", "composite"], interpreter="synthetic_truth", programmes=True
    )
    task = _task(tmp_path)
    assert (task.completed, task.total) == (2, 6) and task.description == "classify..."
