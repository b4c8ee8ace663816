"""Per-stratum variance of an area-frame (segment) sample, shared by the estimator and the planner.

**Design** variance: ``s_h²``, the sample variance of the per-segment values of
stratum ``h`` (the crop area, or ``d = y − x`` for the difference estimator).

**Map-ratio** variance (Isaki 1983, JASA 78:117, the ratio estimator of a
finite-population variance): ``s_h² · S²_{x,h} / s²_{x,h}``, with ``x`` the crop
area the class map shows in each segment, known for *every* segment of the
frame (``S²_{x,h}``) and for the sampled ones (``s²_{x,h}``). The residuals of
the difference estimator are heavy-tailed: a few segments where the map missed or
invented a whole field carry most of ``Σ d²`` (in the demo frames 6% of the high
segments carry 87%), and a sample of 10-14 segments often contains none, so
``s_h²`` is then far too small. Those segments hold much mapped crop, so a sample
that misses them also shows too little spread of ``x``; the ratio scales ``s_h²``
back by how under-spread the sample's map values are. A stratum whose sampled map
values do not vary (``s²_{x,h} = 0``) keeps ``s_h²``.

**Larger** of the two: both are consistent for ``S_h²``; with 10-14 segments the
ratio still falls short in samples that miss the large residuals (the map's
crop area tracks them only loosely) and shrinks ``s_h²`` in samples whose map
values happen to be over-spread, so the larger one is used: a conservative choice,
measured in ``tests/benchmarks/bench_segment_intervals.py``.

**Unseen crop.** A stratum whose sampled segments show no crop has ``s_h = 0``
(expansion). Its stratum variance is then at least ``(N_h · p⁺_h · a / z)²``
with ``p⁺_h = 1 − (α/2)^(1/n_h)`` the Clopper–Pearson upper bound of the share
of its segments holding the crop when 0 of ``n_h`` did, and ``a`` the mean crop
area of the sampled segments that show it (any stratum); with no such segment,
the mapped areas of the sampled segments (difference estimator), and failing
those the area of a whole segment (``segment_ha`` or projected geometry): no
segment can hold more crop than its own area, so the bound is exact though wide.
Only with none of these is the upper bound not estimable. The difference
estimator's stratum whose sampled residuals are all zero (map and interpretation
agree on every sampled segment) gets the same floor: its zero spread says only
that the share of segments the map gets wrong is below ``p⁺_h``, each by up to a
segment's crop.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from core.errors import InvalidInputError

__all__ = ["VARIANCES", "frame_map_variance", "stratum_variance", "unseen_floor"]

VARIANCES = ("design", "map_ratio", "larger")
"""Per-stratum variance of the segment values: plain, Isaki's map ratio, or the larger of both."""


def frame_map_variance(frame: pd.DataFrame | None, crop: str) -> dict[str, float]:
    """Return ``{stratum: S²}``, the variance of ``<crop>_map_ha`` over every frame segment.

    Parameters
    ----------
    frame : pandas.DataFrame
        Every segment of the area frame with ``stratum`` and ``<crop>_map_ha``.
    crop : str
        Crop name.

    Raises
    ------
    InvalidInputError
        The frame lacks the columns or a stratum has a single segment.
    """
    if frame is None:
        raise InvalidInputError(
            "the map-ratio variance needs the frame: every segment with its mapped crop area"
        )
    column = f"{crop}_map_ha"
    missing = {"stratum", column} - set(frame.columns)
    if missing:
        raise InvalidInputError(f"the frame has no {sorted(missing)} column(s)")
    values = pd.to_numeric(frame[column], errors="coerce")
    if not np.isfinite(values).all():
        raise InvalidInputError(f"the frame's {column} has missing values; map every segment")
    spread = values.groupby(frame["stratum"]).var(ddof=1)
    if spread.isna().any():
        raise InvalidInputError(f"frame strata {list(spread.index[spread.isna()])} hold 1 segment")
    return {stratum: float(v) for stratum, v in spread.items()}


