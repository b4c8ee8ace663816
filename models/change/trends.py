"""Programme cultivation over the years (re-exported by :mod:`models.change`).

``programme_series`` sums each programme's district estimates per stored year with
:func:`models.change.totals.sum_of_districts`; the comparison with other districts
(difference in differences) is :mod:`models.change.did`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.legend import CROPS_OF_INTEREST
from models.change.inputs import (
    district_ids_of,
    estimates_of_year,
    find_estimate,
    unseen_of,
    z_value,
)
from models.change.totals import sum_of_districts

__all__ = ["programme_series"]


def programme_series(
    store_estimates: pd.DataFrame, programmes: pd.DataFrame, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Cultivation in each programme's districts across all stored years.

    Per programme × crop × year, the sum of its districts' estimates with the SE of
    :func:`models.change.totals.sum_of_districts` (shared regional components add
    linearly, the rest in quadrature) and a normal interval (lower bound clipped at 0). A year in which some
    district has no estimate gets NaN area (a partial sum would look like a drop), with
    the missing districts in ``missing_districts``. The upper limit carries the districts'
    unseen omission (``unseen_se_ha``, in quadrature) as a district's upper limit does.

    Returns
    -------
    pandas.DataFrame
        ``programme_id, crop, year, area_ha, ci_low_ha, ci_high_ha, se_ha, n_districts,
        missing_districts, run_id``.
    """
    z = z_value(confidence)
    rows = []
    for y in sorted(store_estimates["year"].dropna().astype(int).unique()):
        table, run = estimates_of_year(store_estimates, y, z)
        for _, prog in programmes.iterrows():
            ids = district_ids_of(prog["district_ids"])
            for crop in CROPS_OF_INTEREST:
                hits = {d: find_estimate(table, d, crop) for d in ids}
                missing = [d for d, h in hits.items() if h is None]
                area = se = unseen = np.nan
                if ids and not missing:
                    unseen = float(np.sqrt(sum(unseen_of(h) ** 2 for h in hits.values())))
                    area, se = sum_of_districts(
                        [float(h["area_ha"]) for h in hits.values()],
                        [float(h["se_ha"]) for h in hits.values()],
                        [h.get("shared_se_ha") for h in hits.values()],
                    )
                rows.append(
                    dict(
                        programme_id=prog["programme_id"],
                        crop=crop,
                        year=y,
                        area_ha=area,
                        ci_low_ha=max(0.0, area - z * se) if not np.isnan(area) else np.nan,
                        ci_high_ha=area + z * np.hypot(se, unseen),
                        se_ha=se,
                        n_districts=len(ids),
                        missing_districts=";".join(missing),
                        run_id=run,
                    )
                )
    columns = [
        "programme_id",
        "crop",
        "year",
        "area_ha",
        "ci_low_ha",
        "ci_high_ha",
        "se_ha",
        "n_districts",
        "missing_districts",
        "run_id",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["programme_id", "crop", "year"], ignore_index=True
    )
