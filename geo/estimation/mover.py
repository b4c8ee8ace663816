"""District and regional intervals built from each stratum's own limits (MOVER).

The normal interval ``estimate ± z·se`` of ``geo.estimation.district_variance``
has the right width on average (its SE is the design SE) but the wrong shape:
with 20-45 points per stratum and crop proportions of a few percent, the
sampling distribution of a stratum's ``p̂`` is skewed, and a stratum whose points
saw none of the crop adds no width at all. Here every stratum (map class within
a district) gets an interval for its proportion of the crop, scaled by the
stratum's area, and the limits of the total are recovered from them by the
method of variance estimates recovery (MOVER; Zou & Donner 2008, *Statistics
in Medicine* 27: 1693-1702; Zou 2008, *Am. J. Epidemiol.* 168: 212-224): with
stratum estimates ``t_h`` and limits ``[l_h, u_h]``, the total ``T = Σ t_h`` has

    low  = T − sqrt(Σ (t_h − l_h)²)
    high = T + sqrt(Σ (u_h − t_h)²).

The point estimate is the stratified one, unchanged; only the limits move.

Stratum limits (``INTERVAL_METHODS``), each on an effective sample size
``n* = (n − 1) / (1 − n/N)`` with ``x* = p̂ n*`` (so that ``p̂(1 − p̂)/n*`` is the
design variance, finite-population correction included; a stratum taken whole,
``n = N``, has ``n* = ∞`` and no width):

``normal``
    No MOVER: ``estimate ± z·se`` as ``district_variance.interval`` gives it.
``mover_wilson``
    Wilson (1927) score limits on ``(x*, n*)``.
``mover_jeffreys``
    Jeffreys limits: the ``α/2`` and ``1 − α/2`` quantiles of
    ``Beta(x* + ½, n* − x* + ½)``, the lower limit 0 when ``x = 0`` and the upper 1
    when ``x = n`` (Brown, Cai & DasGupta 2001, *Statistical Science* 16: 101-133).
``mover_jeffreys_eb`` (the default of the published tables)
    Jeffreys limits, except that where a stratum's sample saw none of the crop its
    upper limit is the ``1 − α/2`` quantile of the posterior under a robust
    empirical-Bayes prior (Schmidli et al. 2014, *Biometrics* 70: 1023-1032): the
    mixture ``(1 − w) Beta(a, b) + w Beta(½, ½)``, ``w = EB_JEFFREYS_WEIGHT``, where
    ``Beta(a, b)`` is the beta-binomial fit of the rates of that crop in that map
    class over the districts of the region (Kleinman 1973 moments, below). A
    district whose 20 fallow points found no poppy then admits as much poppy in
    fallow as the spread of the other districts' fallow rates says such a district
    may hold, not the ``1 − (α/2)^{1/n}``-ish bound of a zero count alone.

Beta-binomial fit per (map class, crop), over the districts whose stratum has its
own sample (``D`` of them, ``x_d`` of ``n_d``): mean ``μ = (Σx + ½)/(Σn + 1)``
(never 0: a crop nobody saw in that class still has a Jeffreys rate), Kleinman's
intra-class correlation ``ρ = (S/(μ(1 − μ)) − (D − 1)) / (Σn − Σn²/Σn − (D − 1))``
with ``S = Σ n_d (x_d/n_d − x̄)²`` and ``x̄ = Σx/Σn``, and prior size
``M = (1 − ρ)/ρ`` capped at ``Σn/D``, one district's points: the prior never
weighs more than the sample of the district it is used in (its effective sample
size, Morita, Thall & Müller 2008, *Biometrics* 64: 595-602). With rates of a few
per thousand, Kleinman's moments can fail to see the spread of the districts (``ρ ≤ 0``),
and an uncapped prior then held the whole region's points: a district whose rate
is several times the region's was bounded by the region's mean
(``tests/benchmarks/README.md``). ``a = μM``, ``b = (1 − μ)M``. With fewer than 2
such districts the spread is unknown and the stratum keeps its Jeffreys limits.

Strata that borrow the regional proportion (too few own points) add the
symmetric reach ``z·A·√var`` of the borrowed proportion; for the region, the
borrowed strata of one class add their areas first (one shared proportion).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaincinv, betaln
from scipy.stats import norm

__all__ = [
    "INTERVAL_METHODS",
    "EB_JEFFREYS_WEIGHT",
    "effective_n",
    "wilson_limits",
    "jeffreys_limits",
    "beta_binomial_prior",
    "zero_seen_upper",
    "mover_sum",
    "mover_limits",
    "mover_interval",
]

INTERVAL_METHODS = ("normal", "mover_wilson", "mover_jeffreys", "mover_jeffreys_eb")
"""Values of ``interval`` in ``district_estimates`` / ``region_estimate``."""

EB_JEFFREYS_WEIGHT = 0.4
"""Weight of the Jeffreys component of the robust prior of ``mover_jeffreys_eb``: chosen
on the honesty benchmark (``tests/benchmarks/README.md``), the smallest of 0.2-0.5 that
left no district with cultivation below 90% coverage over 30 seeds (over 100, every one
within 90-99% once the cells outside were measured again with 1000 samples)."""

LOWER_FLOOR = "none"
"""Plain MOVER at every level. Measured alternatives (``tests/benchmarks/README.md``):
"region" / "all" (lower reach at least the design ``z·se`` there), "region_variance"
(region ``[est − z·se, est + z·√(se² + Σ A² var_posterior)]`` over the unseen strata)."""


def effective_n(n, sizes):
    """``(n − 1) / (1 − n/N)``; ``inf`` for a stratum taken whole, ``n − 1`` if ``N`` unknown."""
    n = np.asarray(n, dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpc = np.where(np.isfinite(sizes), np.clip(1 - n / sizes, 0, 1), 1.0)
        out = np.where(fpc > 0, np.maximum(n - 1, 0.0) / fpc, np.inf)
    return np.where((n >= 1) & (fpc == 0), np.inf, out)


def wilson_limits(p, n_eff, z):
    """Wilson score limits of a proportion ``p`` seen in ``n_eff`` (``inf``: ``[p, p]``)."""
    p, n = np.broadcast_arrays(np.asarray(p, float), np.asarray(n_eff, float))
    with np.errstate(invalid="ignore", divide="ignore"):
        q = z**2 / n
        centre = (p + q / 2) / (1 + q)
        half = z / (1 + q) * np.sqrt(p * (1 - p) / n + q / (4 * n))
    exact = ~np.isfinite(n)
    empty = n <= 0
    low = np.where(exact, p, np.where(empty, 0.0, np.clip(centre - half, 0, 1)))
    high = np.where(exact, p, np.where(empty, 1.0, np.clip(centre + half, 0, 1)))
    return low, high


def jeffreys_limits(p, n_eff, alpha):
    """Jeffreys limits ``Beta(x + ½, n − x + ½)`` quantiles with ``x = p·n``; 0 / 1 at the ends."""
    p, n = np.broadcast_arrays(np.asarray(p, float), np.asarray(n_eff, float))
    exact = ~np.isfinite(n)
    n0 = np.where(exact, 1.0, n)
    x = p * n0
    with np.errstate(invalid="ignore"):
        low = np.where(p > 0, betaincinv(x + 0.5, n0 - x + 0.5, alpha / 2), 0.0)
        high = np.where(p < 1, betaincinv(x + 0.5, n0 - x + 0.5, 1 - alpha / 2), 1.0)
    return np.where(exact, p, low), np.where(exact, p, high)


def beta_binomial_prior(x, n, usable):
    """Beta-binomial ``(a, b)`` over the zone axis (``-2`` of ``(..., Z, C)``); NaN if < 2 zones.

    ``x``, ``n``: counts and sample sizes; ``usable``: zones whose stratum has its own sample.
    """
    w = usable.astype(float)
    n = np.where(usable, n, 0.0)
    x = np.where(usable, x, 0.0)
    zones = w.sum(axis=-2)
    total = n.sum(axis=-2)
    seen = x.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (seen + 0.5) / (total + 1.0)
        pooled = seen / total
        rates = np.where(usable, x / np.where(n > 0, n, 1.0), 0.0)
        spread = (n * (rates - pooled[..., None, :]) ** 2).sum(axis=-2)
        dof = total - (n**2).sum(axis=-2) / total - (zones - 1)
        rho = np.minimum((spread / (mean * (1 - mean)) - (zones - 1)) / dof, 0.999)
        size = np.where((rho > 0) & (dof > 0), (1 - rho) / rho, np.inf)
    size = np.minimum(size, total / np.maximum(zones, 1))  # at most one district's points
    ok = (zones >= 2) & (total > 0)
    return np.where(ok, mean * size, np.nan), np.where(ok, (1 - mean) * size, np.nan)


def _posterior(n_eff, a, b, weight):
    """Posterior mixture after 0 of ``n_eff``: ``n, a, b``, the EB component's weight, census."""
    n, a, b = np.broadcast_arrays(*(np.asarray(v, float) for v in (n_eff, a, b)))
    exact = ~np.isfinite(n)
    n = np.where(exact, 1.0, n)
    fit = np.isfinite(a) & np.isfinite(b) & (a > 0) & (weight < 1)
    a, b = np.where(fit, a, 0.5), np.where(fit, b, 0.5)
    # marginal likelihood of 0 of n under each component: B(a, b + n) / B(a, b)
    log_eb = np.log1p(-weight) + betaln(a, b + n) - betaln(a, b) if weight < 1 else -np.inf
    log_j = (np.log(weight) if weight > 0 else -np.inf) + betaln(0.5, 0.5 + n) - betaln(0.5, 0.5)
    top = np.maximum(log_eb, log_j)
    w_eb = np.exp(log_eb - top) / (np.exp(log_eb - top) + np.exp(log_j - top))
    return n, a, b, np.where(fit, w_eb, 0.0), exact


