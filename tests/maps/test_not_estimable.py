"""A district that is not estimable (NaN area) is published as such, not as 0 or 'nan'."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from maps.downloads import published_table
from maps.report import _fmt, crop_totals

ESTIMATES = pd.DataFrame({
    "district_id": ["D01", "D02", "D03"], "crop": ["opium_poppy"] * 3,
    "area_ha": [100.0, 40.0, np.nan], "ci_low_ha": [80.0, 30.0, np.nan],
    "ci_high_ha": [120.0, 50.0, np.nan], "se_ha": [10.0, 5.0, np.nan],
    "n_reference": [60, 60, 0], "method": ["stratified", "stratified", "not_estimable"],
})  # fmt: skip


def test_totals_leave_the_empty_district_out_and_count_it():
    totals = crop_totals(ESTIMATES).loc["opium_poppy"]
    assert totals["area_ha"] == 140.0 and totals["n_not_estimable"] == 1
    assert totals["ci_high_ha"] == pytest.approx(140 + 1.96 * math.sqrt(100 + 25))


def test_published_csv_and_report_cells_show_no_nan():
    text = io.StringIO()
    published_table(ESTIMATES, run_id="r", synthetic=True).to_csv(text, index=False)
    assert "nan" not in text.getvalue().lower().replace("not_estimable", "")
    assert "not_estimable" in text.getvalue()
    assert _fmt(np.nan) == "–"
