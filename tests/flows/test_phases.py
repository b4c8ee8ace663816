"""Phase 2 reuses the map phase 1 drew its sample on, and nothing else."""

from __future__ import annotations

from flows.phases import FROZEN_STAGES, frozen_stages


def _manifest(tmp_path, *, drop: str | None = None) -> dict:
    classes = tmp_path / "classes.tif"
    classes.write_bytes(b"map")
    outputs = {
        "ingest": [str(tmp_path / "scene.json")],
        "composite": {"composite_median": str(tmp_path / "median.tif")},
        "classify": {"classes": str(classes), "holdout_accuracy": 0.9},
        "sample": {"reference_sample": str(tmp_path / "reference_sample.gpkg"), "n_points": 3},
    }
    for path in ("scene.json", "median.tif", "reference_sample.gpkg"):
        (tmp_path / path).write_bytes(b"x")
    stages = [
        {"stage": s, "status": "completed", "outputs": outputs[s]}
        for s in FROZEN_STAGES
        if s != drop
    ]
    stages.append({"stage": "labels", "status": "completed", "outputs": {"complete": False}})
    return {"outcome": "awaiting_reference", "stages": stages}


def test_after_phase_1_the_map_stages_are_reused(tmp_path):
    frozen = frozen_stages(_manifest(tmp_path), "file")
    assert list(frozen) == list(FROZEN_STAGES)
    assert frozen["classify"]["classes"] == str(tmp_path / "classes.tif")


def test_nothing_is_reused_without_a_drawn_sample_for_people_or_with_a_file_gone(tmp_path):
    assert frozen_stages(None, "file") == {}
    assert frozen_stages(_manifest(tmp_path, drop="sample"), "file") == {}
    assert frozen_stages(_manifest(tmp_path), "synthetic_truth") == {}  # the demo recomputes
    manifest = _manifest(tmp_path)
    (tmp_path / "classes.tif").unlink()
    assert frozen_stages(manifest, "file") == {}


def test_a_manifest_saved_relative_to_the_workspace_is_reused_with_its_files_found(tmp_path):
    from core.io import relative_paths

    workspace = tmp_path.parent  # the run folder is inside it
    saved = relative_paths(_manifest(tmp_path), workspace)  # as RunManifest writes it
    assert saved["stages"][2]["outputs"]["classes"] == f"{tmp_path.name}/classes.tif"
    assert frozen_stages(saved, "file") == {}  # not found from elsewhere: recomputed
    frozen = frozen_stages(saved, "file", workspace)
    assert list(frozen) == list(FROZEN_STAGES)
    assert frozen["classify"]["classes"] == str(tmp_path.resolve() / "classes.tif")
    assert frozen["ingest"] == [str(tmp_path.resolve() / "scene.json")]
    assert frozen["sample"]["n_points"] == 3
