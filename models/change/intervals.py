"""The change interval from the estimates' own limits (MOVER), its p-value, and Holm.

A district interval need not be symmetric (an estimate near 0 with a long upper tail:
``0.77 [0.39, 743.7]``); an interval ``change ± z·SE`` built from ``se_ha`` alone then
claims a decrease the limits do not support. The method of variance estimates
recovery (MOVER; Zou & Donner 2008, *Statistics in Medicine* 27: 1693-1702) builds
the interval of ``current − baseline`` from each estimate's distance ("reach") to its
own limits: with reaches ``l`` (down) and ``u`` (up) at the level asked,

    low  = change − sqrt(l_current² + u_baseline²)
    high = change + sqrt(u_current² + l_baseline²).

For symmetric intervals the reaches are ``z·SE`` and this is ``change ± z·sqrt(SE² +
SE_b²)``. Reaches are rescaled by ``z_asked / z_estimate`` when the change is asked at
another confidence than the estimates carry. A lower limit clipped at 0 is not a reach:
there the reach is at least ``z·SE``. The two-sided p-value is the level at which the
interval's limit toward zero touches zero: ``p = 2 (1 − Φ(z·|change| / reach))`` with
the reach toward zero, so ``p < 1 − confidence`` exactly when the interval excludes 0.

Which limits a comparison reads (``survey_pair``). A district's upper limit holds, beside
the design SE ``se_ha``, the omission its sample cannot see (``unseen_se_ha``,
``geo.estimation.districts``): ``area + z·sqrt(se² + unseen²)``. Between two **survey
years** (both estimates from admon samples) that omission is the same map error in both
and cancels, and the change of two independent samples' design-unbiased estimates is
tested on their design SEs: both reaches are ``z·se_ha``, whatever shape the published
limits have (the honesty benchmark's false-verdict rate with no true change is then
3-7%, ``tests/benchmarks/README.md``; the skewed MOVER limits of each year, read as
reaches, gave 0-2%).
Against a **reported baseline** (a programme's figure, not our survey) nothing cancels and
the full limits are read. An upper limit clipped at the district's mapped area is not a
reach either: the up reach is at least ``z·se_ha``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["reaches", "mover_difference", "p_toward_zero", "holm", "SURVEY_PAIR_RULE"]

SURVEY_PAIR_RULE = (
    "Between two survey years the map misses the same crop in both, so the change is tested "
    "on the sampling error of the two surveys alone; against a baseline reported by a "
    "programme, the full interval of this year's estimate is used, including the crop the "
    "map may miss where the sample saw none."
)
"""The rule in one plain sentence, as the report and the front page state it."""


def reaches(
    estimate: pd.Series,
    low: pd.Series,
    high: pd.Series,
    se: pd.Series,
    z_own: pd.Series | float,
    z: float,
    survey_pair: pd.Series | bool = False,
) -> tuple[pd.Series, pd.Series]:
    """Distances from each estimate down and up to its limits, rescaled to the level of ``z``.

    ``z_own`` is the normal quantile of the level the limits were made at. Where the
    limits are missing, ``z·se`` is used both ways; a lower limit at 0 reaches at least
    ``z_own·se`` (it was clipped, not computed), and so does every upper limit (one
    clipped at the mapped area). Where ``survey_pair`` is true (the other side of the
    comparison is a survey estimate of ours too) both reaches are the design ones,
    ``z_own·se`` (module docstring), where ``se`` is known and above 0.
    """
    symmetric = z_own * se
    down = (estimate - low).where(low.notna(), symmetric)
    down = down.where(~((low <= 0) & se.notna()), np.fmax(down, symmetric))
    up = (high - estimate).where(high.notna(), symmetric)
    up = up.where(se.isna(), np.fmax(up, symmetric))
    # a design SE of 0 (every stratum's points all crop or all not) is not certainty:
    # there the limits, which see what the points could not, are read
    design = pd.Series(survey_pair, index=estimate.index).fillna(False).astype(bool) & (se > 0)
    down, up = down.where(~design, symmetric), up.where(~design, symmetric)
    scale = z / z_own
    return (down * scale).clip(lower=0), (up * scale).clip(lower=0)


def mover_difference(
    change: pd.Series,
    current: tuple[pd.Series, pd.Series],
    baseline: tuple[pd.Series, pd.Series],
) -> tuple[pd.Series, pd.Series]:
    """MOVER limits of ``current − baseline`` from the (down, up) reaches of each."""
    low = change - np.sqrt(current[0] ** 2 + baseline[1] ** 2)
    high = change + np.sqrt(current[1] ** 2 + baseline[0] ** 2)
    return low, high


def p_toward_zero(change: pd.Series, low: pd.Series, high: pd.Series, z: float) -> pd.Series:
    """Two-sided p-value of "no change" from the reach of the interval toward zero."""
    toward = (change - low).where(change > 0, high - change)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = z * change.abs() / toward
    p = pd.Series(2 * stats.norm.sf(statistic), index=change.index)
    p = p.where(toward > 0, np.where(change.abs() > 0, 0.0, 1.0))
    return p.where(change.notna() & low.notna() & high.notna())


def holm(p_values: pd.Series) -> pd.Series:
    """Holm (1979) step-down adjusted p-values; NaN stays NaN and does not count.

    Controls the family-wise error rate over the tested rows: the adjusted value of the
    k-th smallest of m p-values is ``max_{i <= k} min(1, (m − i + 1) p_(i))``.

    Examples
    --------
    >>> holm(pd.Series([0.01, 0.04, 0.03])).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    tested = p_values.dropna()
    m = len(tested)
    if m == 0:
        return p_values.astype(float)
    ordered = tested.sort_values(kind="stable")
    factors = m - np.arange(m)
    adjusted = np.minimum(1.0, np.maximum.accumulate(ordered.to_numpy() * factors))
    out = pd.Series(np.nan, index=p_values.index, dtype=float)
    out.loc[ordered.index] = adjusted
    return out
