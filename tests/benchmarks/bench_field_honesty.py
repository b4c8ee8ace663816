"""Honesty of the eradication intervals over demo-like seeds.

For each seed the demo generator draws a known truth (``synthetic.generate_truth``,
12 districts, two years) and the field survey of each year
(``synthetic.survey.draw_survey``: about 45 poppy plots over the region, so a
district has a handful, often none eradicated). ``eradication_by_district``
then estimates eradicated hectares per district from the survey plots and the
district's cultivation. To measure the share's interval alone, the
cultivation given is the true poppy area before eradication with standard
error 0; the interval then covers the truth exactly when the share interval
covers the true eradicated share. Coverage counts every district and year,
including those whose surveyed plots found no eradicated field.

Run ``nice -n 10 .venv/bin/python tests/benchmarks/bench_field_honesty.py --seeds 7``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from geo.estimation import eradication_by_district
from synthetic import generate_truth
from synthetic.survey import draw_survey


def eradication_rows(seed: int) -> pd.DataFrame:
    """Return one row per district and year: truth, estimate, interval and share method."""
    truth = generate_truth(seed)
    frames = []
    for year in truth.years:
        yields = truth.yields[truth.yields.year == year].set_index("district_id")
        erad = truth.eradication[truth.eradication.year == year].set_index("district_id")
        cultivation = yields["poppy_harvested_ha"] + erad["eradicated_ha"]
        estimates = pd.DataFrame({"district_id": cultivation.index, "crop": "opium_poppy",
                                  "area_ha": cultivation.to_numpy(), "se_ha": 0.0})  # fmt: skip
        plots = draw_survey(truth, year)
        table = eradication_by_district(
            plots, truth.districts.to_crs(plots.crs), estimates=estimates, crops=["opium_poppy"]
        )
        table = table.set_index("district_id").loc[cultivation.index]
        frames.append(pd.DataFrame({
            "seed": seed, "year": year, "district_id": cultivation.index,
            "cultivation_ha": cultivation.to_numpy(), "true_ha": erad["eradicated_ha"].to_numpy(),
            "estimate_ha": table["eradicated_ha"].to_numpy(),
            "low_ha": table["eradicated_ci_low_ha"].to_numpy(),
            "high_ha": table["eradicated_ci_high_ha"].to_numpy(),
            "surveyed_plots": table["surveyed_plots"].to_numpy(),
            "eradicated_plots": table["eradicated_plots"].to_numpy(),
            "share_method": table.get("share_method", table["share_source"]).to_numpy(),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the 95% interval overall and by share method; count of [0, 0] intervals."""
    rows = rows.assign(
        covered=(rows.low_ha - 1e-6 <= rows.true_ha) & (rows.true_ha <= rows.high_ha + 1e-6),
        zero_zero=(rows.low_ha == 0) & (rows.high_ha == 0) & (rows.cultivation_ha > 0),
    )
    groups = [("all", rows)] + [(m, g) for m, g in rows.groupby("share_method")]
    return pd.DataFrame([{
        "share_method": name, "rows": len(group), "coverage": group.covered.mean(),
        "zero_zero_with_cultivation": int(group.zero_zero.sum()),
        "median_half_width_ha": float(((group.high_ha - group.low_ha) / 2).median()),
    } for name, group in groups])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=7)
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    rows = pd.concat([eradication_rows(s) for s in seeds], ignore_index=True)
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(summarize(rows).to_string(index=False))
    print(f"{args.seeds} seeds x 2 years x {rows.district_id.nunique()} districts "
          f"in {time.perf_counter() - start:.1f} s")  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
