"""Area-frame (segment) estimator for drone / very-high-resolution sample segments.

The region is cut into a frame of equal segments, grouped in strata (e.g. by
elevation); a stratified random sample of segments is flown or bought as VHR
imagery and the crop area in each is interpreted. With ``N_h`` segments in
stratum ``h`` and ``n_h`` sampled, the **expansion** estimator is
``Ŷ = Σ_h N_h ȳ_h`` with ``V = Σ_h N_h² (1 − n_h/N_h) s_h² / n_h``. The
separate **ratio** estimator uses an auxiliary ``x`` known for the whole frame
(segment area by default, useful when border segments are clipped):
``Ŷ = Σ_h X_h Σy_h / Σx_h`` with the residual variance of ``y − R̂_h x``.
The map-assisted **difference** estimator (Stehman 2014; Gallego 2004, the
area frame with the map as auxiliary) uses the crop area the class map shows in
each sampled segment, ``x_i`` (column ``<crop>_map_ha``), and the map's total
over the frame ``X``: ``Ŷ = X + Σ_h N_h (ȳ_h − x̄_h)`` with the variance of
``d = y − x``. Where the map is good, ``d`` varies far less than ``y`` and the
interval narrows; the estimate stays design-unbiased whatever the map's errors.

The variance of each stratum is the design one (the sample variance of the
segment values) or, given the class map's crop area of every frame segment
(``frame``), the larger of it and Isaki's (1983) map-ratio estimate, which corrects
the sample's spread of the heavy-tailed residuals by how representative its map
values are; a stratum whose sampled segments show no crop gets a Clopper–Pearson
floor instead of ``0 [0, 0]`` (``geo.estimation.segment_variance`` has both). The
interval is the union of the bootstrap's and ``Ŷ ± t·SE`` with that variance
(Student's t on ``n − H`` degrees of freedom: a few dozen segments with skewed
crop areas).

The interval is a stratified rescaling bootstrap (Rao & Wu 1988: ``n_h − 1``
segments resampled with replacement within each stratum, deviations scaled by
``sqrt(1 − n_h/N_h)``; percentile interval); the analytic standard error is
reported next to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.errors import EstimationError, InvalidInputError
from core.legend import code_of
from geo.estimation.segment_variance import frame_map_variance, stratum_variance, unseen_floor

__all__ = ["SegmentEstimate", "segment_estimate", "segment_map_area", "ESTIMATORS"]

ESTIMATORS = ("expansion", "ratio", "difference")
"""Segment estimators: expansion, separate ratio, map-assisted difference."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentEstimate:
    """Total crop area over the frame from a stratified segment sample."""

    crop: str
    """Legend name of the crop (column ``<crop>_ha`` of the segments)."""
    estimator: str
    """``expansion``, ``ratio`` or ``difference`` (map-assisted)."""
    total_ha: float
    """Estimated total area (ha)."""
    se_ha: float
    """Analytic standard error (ha)."""
    ci_low_ha: float
    """Lower bound of the bootstrap percentile interval (ha)."""
    ci_high_ha: float
    """Upper bound of the bootstrap percentile interval (ha)."""
    n_segments: int
    """Number of sampled segments used."""
    n_boot: int
    """Bootstrap replicates."""
    confidence: float
    """Confidence level of the interval."""
    by_stratum: pd.DataFrame
    """Per stratum: ``N``, ``n``, ``total_ha``, ``se_ha``."""
    note: str = ""
    """What bounded the interval where no sampled segment showed the crop."""
    variance: str = "design"
    """Per-stratum variance used: ``design``, ``map_ratio`` or ``larger`` (``segment_variance``)."""

    @property
    def method(self) -> str:
        """The ``method`` value used in estimate tables (``segment_expansion``...)."""
        return f"segment_{self.estimator}"

    def as_row(self, *, district_id: str = "ALL", district_name: str = "All districts",
               year: int | None = None) -> dict:  # fmt: skip
        """Return the estimate as one row of a ``district_estimates``-shaped table."""
        return {
            "district_id": district_id, "district_name": district_name, "year": year,
            "crop": self.crop, "area_ha": self.total_ha, "ci_low_ha": self.ci_low_ha,
            "ci_high_ha": self.ci_high_ha, "method": self.method, "n_reference": self.n_segments,
            "se_ha": self.se_ha, "confidence": self.confidence, "note": self.note,
        }  # fmt: skip


