"""Fictional districts' names, AD programmes and their built-in effect on cultivation.

Programmes work where poppy is most common. In a programme district poppy falls by
40-60 % from the baseline year to the next (one district, when there are three
or more, is a deliberate "no detectable change" case at about -5 %); outside
programmes it rises by 5-25 %. Cannabis moves by at most +-10 % everywhere.
The *realised* change (from the rasters) is what ``truth/programme_effect.csv``
records, with the verdict a perfect survey would reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "VERDICT_THRESHOLD_PCT",
    "ProgrammePlan",
    "district_names",
    "draw_programmes",
    "expected_verdict",
]

VERDICT_THRESHOLD_PCT = 20.0
"""A true change beyond +-20 % of the baseline is what a survey should detect."""

_PREFIXES = ("Loi", "Nam", "Wan", "Hsi", "Kung", "Pang", "Mong", "Ho", "Man", "Na", "Ton", "Kyauk")
_SUFFIXES = (
    "Hsang",
    "Pawk",
    "Lek Noi",
    "Tawng",
    "Hkam",
    "Yawng",
    "Mai Hseng",
    "Pai Long",
    "Sang Hpa",
    "Lawng",
    "Mawk",
    "Keng Tai",
)
_PROGRAMME_NAMES = (
    "Highland Coffee Livelihoods",
    "Upland Tea and Market Access",
    "Macadamia for Peace",
    "Community Forest and Livestock",
)
_AGENCIES = (
    "Fictional Ministry of Agriculture, Livestock and Irrigation",
    "Fictional Highland Development Foundation",
    "Fictional Department of Rural Development",
    "Fictional Shan Farmers' Cooperative Union",
)
_FUNDERS = ("Fictional AD Trust Fund", "Fictional Bilateral Donor", "Fictional Regional Bank")
_ALTERNATIVE_CROPS = ("coffee;avocado", "tea;ginger", "macadamia;coffee", "livestock;fruit_trees")
_TENURE = ("customary", "mixed", "formal title", "none")


def district_names(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` distinct fictional district names."""
    combos = [f"{p} {s}" for p in _PREFIXES for s in _SUFFIXES]
    picked = [combos[i] for i in rng.permutation(len(combos))[: min(n, len(combos))]]
    while len(picked) < n:
        picked.append(f"{combos[len(picked) % len(combos)]} {len(picked) // len(combos) + 1}")
    return picked


def expected_verdict(true_change_pct: float) -> str:
    """Return ``decrease``, ``increase`` or ``no detectable change`` for a true change."""
    if np.isnan(true_change_pct):
        return "no detectable change"
    if true_change_pct <= -VERDICT_THRESHOLD_PCT:
        return "decrease"
    if true_change_pct >= VERDICT_THRESHOLD_PCT:
        return "increase"
    return "no detectable change"