def stratum_variance(
    values: np.ndarray,
    strata: np.ndarray,
    codes: list,
    *,
    variance: str = "design",
    mapped: np.ndarray | None = None,
    frame_spread: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Return ``S_h²`` per stratum of ``values`` (module docstring: design or map ratio).

    ``strata`` holds stratum indices into ``codes``; ``mapped`` the sampled
    segments' mapped crop area and ``frame_spread`` the frame's ``{stratum: S²_x}``
    (``frame_map_variance``), both needed by ``map_ratio``.
    """
    if variance not in VARIANCES:
        raise InvalidInputError(f"variance must be one of {VARIANCES}, got {variance!r}")
    if variance != "design" and (mapped is None or frame_spread is None):
        raise InvalidInputError(
            "the map-ratio variance needs the sampled segments' <crop>_map_ha and the frame's "
            "mapped areas (frame=)"
        )
    if variance != "design" and set(codes) - set(frame_spread):
        raise InvalidInputError(
            f"the frame has no segment of strata {set(codes) - set(frame_spread)}"
        )
    out = np.empty(len(codes))
    for h, code in enumerate(codes):
        mask = strata == h
        out[h] = design = values[mask].var(ddof=1)
        if variance != "design":
            sample_spread = mapped[mask].var(ddof=1)
            if sample_spread > 0:
                out[h] = design * frame_spread[code] / sample_spread
            if variance == "larger":
                out[h] = max(out[h], design)
    return out


def _segment_area(segments: pd.DataFrame) -> float | None:
    """Largest sampled segment's area (ha): ``segment_ha`` or the projected geometry."""
    if "segment_ha" in segments.columns:
        area = pd.to_numeric(segments["segment_ha"], errors="coerce").to_numpy(dtype="float64")
    elif getattr(segments, "crs", None) is not None and segments.crs.is_projected:
        area = segments.geometry.area.to_numpy() / 10_000.0
    else:
        return None
    area = area[np.isfinite(area) & (area > 0)]
    return float(area.max()) if area.size else None


def unseen_floor(
    observed: np.ndarray,
    mapped: np.ndarray | None,
    strata: np.ndarray,
    n: np.ndarray,
    sizes: np.ndarray,
    alpha: float,
    segments: pd.DataFrame,
    residuals: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """Variance floor of the strata whose sampled segments show no crop (module docstring).

    ``residuals`` (difference estimator: ``y − x``) also floors a stratum whose
    sampled residuals are all zero.
    """
    unseen = np.array([not (observed[strata == h] > 0).any() for h in range(len(n))])
    agree = np.zeros(len(n), dtype=bool)
    if residuals is not None:
        agree = np.array([not (residuals[strata == h] != 0).any() for h in range(len(n))])
    empty = (unseen | agree) & (n < sizes)  # a stratum taken whole has no sampling error
    unseen, agree = unseen & empty, agree & empty
    if not empty.any():
        return np.zeros(len(n)), ""
    upper_share = 1 - alpha ** (1 / n)
    z = float(stats.norm.ppf(1 - alpha))
    per_segment, source = observed[observed > 0], "the mean crop area of the segments that show it"
    if per_segment.size == 0 and mapped is not None and (mapped > 0).any():
        per_segment = mapped[mapped > 0]
        source = "the mean mapped crop area of the sampled segments"
    if per_segment.size:
        typical = float(per_segment.mean())
    else:
        typical = _segment_area(segments)
        source = "the area of a whole segment (the most crop a segment can hold)"
        if typical is None:
            return np.where(empty, np.inf, 0.0), (
                "no sampled segment shows the crop and the segments' area is unknown: the upper "
                "bound is not estimable")  # fmt: skip
    bound = sizes * upper_share * typical
    what = []
    if unseen.any():
        what.append(f"{int(unseen.sum())} strata show the crop in no sampled segment")
    if (agree & ~unseen).any():
        what.append(f"{int((agree & ~unseen).sum())} strata have map and interpretation agree "
                    "on every sampled segment")  # fmt: skip
    return np.where(empty, (bound / z) ** 2, 0.0), (
        f"{'; '.join(what)}; their variance is the Clopper-Pearson bound on the share of "
        f"segments with the crop (or a map error) x {source}")  # fmt: skip