def segment_map_area(class_map, segments, crops: Sequence[str]) -> pd.DataFrame:
    """Return ``segments`` with ``<crop>_map_ha``: the crop area the class map shows in each.

    Exact pixel fractions and true pixel areas, as ``zonal_class_area`` measures districts;
    the difference estimator's auxiliary. Rectangular segments whose edges lie on pixel
    edges of a projected map (a frame cut on the map's grid) cover whole pixels only, so
    they are counted from a summed-area table instead: the same numbers, without a zonal
    pass per segment over a frame of thousands.
    """
    from geo.estimation.map_area import zonal_class_area

    if "segment_id" not in segments.columns:
        raise InvalidInputError("segments have no 'segment_id' column")
    out = segments.copy()
    aligned = _aligned_block_areas(class_map, segments, crops)
    if aligned is not None:
        for crop in crops:
            out[f"{crop}_map_ha"] = aligned[crop]
        return out
    mapped = zonal_class_area(class_map, segments, "segment_id")
    column = "segment_id" if "segment_id" in mapped.columns else "zone_id"
    for crop in crops:
        of_crop = mapped[mapped["class"] == code_of(crop)].groupby(column)["area_ha"].sum()
        out[f"{crop}_map_ha"] = out["segment_id"].map(of_crop).fillna(0.0).to_numpy()
    return out


SUMMED_AREA_STRIP_ROWS = 512
"""Map rows per summed-area table: a frame over a whole province never loads the whole map."""


def _aligned_block_areas(class_map, segments, crops) -> dict[str, np.ndarray] | None:
    """Crop hectares per segment when every segment is a block of whole pixels, else None."""
    from geo.estimation.map_area import open_class_map

    if getattr(segments, "crs", None) is None or len(segments) == 0:
        return None
    raster = open_class_map(class_map)
    crs, t = raster.rio.crs, raster.rio.transform()
    if crs is None or not crs.is_projected or segments.crs != crs or t.b != 0 or t.d != 0:
        return None
    bounds = segments.geometry.bounds.to_numpy()
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    edges = np.stack([(bounds[:, 3] - t.f) / t.e, (bounds[:, 1] - t.f) / t.e,
                      (bounds[:, 0] - t.c) / t.a, (bounds[:, 2] - t.c) / t.a])  # fmt: skip
    whole = np.round(edges)
    height, width = raster.shape[-2:]
    if not (np.allclose(segments.geometry.area.to_numpy(), box_area, rtol=1e-9)
            and np.allclose(edges, whole, atol=1e-6) and whole.min() >= 0
            and whole[:2].max() <= height and whole[2:].max() <= width):  # fmt: skip
        return None
    r0, r1, c0, c1 = whole.astype("int64")
    counts = {crop: np.zeros(len(segments), dtype="int64") for crop in crops}
    for s0 in range(0, height, SUMMED_AREA_STRIP_ROWS):  # by strips: memory bounded by width
        s1 = min(s0 + SUMMED_AREA_STRIP_ROWS, height)
        top, bottom = np.clip(r0, s0, s1) - s0, np.clip(r1, s0, s1) - s0
        if not (bottom > top).any():
            continue
        codes = np.asarray(raster[..., s0:s1, :].values).reshape(s1 - s0, width)
        for crop in crops:
            table = np.zeros((s1 - s0 + 1, width + 1), dtype="int64")
            table[1:, 1:] = (codes == code_of(crop)).cumsum(axis=0).cumsum(axis=1)
            counts[crop] += table[bottom, c1] - table[top, c1] - table[bottom, c0] + table[top, c0]
    pixel_ha = abs(t.a * t.e) / 10_000.0
    return {crop: count * pixel_ha for crop, count in counts.items()}


