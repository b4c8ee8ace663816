"""Intervals for a share estimated from a few sampled units, honest when nothing was seen.

A share estimated from ``n`` sampled units (survey plots, segments) with the
ratio estimator has a standard error that is 0 when none of the units (or all
of them) show the attribute: ``0 [0, 0]`` from a sample of three plots. The
Wilson score interval on the count of units (Wilson 1927; Brown, Cai &
DasGupta 2001) does not collapse: with 0 of ``n`` seen its upper bound is
``z² / (n + z²)`` (about 3/n for large ``n``, the rule of three). ``share_interval``
returns the wider of the two and says which one it used.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["wilson_interval", "share_interval", "SHARE_METHODS"]

SHARE_METHODS = ("ratio", "wilson", "wilson_none_seen", "wilson_all_seen")
"""``ratio``: the ratio estimator's own SE; ``wilson``: the Wilson interval on the unit count
was wider; ``wilson_none_seen`` / ``wilson_all_seen``: no (every) sampled unit showed it."""


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (NaN, NaN when ``n`` is 0)."""
    if n == 0:
        return (np.nan, np.nan)
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def share_interval(
    share: float, ratio_se: float, successes: int, n: int, z: float, confidence: float
) -> tuple[float, str]:
    """Return the standard error to publish for a share and the method that gave it.

    The published SE is the larger of the ratio estimator's and the larger
    one-sided distance from ``share`` to the Wilson bounds of ``successes`` of
    ``n`` units divided by ``z``, so ``share ± z·SE`` (clipped to [0, 1]) holds
    the Wilson interval.

    Parameters
    ----------
    share : float
        Estimated share (e.g. eradicated area / surveyed area).
    ratio_se : float
        Standard error of the ratio estimator (NaN when ``n < 2``).
    successes, n : int
        Units showing the attribute, units sampled.
    z : float
        Normal quantile of ``confidence``.
    confidence : float
        Confidence level of the Wilson interval.

    Returns
    -------
    (float, str)
        Standard error and one of :data:`SHARE_METHODS`.

    Examples
    --------
    >>> se, method = share_interval(0.0, 0.0, 0, 3, 1.959964, 0.95)
    >>> method, round(1.959964 * se, 3)
    ('wilson_none_seen', 0.561)
    """
    low, high = wilson_interval(successes, n, confidence)
    wilson_se = max(high - share, share - low) / z
    own = ratio_se if np.isfinite(ratio_se) else 0.0
    if successes == 0:
        return max(own, wilson_se), "wilson_none_seen"
    if successes == n:
        return max(own, wilson_se), "wilson_all_seen"
    if wilson_se > own:
        return wilson_se, "wilson"
    return own, "ratio"
