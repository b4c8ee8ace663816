"""Reference points per stratum for a target precision: Neyman allocation (Cochran 1977, 5.5).

For the area of crop ``c`` in a district, the stratified estimator
``Â = Σ_h A_h p̂_hc`` has variance ``V = Σ_h A_h² S_h² / n_h`` with
``S_h² = p_hc (1 − p_hc)`` (strata large enough to ignore the finite
population correction). For a fixed number of points the variance is
smallest with ``n_h ∝ A_h S_h`` (Neyman), and a target half-width ``d`` of
the 95% interval needs ``n = (Σ_h A_h S_h)² / (d / z)²`` points in all. The
half-width is relative: ``d = target · Â``.

The anticipated ``p_hc`` come either from a run (the pooled regional
proportions of each stratum in its labelled sample, as the Wilson centre
``(k + z²/2) / (n + z²)`` so that a stratum where no crop was seen is not
starved: a district's own 20 points are too few to plan on) or, for a first year, from anticipated user's
accuracies as SEPAL asks for them (Olofsson et al. 2014, section 5.1:
``S_h = sqrt(U_h (1 − U_h))`` per stratum, the same for every crop).

Each district gets what its poppy and cannabis targets need (the larger of the
two per stratum, at least ``min_per_stratum`` in every stratum with area, so
that none is left unsampled); if the region's target is not met, the points
the region's own Neyman allocation asks for are added. ``admon plan`` then
writes one ``[estimation] n_per_stratum`` table, the largest need of any
district per stratum, because the config draws the same allocation in every
district.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.errors import InvalidInputError
from core.legend import CROPS_OF_INTEREST, code_of
from geo.estimation.design import stratum_code, stratum_name
from geo.estimation.segment_variance import frame_map_variance, stratum_variance, unseen_floor
from geo.estimation.strata import tally
from geo.estimation.stratified import z_value

__all__ = [
    "SamplePlan",
    "neyman_plan",
    "expected_half_width",
    "anticipated_from_accuracy",
    "plan_inputs_from_sample",
    "segments_for_precision",
]


@dataclass(frozen=True)
class SamplePlan:
    """Reference points per stratum and the half-widths they are expected to give."""

    points: pd.DataFrame
    """``district_id, stratum, area_ha, n_points``: the need of each district and stratum."""
    n_per_stratum: dict[str, int]
    """One allocation for every district (the config's format): the largest need per stratum."""
    expected: pd.DataFrame
    """``district_id, crop, estimate_ha, target_half_width, expected_half_width`` (relative to
    the estimate) with ``n_per_stratum`` drawn in every district; ``district_id`` ALL for the
    region; ``note`` says where no relative target can be planned."""


def anticipated_from_accuracy(
    strata: Sequence[int], users_accuracy: Mapping[str, float], crops: Sequence[str]
) -> np.ndarray:
    """Anticipated ``p_hc`` from user's accuracies, shape ``(strata, crops)``.

    A crop stratum ``c`` with user's accuracy ``U`` has ``p_cc = U``; any
    other stratum ``h`` has ``p_hc = 1 − U_h`` (its commission, all counted
    against the crop planned for), so that ``S_h = sqrt(U_h (1 − U_h))`` as in
    SEPAL's design tool.

    Raises
    ------
    InvalidInputError
        A stratum without an anticipated accuracy, or one outside (0, 1].
    """
    accuracy = {stratum_code(k): float(v) for k, v in users_accuracy.items()}
    for code in strata:
        if code not in accuracy and code >= 100 and code - 100 in accuracy:
            accuracy[code] = accuracy[code - 100]
    missing = [stratum_name(h) for h in strata if h not in accuracy]
    if missing:
        raise InvalidInputError(
            f"no anticipated user's accuracy for strata {missing}; give one per stratum "
            "(e.g. --users-accuracy forest=0.95)"
        )
    bad = {stratum_name(h): a for h, a in accuracy.items() if not 0 < a <= 1}
    if bad:
        raise InvalidInputError(f"user's accuracies must be in (0, 1]: {bad}")
    p = np.empty((len(strata), len(crops)))
    for i, h in enumerate(strata):
        for j, crop in enumerate(crops):
            p[i, j] = accuracy[h] if h == code_of(crop) else 1.0 - accuracy[h]
    return p


def expected_half_width(area: np.ndarray, p: np.ndarray, n: np.ndarray, z: float) -> float:
    """Half-width ``z·sqrt(Σ A_h² p_h (1 − p_h) / n_h)`` over strata with area (ha)."""
    used = area > 0
    return float(z * np.sqrt(np.sum(area[used] ** 2 * p[used] * (1 - p[used]) / n[used])))


def _neyman(area: np.ndarray, p: np.ndarray, half_width_ha: float, z: float) -> np.ndarray:
    """Points per stratum (fractional) for an absolute half-width, Neyman allocation."""
    weight = area * np.sqrt(p * (1 - p))
    total = weight.sum()
    if total <= 0 or half_width_ha <= 0:
        return np.zeros_like(area)
    n_total = total**2 / (half_width_ha / z) ** 2
    return n_total * weight / total


def neyman_plan(
    area: pd.DataFrame,
    anticipated: pd.DataFrame,
    *,
    district_half_width: float,
    region_half_width: float,
    crops: Sequence[str] = CROPS_OF_INTEREST,
    min_per_stratum: int = 2,
    confidence: float = 0.95,
) -> SamplePlan:
    """Plan reference points per stratum per district for relative target half-widths.

    Parameters
    ----------
    area : pandas.DataFrame
        ``district_id, stratum, area_ha``: the area of every stratum (code) in each district.
    anticipated : pandas.DataFrame
        Index: stratum codes; columns: ``crops``; values: anticipated share of the crop
        in the stratum (``p_hc``).
    district_half_width, region_half_width : float
        Target half-width of the interval, relative to the estimate (0.25 = ±25%).
    crops : sequence of str
        Crops the targets apply to.
    min_per_stratum : int
        Fewest points of any stratum with area (a stratum variance needs 2).
    confidence : float
        Confidence level of the half-widths.

    Returns
    -------
    SamplePlan

    Raises
    ------
    InvalidInputError
        Targets not in (0, 1), a stratum without anticipated proportions.

    Examples
    --------
    >>> plan = neyman_plan(area, anticipated, district_half_width=0.25,
    ...                    region_half_width=0.1)  # doctest: +SKIP
    >>> plan.n_per_stratum  # doctest: +SKIP
    {'opium_poppy': 31, 'forest': 52, ...}
    """
    for name, target in (("district", district_half_width), ("region", region_half_width)):
        if not 0 < target < 1:
            raise InvalidInputError(f"{name} half-width must be in (0, 1), got {target}")
    z = z_value(confidence)
    area = area[area["area_ha"] > 0]
    strata = sorted(set(area["stratum"].astype(int)))
    missing = [stratum_name(h) for h in strata if h not in anticipated.index]
    if missing:
        raise InvalidInputError(f"no anticipated proportions for strata {missing}")
    grid = area.pivot_table(index="district_id", columns="stratum", values="area_ha",
                            aggfunc="sum", fill_value=0.0, sort=False)[strata]  # fmt: skip
    cells = grid.to_numpy()
    p = np.clip(anticipated.loc[strata, list(crops)].to_numpy(dtype="float64"), 0.0, 1.0)
    need = np.zeros_like(cells)
    estimates = cells @ p  # (districts, crops)
    for j in range(len(crops)):
        for d in range(len(grid)):
            target_ha = district_half_width * estimates[d, j]
            need[d] = np.maximum(need[d], _neyman(cells[d], p[:, j], target_ha, z))
    need = np.where(cells > 0, np.maximum(np.ceil(need - 1e-9), min_per_stratum), 0)
    for j in range(len(crops)):
        flat_p = np.broadcast_to(p[:, j], cells.shape)
        target_ha = region_half_width * estimates[:, j].sum()
        if expected_half_width(cells, flat_p, np.maximum(need, 1), z) > target_ha:
            region_need = _neyman(cells.ravel(), flat_p.ravel(), target_ha, z).reshape(cells.shape)
            need = np.where(cells > 0, np.maximum(need, np.ceil(region_need - 1e-9)), 0)
    common = need.max(axis=0).astype(int)
    points = pd.DataFrame({
        "district_id": np.repeat(grid.index.to_numpy(), len(strata)),
        "stratum": [stratum_name(h) for h in strata] * len(grid),
        "area_ha": cells.ravel(), "n_points": need.ravel().astype(int),
    })  # fmt: skip
    points = points[points["area_ha"] > 0].reset_index(drop=True)
    expected = _expected(grid, cells, p, common, estimates, crops, z,
                         district_half_width, region_half_width)  # fmt: skip
    return SamplePlan(points, {stratum_name(h): int(k) for h, k in zip(strata, common, strict=True)},
                      expected)  # fmt: skip


def _expected(grid, cells, p, common, estimates, crops, z, district_target, region_target):
    rows = []
    allocation = np.broadcast_to(common, cells.shape).astype("float64")
    for j, crop in enumerate(crops):
        for d, district in enumerate(grid.index):
            rows.append(_expected_row(district, crop, cells[d], p[:, j], allocation[d],
                                      estimates[d, j], z, district_target))  # fmt: skip
        rows.append(_expected_row("ALL", crop, cells.ravel(), np.tile(p[:, j], len(grid)),
                                  allocation.ravel(), estimates[:, j].sum(), z,
                                  region_target))  # fmt: skip
    return pd.DataFrame(rows)


def _expected_row(district, crop, area, p, n, estimate, z, target) -> dict:
    half_ha = expected_half_width(area, p, n, z)
    row = {"district_id": district, "crop": crop, "estimate_ha": float(estimate),
           "target_half_width": target, "expected_half_width_ha": half_ha,
           "expected_half_width": half_ha / estimate if estimate > 0 else np.nan,
           "note": ""}  # fmt: skip
    if estimate <= 0:
        row["note"] = "no cultivation anticipated: no relative target; minimum points only"
    return row


def plan_inputs_from_sample(
    map_area: pd.DataFrame,
    sample: pd.DataFrame,
    *,
    zone_id: str = "district_id",
    crops: Sequence[str] = CROPS_OF_INTEREST,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratum areas per district and pooled anticipated proportions from a labelled sample.

    Buffer strata take their area from the sample's ``stratum_area_ha`` as in
    the estimate (``geo.estimation.strata.tally``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``district_id, stratum, area_ha`` and the ``anticipated`` table of :func:`neyman_plan`.
    """
    design = tally(map_area, sample, zone_id, crops)
    area = pd.DataFrame({
        "district_id": np.repeat(np.asarray(design.zones, dtype=object), len(design.codes)),
        "stratum": design.codes * len(design.zones), "area_ha": design.area.ravel(),
    })  # fmt: skip
    pooled = design.counts.sum(axis=0)
    seen = pooled.sum(axis=1)
    columns = [design.codes.index(code_of(c)) for c in crops]
    # The Wilson centre (k + z²/2) / (n + z²), not k / n: a stratum whose pooled points
    # found no poppy (forest, where omitted fields hide) must not be planned 2 points.
    half_z2 = z_value(0.95) ** 2 / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = (pooled[:, columns] + half_z2) / (seen[:, None] + 2 * half_z2)
    anticipated = pd.DataFrame(shares, index=design.codes, columns=list(crops))
    unseen = [stratum_name(h) for h, k in zip(design.codes, seen, strict=True) if k == 0]
    used = set(area.loc[area["area_ha"] > 0, "stratum"])
    unseen = [name for name in unseen if stratum_code(name) in used]
    if unseen:
        raise InvalidInputError(
            f"strata {unseen} have area but no labelled point in the sample; give anticipated "
            "user's accuracies for them instead (--users-accuracy)"
        )
    return area, anticipated.fillna(0.0)


def segments_for_precision(
    segments: pd.DataFrame,
    frame_sizes: Mapping[str, int],
    crop: str,
    *,
    half_width: float,
    estimator: str = "expansion",
    confidence: float = 0.95,
    frame: pd.DataFrame | None = None,
    variance: str | None = None,
    map_total_ha: float | None = None,
) -> pd.DataFrame:
    """Segments per stratum (Neyman, with the fpc) for a relative half-width of the frame total.

    The total is the estimator's: ``Σ N_h ȳ_h``, or for ``difference`` the map's crop
    area over the frame (``map_total_ha``, else the frame's ``<crop>_map_ha`` sum) plus
    ``Σ N_h d̄_h``.

    ``S_h`` is the standard deviation of the crop area (``difference``: of the
    interpreted minus the mapped area, ``<crop>_map_ha``) among the sampled
    segments of stratum ``h``, estimated as ``segment_estimate`` estimates it
    (``geo.estimation.segment_variance``: the design variance, or with ``frame``
    the larger of it and Isaki's map-ratio one, unless ``variance`` says); a stratum
    that showed no crop (``difference``: no map error) gets the estimator's floor, the
    Clopper–Pearson upper share ``p⁺`` of segments with the crop times a typical crop
    area, as the one-segment SD it implies at the sampled ``n_h``; with no crop seen
    anywhere the plan has no relative target and ``n_needed`` is NaN. With ``V = (d / z)²`` the
    total is ``n = (Σ N_h S_h)² / (V + Σ N_h S_h²)`` and ``n_h ∝ N_h S_h``
    (Cochran 1977, 5.9).

    Returns
    -------
    pandas.DataFrame
        Per stratum ``N, n_sampled, sd_ha, n_needed``; ``attrs`` hold the
        estimate and the target half-width in ha.
    """
    if not 0 < half_width < 1:
        raise InvalidInputError(f"half_width must be in (0, 1), got {half_width}")
    values = pd.to_numeric(segments[f"{crop}_ha"], errors="coerce").to_numpy(dtype="float64")
    if estimator == "difference":
        values = values - pd.to_numeric(segments[f"{crop}_map_ha"]).to_numpy(dtype="float64")
    elif estimator != "expansion":
        raise InvalidInputError(f"plan segments for 'expansion' or 'difference', not {estimator!r}")
    crop_ha = pd.to_numeric(segments[f"{crop}_ha"]).to_numpy(dtype="float64")
    codes = sorted(frame_sizes, key=str)
    sizes = np.array([float(frame_sizes[c]) for c in codes])
    alpha = (1 - confidence) / 2
    if variance is None:
        variance = "larger" if frame is not None else "design"
    strata = segments["stratum"].map({c: i for i, c in enumerate(codes)}).fillna(-1)
    strata = strata.to_numpy(dtype="int64")
    counts = np.bincount(strata[strata >= 0], minlength=len(codes))
    spreads = np.full(len(codes), np.nan)
    if (counts >= 2).all():
        mapped = None if variance == "design" else pd.to_numeric(segments[f"{crop}_map_ha"])
        spreads = np.sqrt(stratum_variance(
            values, strata, codes, variance=variance,
            mapped=None if mapped is None else mapped.to_numpy(dtype="float64"),
            frame_spread=None if variance == "design" else frame_map_variance(frame, crop),
        ))  # fmt: skip
    # a stratum whose segments show no crop (or, for the difference, no map error) gets
    # the estimator's floor (geo.estimation.segment_variance.unseen_floor), a variance
    # of the stratum total at the sampled n: as one segment's SD, S² = V n / (N² (1 - n/N))
    at_least_one = np.maximum(counts, 1)
    map_column = f"{crop}_map_ha"
    floors, _ = unseen_floor(
        crop_ha, pd.to_numeric(segments[map_column]).to_numpy(dtype="float64")
        if map_column in segments.columns else None, strata, at_least_one, sizes, alpha,
        segments, values if estimator == "difference" else None,
    )  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        floor_sd = np.sqrt(floors * at_least_one / (sizes**2 * (1 - at_least_one / sizes)))
    sd = np.where(floors > 0, np.fmax(spreads, floor_sd), spreads)  # fmax: NaN is "none"
    sampled = counts.tolist()
    means = [crop_ha[strata == h].mean() if counts[h] else np.nan for h in range(len(codes))]
    estimate = float(np.nansum(sizes * np.array(means)))
    if estimator == "difference":
        if map_total_ha is None and frame is not None:
            map_total_ha = float(pd.to_numeric(frame[map_column]).sum())
        if map_total_ha is None:
            raise InvalidInputError("plan the difference estimator with map_total_ha or a frame")
        means = [values[strata == h].mean() if counts[h] else np.nan for h in range(len(codes))]
        estimate = map_total_ha + float(np.nansum(sizes * np.array(means)))
    weight = sizes * sd
    if not estimate > 0 or not weight.sum() > 0 or not np.isfinite(weight).all():
        needed = np.full(len(codes), np.nan)  # no crop seen: no relative target to plan for
    else:
        # the interval's quantile is Student's t on n - H df: iterate n to its fixed point
        quantile, n_total = z_value(confidence), np.inf
        for _ in range(20):
            target = (half_width * estimate / quantile) ** 2
            n_total = weight.sum() ** 2 / (target + (sizes * sd**2).sum())
            df = max(int(np.ceil(n_total)) - len(codes), 1)
            if quantile == (quantile := float(stats.t.ppf(1 - alpha, df))):
                break
        needed = np.minimum(np.maximum(np.ceil(n_total * weight / weight.sum()), 2), sizes)
    table = pd.DataFrame({"N": sizes.astype(int), "n_sampled": sampled, "sd_ha": sd,
                          "n_needed": needed}, index=pd.Index(codes, name="stratum"))  # fmt: skip
    table.attrs.update(estimate_ha=estimate, target_half_width_ha=half_width * estimate)
    return table
