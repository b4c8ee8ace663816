"""Honesty of the eradication and segment (area-frame) intervals over demo-like seeds.

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

Segments: on each seed's area frame (``synthetic.drone.segment_frame``, 250 m
segments in two elevation strata), ``--reps`` stratified random samples of the
demo's size (14 high + 10 low segments) are drawn; the crop area of a segment is
the truth's, its mapped area that of a class map with ``bench_honesty``'s
simulated errors, and the frame's true crop area is the target. The expansion
and the map-assisted difference estimators are compared, each with the design
variance, Isaki's map-ratio variance (``--variance``; the frame's mapped area of
every segment is known); a segment's area (6.25 ha) bounds the crop a segment can
hold when no sampled segment shows it.

Run ``nice -n 10 .venv/bin/python tests/benchmarks/bench_field_honesty.py --seeds 7``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from bench_honesty import simulate_class_map

from core.legend import code_of
from geo.estimation import eradication_by_district, segment_estimate
from synthetic import generate_truth
from synthetic.drone import SEGMENT_PX, segment_frame
from synthetic.survey import draw_survey
from synthetic.truth import PIXEL_AREA_HA

CROPS = ("opium_poppy", "cannabis")


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


def _block_ha(codes: np.ndarray, code: int, frame: pd.DataFrame) -> np.ndarray:
    """Hectares of ``code`` in each frame segment (row, col blocks of SEGMENT_PX)."""
    ny, nx = frame["row"].max() + 1, frame["col"].max() + 1
    block = (codes[: ny * SEGMENT_PX, : nx * SEGMENT_PX] == code).astype("float64")
    sums = block.reshape(ny, SEGMENT_PX, nx, SEGMENT_PX).sum(axis=(1, 3)) * PIXEL_AREA_HA
    return sums[frame["row"].to_numpy(), frame["col"].to_numpy()]


VARIANCES = {"default": {}, "design": {"expansion": "design", "difference": "design"},
             "map_ratio": {"expansion": "map_ratio", "difference": "map_ratio"},
             "larger": {"expansion": "larger", "difference": "larger"}}  # fmt: skip
"""``--variance`` choices: per estimator, the ``variance=`` passed (default: the estimator's)."""


def segment_rows(seed: int, reps: int, variance: str = "default") -> pd.DataFrame:
    """Expansion and difference estimates over ``reps`` segment samples per year."""
    truth = generate_truth(seed)
    frame = pd.DataFrame(segment_frame(truth).drop(columns="geometry"))
    frame["segment_ha"] = SEGMENT_PX**2 * PIXEL_AREA_HA
    sizes = frame["stratum"].value_counts().to_dict()
    records = []
    for year in truth.years:
        mapped = simulate_class_map(truth, year, np.random.default_rng([seed, year, 7]))
        for crop in CROPS:
            frame[f"{crop}_ha"] = _block_ha(truth.landcover[year], code_of(crop), frame)
            frame[f"{crop}_map_ha"] = _block_ha(mapped, code_of(crop), frame)
        rng = np.random.default_rng([seed, year, 8])
        for rep in range(reps):
            picks = np.concatenate([
                rng.choice(np.flatnonzero(frame["stratum"] == stratum), n, replace=False)
                for stratum, n in (("high", 14), ("low", 10))
            ])  # fmt: skip
            sample = frame.iloc[np.sort(picks)]
            for crop in CROPS:
                for estimator in ("expansion", "difference"):
                    est = segment_estimate(sample, sizes, crop, estimator=estimator, seed=rep,
                                           frame=frame, n_boot=1000,
                                           variance=VARIANCES[variance].get(estimator))  # fmt: skip
                    records.append({"seed": seed, "year": year, "crop": crop,
                                    "estimator": estimator, "true_ha": frame[f"{crop}_ha"].sum(),
                                    "estimate_ha": est.total_ha, "low_ha": est.ci_low_ha,
                                    "high_ha": est.ci_high_ha, "se_ha": est.se_ha,
                                    "variance": est.variance})  # fmt: skip
    return pd.DataFrame(records)


def summarize_segments(rows: pd.DataFrame) -> pd.DataFrame:
    """Coverage, [0, 0] count, mean SE / SD of the estimates over repeated samples."""
    rows = rows.assign(
        covered=(rows.low_ha <= rows.true_ha) & (rows.true_ha <= rows.high_ha),
        zero_zero=(rows.low_ha == 0) & (rows.high_ha == 0),
        estimable=np.isfinite(rows.high_ha),
    )
    out = []
    for (crop, estimator, variance), group in rows.groupby(["crop", "estimator", "variance"]):
        sd = group.groupby(["seed", "year"]).estimate_ha.std(ddof=1)
        se = group[group.estimable].groupby(["seed", "year"]).se_ha.mean()
        half_width = (group.high_ha - group.low_ha) / 2 / group.true_ha
        out.append({"crop": crop, "estimator": estimator, "variance": variance,
                    "samples": len(group),
                    "coverage": group.covered.mean(), "zero_zero": int(group.zero_zero.sum()),
                    "not_estimable": int((~group.estimable).sum()),
                    "coverage_if_estimable": group.covered[group.estimable].mean(),
                    "median_se_over_sd": float((se / sd).median()),
                    "median_true_sd_ha": float(sd.median()),
                    "median_rel_half_width": float(half_width[group.estimable].median()),
                    "below": float((group.high_ha < group.true_ha).mean()),
                    "min_coverage_seed_year": float(
                        group.groupby(["seed", "year"]).covered.mean().min())})  # fmt: skip
    return pd.DataFrame(out)


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
    parser.add_argument("--reps", type=int, default=30, help="segment samples per seed and year")
    parser.add_argument("--only", choices=("eradication", "segments"), default=None)
    parser.add_argument("--variance", choices=tuple(VARIANCES), default="default",
                        help="segment variance: each estimator's default, or one for both")  # fmt: skip
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if args.only != "segments":
        start = time.perf_counter()
        rows = pd.concat([eradication_rows(s) for s in seeds], ignore_index=True)
        with pd.option_context("display.width", 160, "display.precision", 3):
            print(summarize(rows).to_string(index=False))
        print(f"eradication: {args.seeds} seeds x 2 years x {rows.district_id.nunique()} "
              f"districts in {time.perf_counter() - start:.1f} s")  # fmt: skip
    if args.only != "eradication":
        start = time.perf_counter()
        rows = pd.concat([segment_rows(s, args.reps, args.variance) for s in seeds],
                         ignore_index=True)  # fmt: skip
        with pd.option_context("display.width", 160, "display.precision", 3):
            print(summarize_segments(rows).to_string(index=False))
        print(f"segments: {args.seeds} seeds x 2 years x {args.reps} samples "
              f"in {time.perf_counter() - start:.1f} s")  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
