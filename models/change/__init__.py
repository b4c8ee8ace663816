"""Change in illicit cultivation since each AD programme's baseline.

For every programme × district × crop the current district estimate (with its
confidence interval) is set against the programme's baseline, and the change
gets its own interval and a verdict. The rules, chosen and tested here:

Baseline
    *Reported* (``baseline_<crop>_ha`` in the programme table) is the figure for the
    whole programme. Its uncertainty is the table's ``baseline_<crop>_se_ha`` or 95%
    interval ``baseline_<crop>_ci_low_ha``/``_ci_high_ha`` when given
    (``baseline_uncertainty`` ``"given"``); else it is taken as exact but for rounding,
    the SE of a uniform rounding error ``unit / sqrt(12)`` with ``unit`` the last
    reported decimal (``4.2`` → 0.1 ha → SE 0.029 ha), marked ``"not given"``, and the
    row's note says its verdict is conditional on an exact baseline. A
    one-district programme uses it as that district's baseline. For several districts
    it is allocated to them by the shares of the baseline year's district estimates
    (``note`` says so), and the shares' sampling error (delta method) joins the
    rounding error in the allocated baseline's SE; without those
    estimates the district rows have no baseline and the comparison is made on the
    programme-level row only.
    *Derived*: with no reported figure, the baseline is the baseline year's district
    estimate (its run recorded in ``baseline_run_id``) and carries that estimate's
    interval and SE (``baseline_uncertainty`` ``"estimated"``).
    No figure either way: ``baseline_source`` ``"missing"``, verdict ``"no baseline"``.
Programme-level rows
    A programme over several districts also gets a row with ``district_id`` ``"ALL"``:
    sums of its districts' estimates (:mod:`models.change.totals`): independent parts
    add in quadrature, the regional proportion that borrowing districts share
    (``shared_se_ha``) adds linearly. It has numbers only when every district has an
    estimate.
Programme-area rows
    With a class map and programme polygons, ``district_id`` ``"AREA"`` rows give the
    mapped crop area inside the polygon times the ratio estimate / mapped area of the
    programme's districts (``method`` ``"map area × district ratio"``), or the bare
    mapped area, flagged ``"map area (no sample-based interval)"``.
Change interval
    ``change = current − baseline``; the two years are independent samples. The interval
    combines each estimate's distances to its own limits (MOVER,
    :mod:`models.change.intervals`), so an asymmetric district interval stays
    asymmetric; for symmetric ones it is ``change ± z·sqrt(SE_current² + SE_baseline²)``
    (``change_se_ha``). Limits made at another confidence are rescaled. Which limits:
    between two survey years (a *derived* baseline) the up reaches are the design ones,
    ``z·se_ha``, since the map omission the samples cannot see (``unseen_se_ha``, in the
    upper limits only) is in both years and cancels; against a *reported* baseline the
    current estimate's full limits are read. Programme ``ALL`` and ``AREA`` rows carry
    their districts' unseen terms in their upper limits, and a district's share of a
    reported baseline is taken with its full uncertainty. ``p_value`` is
    two-sided, from the interval's reach toward zero; ``p_holm`` is Holm's correction
    over the tested rows of the run (programme areas excluded).
Verdict
    ``"decrease"`` (interval below 0), ``"increase"`` (above 0), ``"no detectable change"``
    (contains 0), per row at the level asked; the note says when it does not survive
    Holm's correction. When a number is missing: ``"not estimable"`` (the district
    estimate was published as not estimable), ``"no estimate"`` (none this year: the
    row is kept), ``"no baseline"`` or ``"no interval"`` (an estimate without SE).
Difference in differences
    :func:`programme_vs_other`: see :mod:`models.change.did`.
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
