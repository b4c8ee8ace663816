"""Synthetic farmer feedback: a household questionnaire in programme districts.

The share of households growing poppy follows the true change of poppy area in
their district since the baseline year, adoption of the programme's
alternative crops rises after the baseline, and so do income and satisfaction
among adopters. Exported like KoboToolbox (``;``, ``household/...`` group
paths, one 0/1 column per choice of the select-multiple question).
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from synthetic.survey import kobo_metadata, write_kobo_csv
from synthetic.truth import TruthRegion, rng_for

__all__ = ["ALTERNATIVE_CROP_CHOICES", "household_survey", "household_survey_text"]

logger = logging.getLogger(__name__)

ALTERNATIVE_CROP_CHOICES = (
    "coffee",
    "tea",
    "macadamia",
    "avocado",
    "ginger",
    "livestock",
    "fruit_trees",
)
_VILLAGE_PARTS = ("Ban", "Man", "Wan", "Na")
_VILLAGE_NAMES = (
    "Hpa Lai",
    "Nong Kio",
    "Pang Mu",
    "Loi Tawng",
    "Hsai Kham",
    "Kong Mong",
    "Tat Lek",
)


def household_survey(truth: TruthRegion, year: int) -> pd.DataFrame:
    """Draw the household questionnaire of ``year`` (one row per household)."""
    rng = rng_for(truth.seed, 50, year)
    area = truth.district_truth[truth.district_truth["class"] == "opium_poppy"].set_index(
        ["district_id", "year"]
    )["area_ha"]
    baseline = truth.years[0]
    rows = []
    for programme in truth.programmes.itertuples():
        crops = programme.alternative_crops.split(";")
        for district_id in programme.district_ids.split(";"):
            drng = rng_for(truth.seed, 51, int(district_id[1:]))
            villages = [
                f"{_VILLAGE_PARTS[i % 4]} {_VILLAGE_NAMES[j]}"
                for i, j in enumerate(drng.permutation(len(_VILLAGE_NAMES))[:3])
            ]
            base_area = float(area.loc[(district_id, baseline)])
            ratio = float(area.loc[(district_id, year)]) / base_area if base_area > 0 else 1.0
            share_poppy = float(np.clip(drng.uniform(0.25, 0.5) * ratio, 0.0, 0.95))
            adoption = 0.15 if year == baseline else 0.55
            income_pc = float(programme.income_per_capita_usd)
            for k in range(int(rng.integers(20, 36))):
                adopted = [c for c in crops if rng.random() < adoption]
                size = int(rng.integers(3, 9))
                gain = 1.0 + (0.15 if adopted and year != baseline else 0.0)
                rows.append(
                    {
                        "household/programme_id": programme.programme_id,
                        "household/district_id": district_id,
                        "household/village": villages[k % 3],
                        "household/household_id": f"{district_id}-H{k + 1:03d}",
                        "household/household_size": size,
                        "household/grows_poppy": "yes" if rng.random() < share_poppy else "no",
                        "household/grows_cannabis": "yes" if rng.random() < 0.06 else "no",
                        "household/income_usd": int(
                            round(income_pc * size * gain * rng.lognormal(0, 0.25), -1)
                        ),
                        "household/alternative_crops": " ".join(adopted),
                        **{
                            f"household/alternative_crops/{c}": int(c in adopted)
                            for c in ALTERNATIVE_CROP_CHOICES
                        },
                        "household/satisfaction": int(
                            np.clip(round(rng.normal(3.8 if adopted else 2.9, 0.8)), 1, 5)
                        ),
                    }
                )
    return pd.DataFrame(rows)


def household_survey_text(truth: TruthRegion, year: int) -> str:
    """Return the household questionnaire as a KoboToolbox CSV export."""
    answers = household_survey(truth, year)
    rng = rng_for(truth.seed, 52, year)
    days = rng.integers(120, 200, len(answers))
    dates = [dt.date(year - 1, 10, 1) + dt.timedelta(days=int(d)) for d in days]
    submitters = [f"enumerator_{d.lower()}" for d in answers["household/district_id"]]
    meta = kobo_metadata(rng, dates, submitters, f"vSyn{year}Household")
    table = pd.concat(
        [meta[["start", "end", "today"]], answers, meta.drop(columns=["start", "end", "today"])],
        axis=1,
    )
    return write_kobo_csv(table)