@dataclass(frozen=True)
class ProgrammePlan:
    """Which districts each programme covers and the cultivation targets per year."""

    groups: list[list[str]]
    """District ids of each programme (programme k is ``P0{k+1}``)."""
    empty_baseline: int | None
    """Index of the programme whose baseline cultivation is left empty, if any."""
    targets: pd.DataFrame
    """``district_id, year, poppy_frac, cannabis_frac, dry_crop_frac, change``."""
    rng_state: dict
    """State of the generator for the descriptive columns (keeps them reproducible)."""

    def tables(
        self, district_truth: pd.DataFrame, years: tuple[int, ...]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return (programme table, programme effect) from the realised truth."""
        rng = np.random.default_rng()
        rng.bit_generator.state = self.rng_state
        area = district_truth.pivot_table(
            index=["district_id", "year"], columns="class", values="area_ha", aggfunc="sum"
        )
        baseline = years[0]
        rows, effects = [], []
        for k, group in enumerate(self.groups):
            programme_id = f"P{k + 1:02d}"
            base = area.loc[[(d, baseline) for d in group]]
            total_ha = float(base.sum(axis=1).sum())
            population = int(round(total_ha / 100 * rng.uniform(35, 70)))
            empty = k == self.empty_baseline
            rows.append(
                {
                    "programme_id": programme_id,
                    "name": _PROGRAMME_NAMES[k % len(_PROGRAMME_NAMES)],
                    "agency": _AGENCIES[k % len(_AGENCIES)],
                    "funder": _FUNDERS[k % len(_FUNDERS)],
                    "start_date": f"{baseline - 1}-10-01",
                    "end_date": f"{baseline + 4}-09-30",
                    "district_ids": ";".join(group),
                    "baseline_year": baseline,
                    "baseline_opium_poppy_ha": None
                    if empty
                    else round(float(base["opium_poppy"].sum()), 1),
                    "baseline_cannabis_ha": None
                    if empty
                    else round(float(base["cannabis"].sum()), 1),
                    "households": max(1, int(round(population / rng.uniform(4.6, 5.8)))),
                    "population": population,
                    "income_per_capita_usd": round(float(rng.uniform(280, 650)), 0),
                    "alternative_crops": _ALTERNATIVE_CROPS[k % len(_ALTERNATIVE_CROPS)],
                    "forest_cover_ha": round(float(base["forest"].sum()), 1),
                    "land_tenure_status": _TENURE[k % len(_TENURE)],
                }
            )
            for district_id in group:
                for crop in ("opium_poppy", "cannabis"):
                    before = float(area.loc[(district_id, baseline), crop])
                    for year in years[1:]:
                        after = float(area.loc[(district_id, year), crop])
                        change = 100 * (after - before) / before if before > 0 else float("nan")
                        effects.append(
                            {
                                "programme_id": programme_id,
                                "district_id": district_id,
                                "crop": crop,
                                "baseline_year": baseline,
                                "year": year,
                                "baseline_ha": round(before, 2),
                                "area_ha": round(after, 2),
                                "true_change_pct": round(change, 2),
                                "expected_verdict": expected_verdict(change),
                            }
                        )
        return pd.DataFrame(rows), pd.DataFrame(effects)


def draw_programmes(
    rng: np.random.Generator, district_ids: list[str], years: tuple[int, ...]
) -> ProgrammePlan:
    """Draw cultivation targets per district and year and the programmes' districts."""
    n = len(district_ids)
    poppy0 = np.exp(rng.uniform(np.log(0.005), np.log(0.05), n))
    cannabis0 = np.exp(rng.uniform(np.log(0.0015), np.log(0.006), n))
    n_programme = int(np.clip(round(n * 5 / 12), 1, n - 1))
    # Programmes go where poppy is most common, as AD programmes do (and where a survey can
    # see their effect: a -50 % change on a few hectares is within any district's interval).
    chosen = sorted(int(i) for i in np.argsort(poppy0)[-n_programme:])
    n_groups = min(4, n_programme)
    order = list(rng.permutation(chosen))
    groups_idx = [[order[i]] for i in range(n_groups)]
    for extra in order[n_groups:]:
        groups_idx[0].append(extra)
    groups_idx = [sorted(int(i) for i in g) for g in groups_idx]

    change = rng.uniform(0.05, 0.25, n)  # outside programmes: a rise
    for g, members in enumerate(groups_idx):
        for i in members:
            change[i] = rng.uniform(-0.60, -0.40)
        if n_groups >= 3 and g == 2:  # the "no detectable change" programme
            for i in members:
                change[i] = -0.05
    empty_baseline = n_groups - 1 if n_groups >= 2 else None

    cannabis_change = rng.uniform(-0.10, 0.10, n)
    records = []
    for step, year in enumerate(years):
        dry = rng.uniform(0.01, 0.03, n)
        for i, district_id in enumerate(district_ids):
            records.append(
                {
                    "district_id": district_id,
                    "year": year,
                    "poppy_frac": poppy0[i] * (1 + change[i]) ** step,
                    "cannabis_frac": cannabis0[i] * (1 + cannabis_change[i]) ** step,
                    "dry_crop_frac": dry[i],
                    "change": change[i],
                    "in_programme": i in chosen,
                }
            )
    return ProgrammePlan(
        groups=[[district_ids[i] for i in g] for g in groups_idx],
        empty_baseline=empty_baseline,
        targets=pd.DataFrame(records),
        rng_state=rng.bit_generator.state,
    )
