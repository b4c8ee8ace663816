"""Change in illicit cultivation since each AD programme's baseline.

For every programme × district × crop the current district estimate (with its
confidence interval) is set against the programme's baseline, and the change
gets its own interval and a verdict. The rules, chosen and tested here:

Baseline
    *Reported* (``baseline_<crop>_ha`` in the programme table) is the figure for the
    whole programme, a census-like number with no sampling error; its only known
    uncertainty is rounding, so its SE is that of a uniform rounding error,
    ``unit / sqrt(12)`` with ``unit`` the last reported decimal (``4.2`` → 0.1 ha →
    SE 0.029 ha; ``420`` → 1 ha → SE 0.29 ha). A
    one-district programme uses it as that district's baseline. For several districts
    it is allocated to them by the shares of the baseline year's district estimates
    (``note`` says so), and the shares' sampling error (delta method) joins the
    rounding error in the allocated baseline's SE; without those
    estimates the district rows have no baseline and the comparison is made on the
    programme-level row only.
    *Derived*: with no reported figure, the baseline is the baseline year's district
    estimate (its run recorded in ``baseline_run_id``) and carries that estimate's SE.
    No figure either way: ``baseline_source`` ``"missing"``, verdict ``"no baseline"``.
Programme-level rows
    A programme over several districts also gets a row with ``district_id`` ``"ALL"``:
    sums of its districts' estimates, SEs added in quadrature (districts are sampled
    independently). It has numbers only when every district has an estimate.
Programme-area rows
    With a class map and programme polygons, ``district_id`` ``"AREA"`` rows give the
    mapped crop area inside the polygon times the ratio estimate / mapped area of the
    programme's districts (``method`` ``"map area × district ratio"``), or the bare
    mapped area, flagged ``"map area (no sample-based interval)"``.
Change interval
    ``change = current − baseline``; the two years are independent samples, so
    ``SE(change) = sqrt(SE_current² + SE_baseline²)`` and the interval is
    ``change ± z·SE``. SE of an estimate is ``se_ha``, or half its interval width / z.
Verdict
    ``"decrease"`` (interval below 0), ``"increase"`` (above 0), ``"no detectable change"``
    (contains 0); and, when a number is missing, ``"no estimate"`` (no current estimate:
    the row is kept), ``"no baseline"`` or ``"no interval"`` (an estimate without SE).
"""

from __future__ import annotations

from models.change.baseline import CHANGE_COLUMNS, VERDICTS, programme_change
from models.change.did import DID_VERDICTS, programme_vs_other
from models.change.inputs import reported_se
from models.change.output import artifact_table, write_programme_change
from models.change.totals import sum_of_districts
from models.change.trends import programme_series

__all__ = [
    "CHANGE_COLUMNS",
    "VERDICTS",
    "DID_VERDICTS",
    "reported_se",
    "programme_change",
    "programme_series",
    "programme_vs_other",
    "sum_of_districts",
    "write_programme_change",
    "artifact_table",
]
