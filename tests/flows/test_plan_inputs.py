"""What names a run: every input it reads, the optional drone and feedback files included."""

from __future__ import annotations

import shutil
from pathlib import Path

from flows.config import load_config
from flows.plan import plan_run


def _config_with_own_frame(small_region, workspace: Path, config_writer) -> tuple[Path, Path]:
    """The demo configuration of the small region, with its segment frame copied beside it."""
    config = config_writer(small_region, workspace)
    frame = Path(small_region.root) / "drone" / "frame.gpkg"
    own = workspace / "frame.gpkg"
    shutil.copyfile(frame, own)
    text = config.read_text(encoding="utf-8").replace(str(frame), str(own))
    assert str(own) in text, "the demo configuration names a segment frame"
    config.write_text(text, encoding="utf-8")
    return config, own


def test_a_changed_segment_frame_is_another_run(small_region, tmp_path, config_writer):
    """The frame's map areas enter the segment estimates: other bytes, another run folder
    (and so no stage result cached on the old frame's path is reused)."""
    import geopandas as gpd

    config_path, frame = _config_with_own_frame(small_region, tmp_path / "ws", config_writer)
    year = small_region.years[0]
    first, manifest = plan_run(load_config(config_path), year)
    assert plan_run(load_config(config_path), year)[0].run_id == first.run_id, "same inputs"
    assert "segment_frame" in {record["role"] for record in manifest.inputs}

    segments = gpd.read_file(frame)
    segments.iloc[:-1].to_file(frame, driver="GPKG")  # one segment fewer
    assert plan_run(load_config(config_path), year)[0].run_id != first.run_id


def test_frame_sizes_name_the_run_and_a_missing_feedback_file_is_no_error(
    small_region, tmp_path, config_writer
):
    config_path, _ = _config_with_own_frame(small_region, tmp_path / "ws", config_writer)
    config = load_config(config_path)
    year = small_region.years[0]
    first, _ = plan_run(config, year)

    sizes = {key: value + 1 for key, value in config.inputs.segment_frame_sizes.items()}
    changed = config.model_copy(
        update={"inputs": config.inputs.model_copy(update={"segment_frame_sizes": sizes})}
    )
    assert plan_run(changed, year)[0].run_id != first.run_id

    absent = config.model_copy(update={"inputs": config.inputs.model_copy(
        update={"feedback": str(tmp_path / "no" / "{year}" / "feedback.csv")})})  # fmt: skip
    plan, manifest = plan_run(absent, year)
    assert "feedback" not in {record["role"] for record in manifest.inputs}