def zero_seen_variance(n_eff, a, b, weight=EB_JEFFREYS_WEIGHT):
    """Variance of the same posterior mixture (0 for a stratum taken whole)."""
    n, a, b, w, exact = _posterior(n_eff, a, b, weight)
    means = (a / (a + b + n), 0.5 / (1 + n))
    sizes = (a + b + n, 1 + n)
    second = [m * (1 - m) / (s + 1) + m**2 for m, s in zip(means, sizes, strict=True)]
    mean = w * means[0] + (1 - w) * means[1]
    return np.where(exact, 0.0, w * second[0] + (1 - w) * second[1] - mean**2)


def zero_seen_upper(n_eff, a, b, alpha, weight=EB_JEFFREYS_WEIGHT, steps=60):
    """Upper limit after 0 of ``n_eff``: posterior of ``(1 − w) Beta(a, b) + w Beta(½, ½)``.

    Where ``a`` or ``b`` is NaN (no fit) the Jeffreys limit; ``n_eff = inf`` gives 0.
    """
    n, a, b, w_eb, exact = _posterior(n_eff, a, b, weight)
    target = 1 - alpha / 2
    q_eb, q_j = betaincinv(a, b + n, target), betaincinv(0.5, 0.5 + n, target)
    lo, hi = np.minimum(q_eb, q_j), np.maximum(q_eb, q_j)
    for _ in range(steps):  # the mixture's quantile lies between its components' quantiles
        mid = (lo + hi) / 2
        cdf = w_eb * betainc(a, b + n, mid) + (1 - w_eb) * betainc(0.5, 0.5 + n, mid)
        below = cdf < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.where(exact, 0.0, (lo + hi) / 2)


