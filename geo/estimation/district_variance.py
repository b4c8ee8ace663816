"""District totals and their variances, vectorised over repeated samples.

Every function takes the tallied design (``geo.estimation.strata.Design``: map
area ``(Z, K)``, stratum sizes ``(Z, K)``) and sample counts ``(..., Z, K, K)``
(rows stratum, columns reference class) with any leading axes, so the honesty
benchmark runs the very code the pipeline runs over thousands of samples at once.

Variance methods (``VARIANCE_METHODS``):

``design``
    The plain per-district domain estimator of Olofsson et al. (2014, eq. 10) and
    Stehman (2014): each stratum adds ``A² p̂(1 − p̂) (1 − n/N) / (n − 1)``.
``design_unseen`` (the default of the published tables)
    ``se_ha`` is the ``design`` SE; the omission the district's points could not
    see is reported on its own (``unseen_se_ha``, the ``smoothed`` variance of the
    strata where the sample holds none of the crop) and widens the upper limit only:
    ``[area − z·se, area + z·√(se² + unseen²)]``.
``unseen_in_se``
    The same two terms in one symmetric interval: ``se_ha = √(se² + unseen²)``,
    ``area ± z·se_ha``. Its SE is larger than the true sampling SD (honesty
    benchmark, ``tests/benchmarks/README.md``), so a change test between two survey
    years reading it almost never fires.
``smoothed``
    The same estimator and point estimate, but each stratum's variance uses
    ``p̃ = (x + m π) / (n + m)``: the district's count ``x`` of ``n`` with ``m``
    pseudo-observations at the region's proportion ``π`` of that stratum class.
    ``m = z²`` (3.84 at 95%) is the Agresti–Coull (1998) pseudo-count, centred on the
    region instead of ½: with ``x = 0`` the upper limit ``z A √(p̃/(n − 1))`` then
    behaves like the rule of three (about ``z² √π / n``), so a stratum whose points
    saw no poppy still admits the omission the region's points show. The part of the
    variance from strata where the district saw none of the crop (and from borrowed
    strata) is reported on its own as ``unseen_se_ha``.
``fay_herriot``
    The Fay–Herriot (1979) area-level model on the districts' direct estimates
    ``y_d`` (variances ``ψ_d`` from ``smoothed``), with the regional-proportion
    (synthetic) estimate ``x_d = Σ_h A_dh π_h`` as covariate: ``y_d = β x_d + u_d + e_d``.
    ``σ²_u`` by the Prasad–Rao moment estimator, the EBLUP
    ``γ_d y_d + (1 − γ_d) β̃ x_d`` with ``γ_d = σ²_u / (σ²_u + ψ_d)`` and its MSE
    ``g1 + g2 + 2 g3`` (Prasad & Rao 1990; Rao & Molina 2015, eq. 6.2.9-6.2.11).

Intervals are normal, ``estimate ± z·se`` (the upper limit with the unseen term for
``design_unseen``), the lower limit clipped at 0 and the upper at the district's
mapped area (no crop area can exceed it); a logit interval is not used: with a
relative SE near 1 its upper limit runs to hundreds of times the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.estimation.strata import Design

__all__ = [
    "VARIANCE_METHODS",
    "StratumStats",
    "stratum_stats",
    "zone_totals",
    "zone_estimates",
    "region_estimates",
    "region_totals",
    "fay_herriot",
    "interval",
]

VARIANCE_METHODS = ("design", "design_unseen", "unseen_in_se", "smoothed", "fay_herriot")
"""Values of ``variance`` in ``district_estimates`` / ``region_estimate``."""

_DESIGN_SE = ("design", "design_unseen", "unseen_in_se")


@dataclass(frozen=True)
class StratumStats:
    """Per (zone, stratum) proportions and variances, and the regional ones (leading axes kept)."""

    own: np.ndarray  # (..., Z, K) stratum estimated from its own sample
    p: np.ndarray  # (..., Z, K, K) own proportions
    var: np.ndarray  # (..., Z, K, K) variance of p (the method's)
    unseen_var: np.ndarray  # (..., Z, K, K) smoothed variance where the sample saw none, else 0
    region_p: np.ndarray  # (..., K, K) pooled proportion per stratum class, NaN if too few
    region_var: np.ndarray  # (..., K, K) larger of pooled and between-district variance
    n: np.ndarray  # (..., Z, K) sample size


def _between_district_variance(p, usable):
    """ddof=1 variance of ``p`` over zones where ``usable`` (NaN where fewer than 2)."""
    w = usable[..., None].astype("float64")
    count = w.sum(axis=-3)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * p).sum(axis=-3) / count
        spread = (w * (p - mean[..., None, :, :]) ** 2).sum(axis=-3) / (count - 1)
    return np.where(count >= 2, spread, np.nan)


def stratum_stats(
    design: Design,
    counts: np.ndarray,
    min_per_stratum: int,
    variance: str = "smoothed",
    pseudo_count: float = 3.84,
) -> StratumStats:
    """Return own and regional proportions and variances; ``counts`` may have leading axes."""
    n = counts.sum(axis=-1)
    census = (n >= design.sizes) & (n >= 1)
    own = (n >= min_per_stratum) | census
    p = counts / np.where(n > 0, n, 1.0)[..., None]
    fpc = np.where(np.isfinite(design.sizes), np.clip(1 - n / design.sizes, 0, 1), 1.0)
    shrink = np.where(census, 0.0, fpc / np.where(n > 1, n - 1.0, 1.0))

    pooled = counts.sum(axis=-3)
    pooled_n = pooled.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        region_p = np.where(
            (pooled_n >= min_per_stratum)[..., None], pooled / pooled_n[..., None], np.nan
        )
        region_var = region_p * (1 - region_p) / np.maximum(pooled_n - 1.0, 1.0)[..., None]
    spread = _between_district_variance(p, own & (n >= 2))
    region_var = np.where(np.isfinite(spread), np.maximum(region_var, spread), region_var)

    prior = np.nan_to_num(region_p)[..., None, :, :]
    smoothed = (counts + pseudo_count * prior) / (n + pseudo_count)[..., None]
    smoothed_var = smoothed * (1 - smoothed) * shrink[..., None]
    var = p * (1 - p) * shrink[..., None] if variance in _DESIGN_SE else smoothed_var
    unseen_var = np.where(counts > 0, 0.0, smoothed_var)
    return StratumStats(own, p, var, unseen_var, region_p, region_var, n)


def _borrowed(area, own):
    """Mapped area per stratum class in strata without their own sample: ``(..., Z, K)``."""
    return np.where((area > 0) & ~own, area, 0.0)


def zone_totals(design: Design, stats: StratumStats, j: int):
    """Per-zone estimate, variance, unseen variance and borrowed area of reference class ``j``.

    Returns arrays ``(..., Z)`` (the last one ``(..., Z, K)``); estimate and variances
    are NaN where a borrowed stratum class has no regional proportion.
    """
    area = design.area
    mine = (area > 0) & stats.own
    estimate = np.where(mine, area * stats.p[..., j], 0.0).sum(axis=-1)
    variance = np.where(mine, area**2 * stats.var[..., j], 0.0).sum(axis=-1)
    unseen = np.where(mine, area**2 * stats.unseen_var[..., j], 0.0).sum(axis=-1)
    borrowed = _borrowed(area, stats.own)
    needed = borrowed > 0
    region_p, region_var = stats.region_p[..., None, :, j], stats.region_var[..., None, :, j]
    missing = (needed & np.isnan(region_p)).any(axis=-1)
    borrowed_var = np.where(needed, borrowed**2 * np.nan_to_num(region_var), 0.0).sum(axis=-1)
    estimate = estimate + np.where(needed, borrowed * np.nan_to_num(region_p), 0.0).sum(axis=-1)
    variance = variance + borrowed_var
    nan = np.where(missing, np.nan, 0.0)
    return estimate + nan, variance + nan, unseen + nan, borrowed


def region_totals(design: Design, stats: StratumStats, j: int):
    """Region estimate, variance and unseen variance of class ``j``: ``(...)`` arrays.

    Own strata of all zones add up as independent strata; the borrowed strata of one
    class share one regional proportion, so their areas add before squaring.
    """
    area = design.area
    mine = (area > 0) & stats.own
    estimate = np.where(mine, area * stats.p[..., j], 0.0).sum(axis=(-2, -1))
    variance = np.where(mine, area**2 * stats.var[..., j], 0.0).sum(axis=(-2, -1))
    unseen = np.where(mine, area**2 * stats.unseen_var[..., j], 0.0).sum(axis=(-2, -1))
    borrowed = _borrowed(area, stats.own).sum(axis=-2)
    needed = borrowed > 0
    region_p, region_var = stats.region_p[..., j], stats.region_var[..., j]
    missing = (needed & np.isnan(region_p)).any(axis=-1)
    borrowed_var = np.where(needed, borrowed**2 * np.nan_to_num(region_var), 0.0).sum(axis=-1)
    estimate = estimate + np.where(needed, borrowed * np.nan_to_num(region_p), 0.0).sum(axis=-1)
    nan = np.where(missing, np.nan, 0.0)
    return estimate + nan, variance + borrowed_var + nan, unseen + nan


def synthetic_totals(design: Design, stats: StratumStats, j: int) -> np.ndarray:
    """Each zone's total of class ``j`` at the region's stratum proportions: ``(..., Z)``."""
    return (design.area * np.nan_to_num(stats.region_p[..., None, :, j])).sum(axis=-1)


def fay_herriot(direct, psi, synthetic):
    """EBLUP and Prasad–Rao MSE of the Fay–Herriot model ``y = β x + u + e`` over the last axis.

    Zones with a non-finite ``direct`` or ``psi`` are left out of the fit and keep
    their inputs. Where every zone's covariate is 0 (a crop nobody mapped or saw)
    the direct estimates are returned unchanged.
    """
    y, x = np.asarray(direct, float), np.asarray(synthetic, float)
    usable = np.isfinite(y) & np.isfinite(psi)
    w = usable.astype(float)
    y0, x0, psi0 = np.where(usable, y, 0.0), np.where(usable, x, 0.0), np.where(usable, psi, 0.0)
    m = w.sum(axis=-1, keepdims=True)
    sxx = (x0**2).sum(axis=-1, keepdims=True)
    fit = sxx > 0
    safe_sxx = np.where(fit, sxx, 1.0)
    beta_ols = (x0 * y0).sum(axis=-1, keepdims=True) / safe_sxx
    resid = np.where(usable, y0 - beta_ols * x0, 0.0)
    leverage = x0**2 / safe_sxx
    sigma2 = ((resid**2).sum(axis=-1, keepdims=True)
              - (psi0 * (1 - leverage)).sum(axis=-1, keepdims=True)) / np.maximum(m - 1, 1)  # fmt: skip
    sigma2 = np.maximum(sigma2, 0.0)
    total = np.where(usable, sigma2 + psi0, 1.0)
    total = np.where(total > 0, total, 1.0)
    info = np.where(usable, x0**2 / total, 0.0).sum(axis=-1, keepdims=True)
    safe_info = np.where(info > 0, info, 1.0)
    beta = np.where(usable, x0 * y0 / total, 0.0).sum(axis=-1, keepdims=True) / safe_info
    gamma = np.where(usable, sigma2 / total, 1.0)
    eblup = gamma * y0 + (1 - gamma) * beta * x0
    g1 = gamma * psi0
    g2 = (1 - gamma) ** 2 * x0**2 / safe_info
    var_sigma2 = (
        2.0 / np.maximum(m, 1) ** 2 * np.where(usable, total**2, 0.0).sum(axis=-1, keepdims=True)
    )
    g3 = np.where(usable, psi0**2 / total**3, 0.0) * var_sigma2
    mse = g1 + g2 + 2 * g3
    keep = usable & fit & (m >= 3)
    return np.where(keep, eblup, y), np.where(keep, mse, psi)


def zone_estimates(design: Design, stats: StratumStats, j: int, variance: str):
    """``zone_totals`` with the method's variance (the EBLUP and its MSE for ``fay_herriot``)."""
    estimate, var, unseen, borrowed = zone_totals(design, stats, j)
    if variance == "fay_herriot":
        estimate, var = fay_herriot(estimate, var, synthetic_totals(design, stats, j))
    if variance == "unseen_in_se":
        var = var + unseen
    return estimate, var, unseen, borrowed


def region_estimates(design: Design, stats: StratumStats, j: int, variance: str):
    """``region_totals`` with the method's variance (design-based for every method)."""
    estimate, var, unseen = region_totals(design, stats, j)
    if variance == "unseen_in_se":
        var = var + unseen
    return estimate, var, unseen


def interval(estimate, variance, z: float, upper_cap, unseen=0.0):
    """Return ``se, low, high``: ``estimate − z·se`` and ``estimate + z·√(se² + unseen)``.

    ``unseen`` is the variance of the omission the sample could not see (0 but for
    ``design_unseen``); the limits are clipped to ``[0, upper_cap]``.
    """
    se = np.sqrt(variance)
    low = np.maximum(0.0, estimate - z * se)
    high = np.minimum(estimate + z * np.sqrt(variance + unseen), np.maximum(upper_cap, estimate))
    return se, low, high
