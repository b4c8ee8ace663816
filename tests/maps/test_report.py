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


def test_totals_carry_the_unseen_terms_in_the_upper_limit_only():
    estimates = make_estimates(make_districts(2, 1), 2024)
    poppy = estimates["crop"] == "opium_poppy"
    estimates["unseen_se_ha"] = 0.0
    estimates.loc[poppy, "unseen_se_ha"] = [3.0, 4.0]
    se = estimates.loc[poppy, "se_ha"].to_numpy(float)
    totals = crop_totals(estimates).loc["opium_poppy"]
    assert abs(totals["ci_low_ha"] - (30 - 1.96 * (se**2).sum() ** 0.5)) < 1e-9
    assert abs(totals["ci_high_ha"] - (30 + 1.96 * ((se**2).sum() + 25) ** 0.5)) < 1e-9


def test_the_report_says_how_far_the_interpreters_agreed(tmp_path):
    state = {
        "source": "store", "n_points": 500, "n_labelled": 500, "n_unsure": 3,
        "n_unresolved_disagreements": 2,
        "agreement": {"n_points": 50, "overall": 0.88, "kappa": 0.8279, "n_disagreements": 6,
                      "per_class": [{"class": "opium_poppy", "n_first": 6, "n_second": 5,
                                     "n_both": 5, "agreement": 0.909, "kappa": 0.898},
                                    {"class": "water", "n_first": 0, "n_second": 2,
                                     "n_both": 0, "agreement": 0.0, "kappa": None}]},
    }  # fmt: skip
    text = _report(tmp_path, {"results": {"interpretation": state}})
    assert "500 of 500 sample points" in text and "labelled by interpreters" in text
    assert "agreed on <b>88.0%</b>" in text and "kappa\n<b>0.828</b>" in text
    assert "6 disagreements, 2\nnot settled" in text and "3 labels marked unsure" in text
    assert '<td>Opium poppy</td><td class="num">11</td><td class="num">0.909</td>' in text
    assert (
        '<td>Water</td><td class="num">2</td><td class="num">0.000</td><td class="num">–</td>'
        in text
    )
    assert "Reference labels" not in _report(tmp_path, {})
