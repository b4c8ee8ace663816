"""The area-frame (segment) rows of a run: both estimators, and how many segments a target needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def test_segment_rows_give_both_estimators_and_the_segments_a_target_needs(serial_run):
    from flows.stages import SEGMENT_TARGET

    year = min(serial_run["results"])
    rows = pd.read_csv(Path(serial_run["results"][year]["run_dir"]) / "segment_estimates.csv")
    assert set(rows["crop"]) == {"opium_poppy", "cannabis"}
    for _, crop_rows in rows.groupby("crop"):
        assert sorted(crop_rows["method"]) == ["segment_difference", "segment_expansion"]
        assert crop_rows.loc[crop_rows["recommended"], "method"].tolist() == ["segment_difference"]
    assert (rows["target_half_width"] == SEGMENT_TARGET).all()
    assert (rows["area_ha"] >= 0).all(), "no negative hectares are published"
    assert (rows["ci_low_ha"] <= rows["area_ha"]).all() and (
        rows["area_ha"] <= rows["ci_high_ha"]
    ).all()
    needed = rows["segments_needed"].dropna()
    assert len(needed) > 0, "a crop the segments show gets a plan"
    assert (needed == np.round(needed)).all() and (needed >= 2 * 2).all()  # >= 2 per stratum
    # the interval is ±half_width; where it is wider than the target, more segments are needed
    half = (rows["ci_high_ha"] - rows["ci_low_ha"]) / 2 / rows["area_ha"]
    wider = rows[(half > SEGMENT_TARGET) & rows["segments_needed"].notna()]
    assert (wider["segments_needed"] > wider["n_segments"]).all()
