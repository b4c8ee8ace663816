"""Stratified area estimation with confidence intervals (Olofsson et al. 2014).

The class map only stratifies the reference sample: map class ``i`` is a
stratum of mapped area ``A_i`` (weight ``W_i = A_i / A``); ``n_ij`` reference
samples of class ``j`` fall in stratum ``i``. Then ``p_ij = W_i n_ij / n_i.``,
the area of class ``j`` is ``A Σ_i p_ij`` and its standard error
``A sqrt(Σ_i W_i² p̂_ij (1 − p̂_ij) / (n_i. − 1))`` with ``p̂_ij = n_ij / n_i.``
(Olofsson et al. 2014, Remote Sensing of Environment 148: 42-57, eq. 9-10).

District tables (``geo.estimation.districts.district_estimates``) use each district's own strata. A
stratum with mapped area but fewer than ``min_per_stratum`` own samples (and
not taken whole) borrows the *regional* reference proportions of its map
class, with the larger of two variances: the pooled sampling variance and the
between-district spread of that proportion (a district may differ from the
region). If the borrowed strata hold 1% of the district's mapped area or more,
the row's ``method`` is ``regional_allocation`` instead of ``stratified``, and
``note`` names the borrowed classes. A class whose regional sample is also too
small makes the row ``not_estimable`` (area NaN, with the reason in ``note``):
never a bare pixel count presented as an estimate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from core.errors import EstimationError, InvalidInputError

__all__ = ["StratifiedEstimate", "stratified_area_estimate", "z_value"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StratifiedEstimate:
    """Area and accuracy estimates of a stratified random sample, strata = map classes."""

    area: np.ndarray
    """Estimated area of each (reference) class, unit of ``map_area``."""
    area_se: np.ndarray
    """Standard error of ``area``."""
    area_ci: np.ndarray
    """Half-width of the confidence interval of ``area``."""
    users_accuracy: np.ndarray
    """User's accuracy of each map class (NaN for a stratum without samples)."""
    users_accuracy_ci: np.ndarray
    """Half-width of its confidence interval."""
    producers_accuracy: np.ndarray
    """Producer's accuracy of each class (NaN when its estimated area is 0)."""
    producers_accuracy_ci: np.ndarray
    """Half-width of its confidence interval."""
    proportions: np.ndarray
    """Estimated area proportion of each class (sums to 1)."""
    overall_accuracy: float
    """Estimated overall accuracy."""
    overall_accuracy_ci: float
    """Half-width of its confidence interval."""
    n: np.ndarray
    """Reference sample size of each stratum (row sums of the error matrix)."""
    classes: tuple | None = None
    """Class labels in matrix order, if given or taken from pandas labels."""
    confidence: float = 0.95
    """Confidence level of every ``*_ci``."""

    def table(self) -> pd.DataFrame:
        """Return one row per class: area, se, interval half-width, accuracies, n."""
        return pd.DataFrame(
            {
                "area": self.area,
                "area_se": self.area_se,
                "area_ci": self.area_ci,
                "users_accuracy": self.users_accuracy,
                "users_accuracy_ci": self.users_accuracy_ci,
                "producers_accuracy": self.producers_accuracy,
                "producers_accuracy_ci": self.producers_accuracy_ci,
                "proportion": self.proportions,
                "n": self.n,
            },
            index=pd.Index(self.classes if self.classes else range(len(self.area)), name="class"),
        )