def mover_sum(estimates, lows, highs, axis=-1):
    """MOVER limits of ``Σ estimates`` from each term's limits along ``axis``."""
    down = np.sqrt(((estimates - lows) ** 2).sum(axis=axis))
    up = np.sqrt(((highs - estimates) ** 2).sum(axis=axis))
    total = estimates.sum(axis=axis)
    return total - down, total + up


def _proportion_limits(design, stats, j, z, method, weight):
    """Limits ``(..., Z, K)`` of each own stratum's proportion of class ``j``, and the
    posterior variance where the stratum saw none (Jeffreys' unless ``mover_jeffreys_eb``)."""
    alpha = 2 * norm.sf(z)
    p = stats.p[..., j]
    n_eff = effective_n(stats.n, design.sizes)
    x = p * stats.n
    a = b = np.full(p.shape[:-2] + p.shape[-1:], np.nan)
    if method == "mover_jeffreys_eb":
        usable = stats.own & (stats.n >= 2) & (design.area > 0)
        a, b = beta_binomial_prior(x, stats.n, usable)
    a, b = a[..., None, :], b[..., None, :]
    unseen = np.where(x == 0, zero_seen_variance(n_eff, a, b, weight), 0.0)
    if method == "mover_wilson":
        return (*wilson_limits(p, n_eff, z), unseen)
    low, high = jeffreys_limits(p, n_eff, alpha)
    if method == "mover_jeffreys_eb":
        high = np.where(x == 0, zero_seen_upper(n_eff, a, b, alpha, weight), high)
    return low, high, unseen


