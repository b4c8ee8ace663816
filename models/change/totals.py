"""Sums of district estimates that respect their correlation, and programme ``ALL`` rows.

Districts are sampled independently, but a district stratum with too few own
reference points borrows the *regional* proportion of its map class
(``geo.estimation.district_estimates``): every district that borrows it carries the
same sampling error, fully correlated. Each estimate says which shared components it
carries in ``shared_se_ha`` (``"<component>=<ha>;..."``: the part of its SE, in ha,
that comes from each borrowed regional proportion). The variance of a sum is then

    Var(sum) = Σ_d Var_d + Σ_k [ (Σ_d a_dk)² − Σ_d a_dk² ]

(``a_dk`` the loading of district ``d`` on component ``k``): the shared parts add
linearly, the rest in quadrature. For two districts that borrow one component and
nothing else, that is 2× the quadrature variance (1.41× the SE). Without the column,
estimates are taken as independent (the sum's ``note`` cannot tell).

The omission each district's sample cannot see (``unseen_se_ha``) is not in ``se_ha``
but in the upper limit (``geo.estimation.districts``). The limits of a sum come from
the districts' own limits (``limits_of_sum``: their reaches in quadrature, MOVER, plus
the shared part), so a sum is skewed as its districts are and carries their unseen
terms on the upper side; a district's share of a reported baseline is as uncertain as
its full interval says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.change.inputs import add_note, current_fields, unseen_of

__all__ = ["shared_components", "sum_of_districts", "limits_of_sum", "share_of", "all_row"]


def shared_components(value: Any) -> dict[str, float]:
    """``{component: ha}`` from a ``shared_se_ha`` cell (empty or NaN: no shared part)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    parts = {}
    for item in str(value).split(";"):
        if "=" in item:
            key, _, number = item.rpartition("=")
            parts[key.strip()] = float(number)
    return parts


def sum_of_districts(
    area_ha: Sequence[float],
    se_ha: Sequence[float],
    shared: Sequence[Any] | None = None,
) -> tuple[float, float]:
    """Total and SE of a sum of district estimates.

    The one place district estimates are added up (programme ``ALL`` rows, the
    programme series). ``shared`` holds each estimate's ``shared_se_ha`` (text or
    ``{component: ha}``); without it the SEs add in quadrature.

    Examples
    --------
    >>> sum_of_districts([10, 20], [3, 4])
    (30.0, 5.0)
    >>> sum_of_districts([10, 20], [3, 3], ["forest=3", "forest=3"])
    (30.0, 6.0)
    """
    variance = float(np.sum(np.square(se_ha)))
    loadings: dict[str, list[float]] = {}
    for cell in () if shared is None else shared:
        parts = cell if isinstance(cell, dict) else shared_components(cell)
        for key, ha in parts.items():
            loadings.setdefault(key, []).append(float(ha))
    for values in loadings.values():
        variance += float(np.sum(values)) ** 2 - float(np.sum(np.square(values)))
    return float(np.sum(area_ha)), math.sqrt(max(variance, 0.0))


def limits_of_sum(rows: Sequence[dict[str, Any]], se: float, z: float) -> tuple[float, float]:
    """The limits of a sum of district estimates, from the districts' own limits (MOVER).

    Each district's reaches ``e − low`` and ``high − e`` add in quadrature (Zou & Donner
    2008, as ``geo.estimation.mover`` sums strata), and the part of the sum's variance
    that comes from shared regional proportions (``se² − Σ se_d²``) adds ``z`` times its
    root to both. With normal district limits ``e ± z·se_d`` (upper with the unseen
    term) this is ``total − z·se`` and ``total + z·√(se² + unseen²)``.
    """
    total = sum(float(r["area_ha"]) for r in rows)
    shared = max(se**2 - sum(float(r["se_ha"]) ** 2 for r in rows), 0.0)
    down = sum((float(r["area_ha"]) - float(r["ci_low_ha"])) ** 2 for r in rows)
    up = sum((float(r["ci_high_ha"]) - float(r["area_ha"])) ** 2 for r in rows)
    return (
        max(0.0, total - math.sqrt(down + z**2 * shared)),
        total + math.sqrt(up + z**2 * shared),
    )


def share_of(hit: pd.Series, hits: Iterable[pd.Series], total: float) -> tuple[float, float]:
    """A district's share of the programme's baseline-year estimates, and its SE.

    The share ``s = e_d / sum(e)`` is a ratio of sampled estimates; by the delta method,
    with districts sampled independently,
    ``Var(s) = ((1 - s)^2 Var(e_d) + s^2 sum_{j != d} Var(e_j)) / sum(e)^2``, each
    ``Var(e)`` the full one, ``se_ha² + unseen_se_ha²``: the share splits a reported
    figure, which no survey of ours shares the map omission with.
    """

    def full(h: pd.Series) -> float:
        return float(h.get("se_ha") or 0.0) ** 2 + unseen_of(h) ** 2

    share = float(hit["area_ha"]) / total
    variances = [full(h) for h in hits]
    own = full(hit)
    others = sum(variances) - own
    variance = ((1 - share) ** 2 * own + share**2 * others) / total**2
    return share, math.sqrt(max(variance, 0.0))


def all_row(
    prog: pd.Series,
    crop: str,
    rows: list[dict[str, Any]],
    reported: dict[str, Any] | None,
    base_run: str | None,
    z: float,
) -> dict[str, Any]:
    """The programme-level (``district_id`` ``"ALL"``) row from its district rows.

    ``reported`` holds the reported baseline fields (``baseline_ha``, ``baseline_se_ha``,
    limits, ``baseline_uncertainty``), or ``None`` when the programme reported none.
    """
    missing = [r["district_id"] for r in rows if math.isnan(r["area_ha"])]
    row: dict[str, Any] = dict(
        programme_id=prog["programme_id"],
        district_id="ALL",
        crop=crop,
        baseline_year=int(prog["baseline_year"]),
    )
    if missing:
        row.update(current_fields(None, f"no estimate this year for {', '.join(missing)}"))
    else:
        total, se = sum_of_districts(
            [r["area_ha"] for r in rows],
            [r["se_ha"] for r in rows],
            [r.get("_shared") for r in rows],
        )
        unseen = math.sqrt(sum(float(r.get("_unseen") or 0.0) ** 2 for r in rows))
        low, high = limits_of_sum(rows, se, z)
        row.update(
            area_ha=total,
            se_ha=se,
            ci_low_ha=low,
            ci_high_ha=high,
            _unseen=unseen,
            n_reference=sum(r["n_reference"] for r in rows),
            note="",
            _z_current=z,
        )
    row["method"] = "sum of districts"
    if reported is not None:
        row.update(reported, baseline_source="reported", baseline_run_id=None)
    elif all(r["baseline_source"] == "derived" for r in rows):
        baseline, baseline_se = sum_of_districts(
            [r["baseline_ha"] for r in rows],
            [r["baseline_se_ha"] for r in rows],
            [r.get("_baseline_shared") for r in rows],
        )
        row.update(
            baseline_ha=baseline,
            baseline_source="derived",
            baseline_se_ha=baseline_se,
            baseline_run_id=base_run,
            baseline_uncertainty="estimated",
        )
    else:
        row.update(
            baseline_ha=np.nan,
            baseline_se_ha=np.nan,
            baseline_source="missing",
            baseline_run_id=None,
        )
        add_note(row, "baseline missing for some districts")
    return row