def z_value(confidence: float) -> float:
    """Return the two-sided normal quantile of a confidence level (1.96 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidInputError(f"confidence must be in (0, 1), got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2.0))


def _validate(map_area, error_matrix, classes):
    if isinstance(error_matrix, pd.DataFrame):
        classes = classes or tuple(error_matrix.index)
        if list(error_matrix.index) != list(error_matrix.columns):
            raise InvalidInputError(
                "error_matrix rows (map classes) and columns (reference classes) must be the "
                f"same classes in the same order; got {list(error_matrix.index)} vs "
                f"{list(error_matrix.columns)}"
            )
    if isinstance(map_area, pd.Series):
        classes = classes or tuple(map_area.index)
    area = np.asarray(map_area, dtype="float64")
    counts = np.asarray(error_matrix, dtype="float64")
    if area.ndim != 1 or counts.shape != (area.size, area.size):
        raise InvalidInputError(
            f"error_matrix has shape {counts.shape}; expected ({area.size}, {area.size}) "
            f"for {area.size} map classes (rows = map class, columns = reference class)"
        )
    if not np.all(np.isfinite(area)) or (area < 0).any() or area.sum() <= 0:
        raise InvalidInputError(f"map_area must be finite, >= 0 and not all 0; got {area.tolist()}")
    if not np.all(np.isfinite(counts)) or (counts < 0).any():
        bad = np.argwhere(~np.isfinite(counts) | (counts < 0))[0]
        raise InvalidInputError(
            f"error_matrix row {bad[0]}, column {bad[1]} is {counts[tuple(bad)]}; "
            "sample counts must be >= 0"
        )
    if not np.allclose(counts, np.round(counts)):
        raise InvalidInputError("error_matrix must hold sample counts (whole numbers)")
    return area, counts, tuple(classes) if classes is not None else None


def stratified_area_estimate(
    map_area: Sequence[float] | np.ndarray | pd.Series,
    error_matrix: np.ndarray | pd.DataFrame,
    confidence: float = 0.95,
    *,
    classes: Sequence | None = None,
    stratum_sizes: Sequence[float] | np.ndarray | None = None,
) -> StratifiedEstimate:
    """Estimate class areas and accuracies from a stratified sample (Olofsson et al. 2014).

    Parameters
    ----------
    map_area : sequence of float
        Mapped area of each map class (the strata), any unit; the results use it.
    error_matrix : array or DataFrame, shape (k, k)
        Sample counts, rows = map class, columns = reference class, same order.
    confidence : float
        Confidence level of the intervals (normal approximation).
    classes : sequence, optional
        Class labels, kept in the result (taken from pandas labels otherwise).
    stratum_sizes : sequence of float, optional
        Number of sampling units (pixels) in each stratum. When given, the
        finite population correction ``1 − n_i/N_i`` is applied, and a stratum
        taken whole (``n_i >= N_i``) may have fewer than 2 samples.

    Returns
    -------
    StratifiedEstimate

    Raises
    ------
    InvalidInputError
        Wrong shapes, negative or fractional counts, bad ``confidence``.
    EstimationError
        A stratum with mapped area has fewer than 2 samples (and is not a census).

    Examples
    --------
    >>> est = stratified_area_estimate([200, 800], [[45, 5], [10, 90]])
    >>> round(float(est.area[0]), 1), round(float(est.area_ci[0]), 1)
    (260.0, 50.2)
    """
    area, counts, classes = _validate(map_area, error_matrix, classes)
    z = z_value(confidence)
    n = counts.sum(axis=1)
    if stratum_sizes is None:
        sizes = np.full(area.size, np.inf)
    else:
        sizes = np.asarray(stratum_sizes, dtype="float64")
        if sizes.shape != area.shape:
            raise InvalidInputError(f"stratum_sizes has {sizes.size} values for {area.size} strata")
    census = (n >= sizes) & (n >= 1)
    thin = (area > 0) & (n < 2) & ~census
    if thin.any():
        labels = [classes[i] if classes else i for i in np.flatnonzero(thin)]
        raise EstimationError(
            f"strata {labels} have mapped area but {n[thin].astype(int).tolist()} reference "
            "samples; each stratum needs at least 2 (add samples, or merge the class)"
        )
    total = area.sum()
    weight = area / total
    safe_n = np.where(n > 0, n, 1.0)
    p_hat = counts / safe_n[:, None]
    fpc = np.where(np.isfinite(sizes), np.clip(1.0 - n / sizes, 0.0, 1.0), 1.0)
    shrink = np.where(census, 0.0, fpc / np.where(n > 1, n - 1.0, 1.0))
    p_var = p_hat * (1.0 - p_hat) * shrink[:, None]

    cell = weight[:, None] * p_hat
    proportions = cell.sum(axis=0)
    prop_se = np.sqrt((weight[:, None] ** 2 * p_var).sum(axis=0))

    diag = np.diag(p_hat)
    users = np.where(n > 0, diag, np.nan)
    users_se = np.sqrt(np.where(n > 0, np.diag(p_var), np.nan))
    overall = float(np.trace(cell))
    overall_se = float(np.sqrt((weight**2 * np.diag(p_var)).sum()))

    with np.errstate(invalid="ignore", divide="ignore"):
        producers = np.where(proportions > 0, np.diag(cell) / proportions, np.nan)
        est_class_area = total * proportions  # N̂_.j of Olofsson eq. 7
        off = (area[:, None] ** 2 * p_var).sum(axis=0) - area**2 * np.diag(p_var)
        producers_var = (
            area**2 * (1.0 - producers) ** 2 * np.diag(p_var) + producers**2 * off
        ) / est_class_area**2
    return StratifiedEstimate(
        area=total * proportions,
        area_se=total * prop_se,
        area_ci=z * total * prop_se,
        users_accuracy=users,
        users_accuracy_ci=z * users_se,
        producers_accuracy=producers,
        producers_accuracy_ci=z * np.sqrt(producers_var),
        proportions=proportions,
        overall_accuracy=overall,
        overall_accuracy_ci=z * overall_se,
        n=n.astype("int64"),
        classes=classes,
        confidence=confidence,
    )
