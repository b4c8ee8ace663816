"""Report details that the shared published run does not cover."""

from __future__ import annotations

from maps.report import build_report, crop_totals
from tests.maps.builders import make_districts, make_estimates

CONFUSION_CSV = """map_class,opium_poppy,cannabis,other_crops
opium_poppy,8,2,0
cannabis,0,9,1
other_crops,4,0,26
"""


def _report(tmp_path, manifest):
    estimates = make_estimates(make_districts(2, 1), 2024)
    return build_report(
        tmp_path, district_estimates=estimates, year=2024, run_id="r", maps=[], charts=[],
        downloads={}, manifest=manifest,
    ).read_text()  # fmt: skip


def test_accuracy_from_the_flow_confusion_matrix(tmp_path):
    (tmp_path / "confusion_matrix.csv").write_text(CONFUSION_CSV)
    text = _report(tmp_path, {"accuracy": {"confusion_matrix": "confusion_matrix.csv"}})
    # overall 43/50; users 8/10, 9/10, 26/30; producers 8/12, 9/11, 26/27
    assert "Overall accuracy: <b>0.860</b>" in text
    for value in ("0.800", "0.900", "0.867", "0.667", "0.818", "0.963"):
        assert f">{value}<" in text, value
    assert "held-out confusion matrix" in text


def test_recorded_holdout_accuracy_wins_and_missing_parts_are_skipped(tmp_path):
    text = _report(
        tmp_path, {"accuracy": {"holdout_accuracy": 0.91, "confusion_matrix": "gone.csv"}}
    )
    assert "Overall accuracy: <b>0.910</b>" in text
    assert "accuracy-table" not in text
    bare = _report(tmp_path, {})
    assert "no manifest was given" in bare and "Map accuracy" not in bare


def test_totals_fall_back_to_interval_width_without_se():
    estimates = make_estimates(make_districts(2, 1), 2024).drop(columns="se_ha")
    totals = crop_totals(estimates)
    # poppy 10 + 20 ha, se recovered as 1 and 2: 30 ± 1.96 sqrt(5)
    assert totals.loc["opium_poppy", "area_ha"] == 30
    assert abs(totals.loc["opium_poppy", "ci_high_ha"] - (30 + 1.96 * 5**0.5)) < 1e-9
    assert totals.loc["opium_poppy", "n_reference"] == 21 + 22
