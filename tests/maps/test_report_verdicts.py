"""The report's programme verdicts say what they rest on (maps/report.py)."""

from __future__ import annotations

import math

from maps.report import _qualified_verdict


def test_verdict_says_when_it_rests_on_an_exact_baseline_or_fails_holm():
    row = dict(verdict="decrease", baseline_uncertainty="given", p_holm=0.01)
    assert _qualified_verdict(row) == "decrease"
    exact = row | dict(baseline_uncertainty="not given")
    assert _qualified_verdict(exact) == "decrease (if the baseline is exact)"
    lost = row | dict(p_holm=0.2)
    assert _qualified_verdict(lost) == "decrease (not after Holm's correction)"
    # no decision, nothing to qualify; an older table without the columns reads as before
    assert _qualified_verdict(dict(verdict="no detectable change", p_holm=0.9)) == (
        "no detectable change"
    )
    assert _qualified_verdict(dict(verdict="increase", p_holm=math.nan)) == "increase"
