"""Tests for models/feedback.py: household feedback questionnaires (Kobo / ODK exports)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInputError
from models.feedback import (
    aggregate_feedback,
    feedback_beside_change,
    load_feedback,
    wilson_interval,
)

# A KoboToolbox CSV export ("XML values and headers", group names, ';' delimiter)
KOBO = """\
start;end;today;location/programme_id;location/district_id;location/village;\
household/household_id;household/household_size;cultivation/grows_poppy;\
cultivation/grows_cannabis;livelihood/income_usd;livelihood/alternative_crops;\
feedback/satisfaction;_household_gps_latitude;_household_gps_longitude;_id;_uuid;\
_submission_time;_validation_status;__version__;_index
2025-02-03T08:10:00.000+06:30;2025-02-03T08:31:00.000+06:30;2025-02-03;P01;D01;Loi Hsang;\
HH-001;5;no;no;1200;coffee avocado;satisfied;20.91;98.95;101;u1;2025-02-03T02:01:00;;v1;1
2025-02-03T09:00:00.000+06:30;2025-02-03T09:20:00.000+06:30;2025-02-03;P01;D01;Loi Hsang;\
HH-002;6;yes;no;800;;3;20.91;98.95;102;u2;2025-02-03T03:01:00;;v1;2
2025-02-04T08:00:00.000+06:30;2025-02-04T08:20:00.000+06:30;2025-02-04;P01;D02;Nam Pawk;\
HH-003;4;no;yes;1500;coffee;very_satisfied;20.95;98.99;103;u3;2025-02-04T02:01:00;;v1;3
2025-02-04T09:00:00.000+06:30;2025-02-04T09:20:00.000+06:30;2025-02-04;P01;D02;Nam Pawk;\
HH-004;3;no;no;;macadamia;4;20.95;98.99;104;u4;2025-02-04T03:01:00;;v1;4
2025-02-05T09:00:00.000+06:30;2025-02-05T09:20:00.000+06:30;2025-02-05;P02;D03;Wan Tawng;\
HH-101;5;;no;900;tea;2;20.80;99.10;105;u5;2025-02-05T03:01:00;;v1;5
"""

# The same form from ODK Central: ',' delimiter, '-' group paths, metadata at the end
ODK = """\
SubmissionDate,location-programme_id,location-district_id,household-household_id,\
cultivation-grows_poppy,cultivation-grows_cannabis,livelihood-income_usd,\
livelihood-alternative_crops,feedback-satisfaction,meta-instanceID,KEY,SubmitterID,ReviewState
2025-02-03T02:01:00.000Z,P01,D01,HH-001,0,0,1200,coffee avocado,4,uuid:a,uuid:a,7,approved
2025-02-03T03:01:00.000Z,P01,D01,HH-002,1,0,800,,3,uuid:b,uuid:b,7,
"""


def _write(tmp_path, text, name="household_survey.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_kobo_export_is_read_with_group_paths(tmp_path):
    feedback, report = load_feedback(_write(tmp_path, KOBO))
    assert (report.total_rows, report.accepted, report.rejected) == (5, 5, 0)
    first = feedback.iloc[0]
    assert (first["programme_id"], first["district_id"], first["village"]) == (
        "P01",
        "D01",
        "Loi Hsang",
    )
    assert first["household_id"] == "HH-001" and first["household_size"] == 5
    assert first["grows_poppy"] == 0 and first["income_usd"] == 1200
    assert first["alternative_crops"] == "avocado;coffee"
    assert first["satisfaction"] == 4  # "satisfied"
    assert first["survey_year"] == 2025 and str(first["survey_date"]) == "2025-02-03"
    assert math.isnan(feedback.iloc[4]["grows_poppy"])  # not answered


def test_odk_central_export_reads_the_same(tmp_path):
    feedback, report = load_feedback(_write(tmp_path, ODK))
    assert report.ok and len(feedback) == 2
    assert list(feedback["grows_poppy"]) == [0.0, 1.0]
    assert list(feedback["alternative_crops"]) == ["avocado;coffee", ""]
    assert feedback.iloc[0]["survey_year"] == 2025


def test_kobo_split_select_multiple_columns(tmp_path):
    text = (
        "programme_id,district_id,household_id,grows_poppy,"
        "livelihood/alternative_crops/coffee,livelihood/alternative_crops/tea\n"
        "P01,D01,H1,no,1,1\nP01,D01,H2,no,0,0\n"
    )
    feedback, report = load_feedback(_write(tmp_path, text))
    assert report.ok and list(feedback["alternative_crops"]) == ["coffee;tea", ""]


def test_bad_rows_are_rejected_with_row_and_column(tmp_path):
    text = (
        "programme_id;district_id;household_id;grows_poppy;income_usd;satisfaction\n"
        "P01;D01;H1;yes;100;5\n"  # row 1 ok
        ";D01;H2;no;100;5\n"  # row 2: no programme
        "P01;D01;H3;maybe;100;5\n"  # row 3: not yes/no
        "P01;D01;H4;no;-3;5\n"  # row 4: negative income
        "P01;D01;H5;no;100;7\n"  # row 5: satisfaction out of scale
        "P01;D01;H1;no;100;4\n"  # row 6: duplicate household
    )
    feedback, report = load_feedback(_write(tmp_path, text))
    assert list(feedback["household_id"]) == ["H1"]
    assert (report.accepted, report.rejected) == (1, 5)
    assert {(e.row, e.field) for e in report.errors} == {
        (2, "programme_id"),
        (3, "grows_poppy"),
        (4, "income_usd"),
        (5, "satisfaction"),
        (6, "household_id"),
    }
    assert "row 1" in next(e.message for e in report.errors if e.row == 6)


def test_export_without_programme_column_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="programme"):
        load_feedback(_write(tmp_path, "district_id,grows_poppy\nD01,no\n"))


def test_wilson_interval_matches_the_formula():
    # Wilson: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), k = 7, n = 20
    z, n, p = 1.959963984540054, 20, 0.35
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert wilson_interval(7, 20) == pytest.approx((centre - half, centre + half))
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0, abs=1e-12) and high == pytest.approx(z**2 / (10 + z**2))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_aggregate_per_programme_and_district(tmp_path):
    feedback, _ = load_feedback(_write(tmp_path, KOBO))
    summary = aggregate_feedback(feedback).set_index(["programme_id", "district_id"])
    assert list(summary.index) == [("P01", "ALL"), ("P01", "D01"), ("P01", "D02"), ("P02", "D03")]
    d1 = summary.loc[("P01", "D01")]
    assert d1["n_households"] == 2 and d1["share_growing_poppy"] == 0.5
    assert (d1["share_growing_poppy_ci_low"], d1["share_growing_poppy_ci_high"]) == pytest.approx(
        wilson_interval(1, 2)
    )
    assert d1["mean_income_usd"] == 1000 and d1["mean_satisfaction"] == 3.5
    assert d1["share_adopted_alternative"] == 0.5
    d2 = summary.loc[("P01", "D02")]
    assert d2["mean_income_usd"] == 1500 and d2["n_income"] == 1  # one income not answered
    assert d2["share_growing_cannabis"] == 0.5
    everyone = summary.loc[("P01", "ALL")]
    assert everyone["n_households"] == 4 and everyone["share_growing_poppy"] == 0.25
    assert everyone["mean_satisfaction"] == pytest.approx((4 + 3 + 5 + 4) / 4)
    p2 = summary.loc[("P02", "D03")]
    assert p2["n_poppy_answers"] == 0 and np.isnan(p2["share_growing_poppy"])
    assert p2["survey_years"] == "2025"


def test_feedback_is_shown_beside_the_change_rows(tmp_path):
    feedback, _ = load_feedback(_write(tmp_path, KOBO))
    summary = aggregate_feedback(feedback)
    change = pd.DataFrame(
        {
            "programme_id": ["P01", "P01", "P01", "P09"],
            "district_id": ["D01", "D01", "ALL", "D09"],
            "crop": ["opium_poppy", "cannabis", "opium_poppy", "opium_poppy"],
            "change_ha": [-5.0, 1.0, -9.0, 0.0],
        }
    )
    beside = feedback_beside_change(change, summary)
    assert len(beside) == 4
    assert list(beside["feedback_share_growing"][:3]) == [0.5, 0.0, 0.25]
    assert beside.iloc[0]["feedback_n_households"] == 2
    assert np.isnan(beside.iloc[3]["feedback_share_growing"])


def test_committed_kobo_example_loads():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "data/examples/programmes_feedback_kobo.csv"
    feedback, report = load_feedback(example)
    assert report.ok and len(feedback) == 5
    assert set(feedback["programme_id"]) == {"AD-001", "AD-002"}


def test_demo_household_survey_round_trips(tmp_path):
    synthetic_feedback = pytest.importorskip("synthetic.feedback")
    from synthetic import generate_truth

    truth = generate_truth(42, size=(300, 240), n_districts=6)
    year = max(truth.years)
    path = tmp_path / "household_survey.csv"
    path.write_text(synthetic_feedback.household_survey_text(truth, year), encoding="utf-8")
    feedback, report = load_feedback(path)
    answers = synthetic_feedback.household_survey(truth, year)
    assert report.ok and len(feedback) == len(answers)
    summary = aggregate_feedback(feedback).set_index(["programme_id", "district_id"])
    # independent count straight from the generator's answers
    by_district = answers.groupby(["household/programme_id", "household/district_id"])
    for (pid, did), part in by_district:
        row = summary.loc[(pid, did)]
        assert row["n_households"] == len(part)
        assert row["share_growing_poppy"] == pytest.approx(
            (part["household/grows_poppy"] == "yes").mean()
        )
        assert row["mean_income_usd"] == pytest.approx(part["household/income_usd"].mean())
        adopted = (part["household/alternative_crops"] != "").mean()
        assert row["share_adopted_alternative"] == pytest.approx(adopted)
        assert row["survey_years"] in {str(year - 1), str(year), f"{year - 1};{year}"}