def mover_limits(
    design, stats, j, z, method, level="zones", weight=EB_JEFFREYS_WEIGHT, floor=LOWER_FLOOR
):
    """MOVER reaches ``(down, up)`` of class ``j``'s total per zone ``(..., Z)`` or region ``(...)``.

    ``stats`` is ``district_variance.stratum_stats``; the estimate they surround is
    ``zone_totals`` / ``region_totals``' (``low = estimate − down``, ``high = estimate + up``).
    """
    if method not in INTERVAL_METHODS[1:]:
        raise ValueError(f"no MOVER limits for interval {method!r}")
    area = design.area
    mine = (area > 0) & stats.own
    low_p, high_p, unseen = _proportion_limits(design, stats, j, z, method, weight)
    p = stats.p[..., j]
    down2 = np.where(mine, (area * (p - low_p)) ** 2, 0.0)
    up2 = np.where(mine, (area * (high_p - p)) ** 2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = effective_n(stats.n, design.sizes)
        design2 = np.where(mine & np.isfinite(n_eff), area**2 * p * (1 - p) / n_eff, 0.0)
    unseen2 = np.where(mine, area**2 * unseen, 0.0)
    borrowed = np.where((area > 0) & ~stats.own, area, 0.0)
    region_var = np.nan_to_num(stats.region_var[..., j])
    if level == "region":
        down2, up2 = down2.sum(axis=(-2, -1)), up2.sum(axis=(-2, -1))
        design2, unseen2 = design2.sum(axis=(-2, -1)), unseen2.sum(axis=(-2, -1))
        shared = (borrowed.sum(axis=-2) ** 2 * region_var).sum(axis=-1)
    else:
        down2, up2, design2 = down2.sum(axis=-1), up2.sum(axis=-1), design2.sum(axis=-1)
        unseen2 = unseen2.sum(axis=-1)
        shared = (borrowed**2 * region_var[..., None, :]).sum(axis=-1)
    if floor == "all" or (floor == "region" and level == "region"):
        down2 = np.maximum(down2, z**2 * design2)
    if floor == "region_variance" and level == "region":
        # the sum of many strata is near normal: design z·se down, and up with the
        # posterior variance of the strata that saw none
        down2, up2 = z**2 * design2, z**2 * (design2 + unseen2)
    return np.sqrt(down2 + z**2 * shared), np.sqrt(up2 + z**2 * shared)


def mover_interval(estimate, down, up, upper_cap):
    """``[estimate − down, estimate + up]`` clipped to ``[0, upper_cap]`` (as ``interval`` clips)."""
    low = np.maximum(0.0, estimate - down)
    high = np.minimum(estimate + up, np.maximum(upper_cap, estimate))
    return low, high