def _segment_values(segments: pd.DataFrame, column: str) -> np.ndarray:
    if column not in segments.columns:
        raise InvalidInputError(
            f"segments have no {column!r} column; columns are {list(segments.columns)}"
        )
    values = pd.to_numeric(segments[column], errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        ids = segments["segment_id"] if "segment_id" in segments.columns else segments.index
        raise InvalidInputError(
            f"segments {list(pd.Series(ids)[bad])[:10]}: {column} is missing or negative; "
            "interpret every sampled segment (0 ha where the crop is absent)"
        )
    return values


def _auxiliary(segments: pd.DataFrame, auxiliary: str) -> np.ndarray:
    if auxiliary == "segment_ha" and auxiliary not in segments.columns:
        if getattr(segments, "crs", None) is None or not segments.crs.is_projected:
            raise InvalidInputError(
                "ratio estimator on segment area needs a 'segment_ha' column or segments in a "
                "projected CRS"
            )
        return segments.geometry.area.to_numpy() / 10_000.0
    return _segment_values(segments, auxiliary)


def _stratum_totals(y, x, strata, codes, sizes, totals, estimator):
    """Return per-stratum totals for arrays of shape (..., n) indexed by ``strata`` codes."""
    out = []
    for h, _ in enumerate(codes):
        mask = strata == h
        if estimator == "expansion":
            out.append(sizes[h] * y[..., mask].mean(axis=-1))
        else:
            out.append(totals[h] * y[..., mask].sum(axis=-1) / x[..., mask].sum(axis=-1))
    return np.stack(out, axis=-1)


def segment_estimate(
    segments: pd.DataFrame,
    frame_sizes: Mapping[str, int],
    crop: str,
    *,
    estimator: str = "expansion",
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    frame_totals: Mapping[str, float] | None = None,
    auxiliary: str = "segment_ha",
    map_total_ha: float | None = None,
    frame: pd.DataFrame | None = None,
    variance: str | None = None,
) -> SegmentEstimate:
    """Estimate the total crop area of the frame from a stratified random segment sample.

    Parameters
    ----------
    segments : pandas.DataFrame or geopandas.GeoDataFrame
        Sampled segments with ``stratum`` and ``<crop>_ha`` (interpreted crop
        area per segment).
    frame_sizes : mapping
        ``{stratum: N_h}``, number of segments of each stratum in the frame.
    crop : str
        Crop name; the column read is ``f"{crop}_ha"``.
    estimator : {"expansion", "ratio", "difference"}
        Expansion (mean per segment × N_h), separate ratio to ``auxiliary``, or
        the map-assisted difference estimator (needs ``<crop>_map_ha`` and
        ``map_total_ha``).
    n_boot : int
        Bootstrap replicates for the interval.
    seed : int
        Seed of the bootstrap.
    confidence : float
        Confidence level of the percentile interval.
    frame_totals : mapping, optional
        ``{stratum: X_h}``, frame total of the auxiliary (stratum area in ha for
        segment area); required by the ratio estimator.
    auxiliary : str
        Auxiliary column for the ratio estimator; ``segment_ha`` is computed
        from projected geometries if absent.
    map_total_ha : float, optional
        Crop area of the class map over the whole frame (difference estimator);
        with ``frame`` and none given, the sum of the frame's ``<crop>_map_ha``.
    frame : pandas.DataFrame, optional
        Every segment of the frame with ``stratum`` and ``<crop>_map_ha``, for the
        map-ratio variance.
    variance : {"design", "map_ratio", "larger"}, optional
        Per-stratum variance (``geo.estimation.segment_variance``); by default
        ``larger`` (of the design and Isaki's map-ratio variance) when ``frame``
        is given and the estimator is not ``ratio``, else ``design``.

    Returns
    -------
    SegmentEstimate

    Raises
    ------
    InvalidInputError
        Unknown strata or estimator, missing or negative values.
    EstimationError
        A frame stratum with fewer than 2 sampled segments.

    Examples
    --------
    >>> est = segment_estimate(sample, {"high": 120, "low": 180}, "opium_poppy")  # doctest: +SKIP
    >>> est.total_ha, est.ci_low_ha, est.ci_high_ha  # doctest: +SKIP
    """
    if estimator not in ESTIMATORS:
        raise InvalidInputError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if not 0 < confidence < 1 or n_boot < 100:
        raise InvalidInputError(
            f"need 0 < confidence < 1 and n_boot >= 100 (got {confidence}, {n_boot})"
        )
    if "stratum" not in segments.columns:
        raise InvalidInputError("segments have no 'stratum' column")
    codes = sorted(frame_sizes, key=str)
    unknown = sorted(set(segments["stratum"]) - set(codes), key=str)
    if unknown:
        raise InvalidInputError(f"segments have strata {unknown} that frame_sizes does not list")
    y = _segment_values(segments, f"{crop}_ha")
    strata = segments["stratum"].map({c: i for i, c in enumerate(codes)}).to_numpy()
    n = np.bincount(strata, minlength=len(codes))
    sizes = np.array([float(frame_sizes[c]) for c in codes])
    if (n < 2).any():
        thin = [c for c, k in zip(codes, n, strict=True) if k < 2]
        raise EstimationError(f"strata {thin} have fewer than 2 sampled segments; sample more")
    if (n > sizes).any():
        raise InvalidInputError(f"more sampled segments than frame segments: n={n}, N={sizes}")
    x = totals = None
    offset = 0.0
    observed = y
    if variance is None:
        variance = "larger" if frame is not None and estimator != "ratio" else "design"
    if variance != "design" and estimator == "ratio":
        raise InvalidInputError("the map-ratio variance goes with 'expansion' or 'difference'")
    if map_total_ha is None and frame is not None and estimator == "difference":
        map_total_ha = float(pd.to_numeric(frame[f"{crop}_map_ha"]).sum())
    if estimator == "difference":
        if map_total_ha is None or not np.isfinite(map_total_ha) or map_total_ha < 0:
            raise InvalidInputError(
                "the difference estimator needs map_total_ha, the map's crop area over the frame"
            )
        y, offset, estimator_kind = (
            y - _segment_values(segments, f"{crop}_map_ha"),
            map_total_ha,
            "expansion",
        )
    else:
        estimator_kind = estimator
    if estimator == "ratio":
        if frame_totals is None or set(frame_totals) != set(codes):
            raise InvalidInputError("the ratio estimator needs frame_totals for every stratum")
        x = _auxiliary(segments, auxiliary)
        totals = np.array([float(frame_totals[c]) for c in codes])

    per_stratum = _stratum_totals(y, x, strata, codes, sizes, totals, estimator_kind)
    if estimator_kind == "expansion":
        spread = stratum_variance(
            y, strata, codes, variance=variance,
            mapped=None if variance == "design" else _segment_values(segments, f"{crop}_map_ha"),
            frame_spread=None if variance == "design" else frame_map_variance(frame, crop),
        )  # fmt: skip
    else:
        ratio = np.array([y[strata == h].sum() / x[strata == h].sum() for h in range(len(codes))])
        spread = stratum_variance(y - ratio[strata] * x, strata, codes)
    variances = sizes**2 * (1 - n / sizes) * spread / n

    # Rao-Wu rescaling bootstrap: draw n_h - 1 segments with replacement and shrink the
    # replicate's deviation by sqrt(1 - f_h), so its variance matches the unbiased one.
    rng = np.random.default_rng(seed)
    order = np.argsort(strata, kind="stable")
    draws = np.concatenate(
        [order[strata[order] == h][rng.integers(0, n[h], size=(n_boot, n[h] - 1))]
         for h in range(len(codes))], axis=1)  # fmt: skip
    boot_strata = strata[draws[0]]
    replicate = _stratum_totals(y[draws], None if x is None else x[draws], boot_strata, codes,
                                sizes, totals, estimator_kind)  # fmt: skip
    shrink = np.sqrt(1 - n / sizes)
    boot = offset + (per_stratum + shrink * (replicate - per_stratum)).sum(axis=-1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    mapped = observed - y if estimator == "difference" else None
    residuals = y if estimator == "difference" else None
    floors, note = unseen_floor(observed, mapped, strata, n, sizes, alpha, segments, residuals)
    variances = np.maximum(variances, floors)
    total, se = offset + float(per_stratum.sum()), float(np.sqrt(np.sum(variances)))
    # Student's t on n - H degrees of freedom: a few dozen segments, skewed crop areas
    z = float(stats.t.ppf(1 - alpha, df=max(int(n.sum()) - len(codes), 1)))
    low, high = max(0.0, min(low, total - z * se)), max(high, total + z * se)
    if not np.isfinite(se):
        high = np.nan
    by_stratum = pd.DataFrame(
        {"N": sizes.astype(int), "n": n, "total_ha": per_stratum, "se_ha": np.sqrt(variances)},
        index=pd.Index(codes, name="stratum"),
    )
    return SegmentEstimate(
        crop=crop, estimator=estimator, total_ha=total, se_ha=se, ci_low_ha=float(low),
        ci_high_ha=float(high), n_segments=int(n.sum()), n_boot=n_boot, confidence=confidence,
        by_stratum=by_stratum, note=note, variance=variance,
    )  # fmt: skip
