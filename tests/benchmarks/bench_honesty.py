"""Honesty check of the area estimates: do 95% intervals hold the true areas ~95% of the time?

For each seed the demo generator draws a known truth (``synthetic.generate_truth``);
a class map is made from it with realistic, spatially structured errors; the
pipeline's own functions then measure mapped area, draw the stratified reference
sample, label it from the truth (as ``interpret_reference`` does) and estimate
per district and for the region. We count how often the 95% interval contains the
true area, the mean relative bias of the estimates, and the bias of the bare
pixel count for contrast.

Map error model (per year, seeded):

- field edges: a pixel on a class boundary takes a random 4-neighbour's class
  with probability 0.35 (mixed pixels; commission and omission at edges);
- whole fields: 6% of poppy fields mapped as other crops, 4% as fallow; 50% of
  eradicated poppy fields as fallow (slashed before the last images); 4% of
  other-crop fields and 10% of cannabis fields mapped as poppy; 3% of poppy
  fields as cannabis;
- speckle: 0.5% of pixels take a random class.

Run ``python tests/benchmarks/bench_honesty.py --seeds 100`` (about 1.5 s per
seed on 2 cores at the default size); ``make bench`` runs the same through
``test_bench_honesty.py``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from core.legend import CROPS_OF_INTEREST, code_of, name_of
from geo.estimation import (
    RECOMMENDED_ALLOCATION,
    RECOMMENDED_BUFFER_PX,
    district_estimates,
    draw_reference_sample,
    region_estimate,
    zonal_class_area,
)
from synthetic import generate_truth

BUFFER_PX = RECOMMENDED_BUFFER_PX

PLAIN_ALLOCATION = {1: 20, 2: 15, 3: 20, 4: 45, 5: 23, 6: 2}
"""The same 125 points per district over map classes only (for ``--plain``)."""


@dataclass(frozen=True)
class HonestyRun:
    """Results of one honesty run."""

    rows: pd.DataFrame
    """One row per seed, district (or ALL) and crop: truth, estimate, interval, pixel count."""
    seconds: float
    """Wall time of the run."""


def simulate_class_map(truth, year: int, rng: np.random.Generator) -> np.ndarray:
    """Return a class map of ``truth`` for ``year`` with the module's error model."""
    true_cover = truth.landcover[year]
    mapped = true_cover.copy()
    fields = truth.fields[year].reset_index(drop=True)
    field_of = truth.field_raster[year]
    poppy, cannabis = code_of("opium_poppy"), code_of("cannabis")
    other, fallow = code_of("other_crops"), code_of("fallow_bare")
    draw = rng.random(len(fields))
    eradicated = fields["eradicated"].fillna(False).astype(bool).to_numpy()
    is_poppy = (fields["land_cover"] == "opium_poppy").to_numpy()
    new_class = np.zeros(len(fields), dtype="uint8")
    new_class[is_poppy & ~eradicated & (draw < 0.06)] = other
    new_class[is_poppy & ~eradicated & (draw >= 0.06) & (draw < 0.10)] = fallow
    new_class[is_poppy & ~eradicated & (draw >= 0.10) & (draw < 0.13)] = cannabis
    new_class[is_poppy & eradicated & (draw < 0.5)] = fallow
    new_class[(fields["land_cover"] == "other_crops").to_numpy() & (draw < 0.04)] = poppy
    new_class[(fields["land_cover"] == "cannabis").to_numpy() & (draw < 0.10)] = poppy
    lookup = np.concatenate([[0], new_class])
    changed = lookup[field_of] > 0
    mapped[changed] = lookup[field_of][changed]

    padded = np.pad(mapped, 1, mode="edge")
    neighbours = np.stack(
        [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]
    )
    boundary = (neighbours != mapped).any(axis=0)
    pick = rng.integers(0, 4, size=mapped.shape)
    take = boundary & (rng.random(mapped.shape) < 0.35)
    mapped = np.where(take, np.take_along_axis(neighbours, pick[None], axis=0)[0], mapped)

    speckle = rng.random(mapped.shape) < 0.005
    mapped[speckle] = rng.integers(1, 7, size=int(speckle.sum()))
    return np.where(true_cover == 0, 0, mapped).astype("uint8")


def _as_dataarray(codes: np.ndarray, truth) -> xr.DataArray:
    t = truth.transform
    height, width = codes.shape
    data = xr.DataArray(
        codes, dims=("y", "x"),
        coords={"y": t.f + t.e * (np.arange(height) + 0.5), "x": t.c + t.a * (np.arange(width) + 0.5)},
    )  # fmt: skip
    return data.rio.write_crs(truth.crs).rio.write_transform(t).rio.write_nodata(0)


def run_seed(
    seed: int,
    *,
    size=(600, 450),
    n_districts=12,
    allocation=None,
    buffer_px=BUFFER_PX,
    variance_floor=True,
) -> pd.DataFrame:
    """Run the whole estimate for one seed and year; return truth vs estimate rows."""
    truth = generate_truth(seed, size=size, n_districts=n_districts, years=(2024, 2025))
    year = truth.years[-1]
    rng = np.random.default_rng(10_000 + seed)
    codes = simulate_class_map(truth, year, rng)
    class_map = _as_dataarray(codes, truth)
    zones = truth.districts
    map_area = zonal_class_area(class_map, zones, "district_id")
    sample = draw_reference_sample(
        class_map,
        zones,
        "district_id",
        n_per_stratum=allocation or RECOMMENDED_ALLOCATION,
        seed=seed,
        buffer_px=buffer_px,
    )
    t = truth.transform
    cols = ((sample.geometry.x.to_numpy() - t.c) / t.a).astype(int)
    rows = ((sample.geometry.y.to_numpy() - t.f) / t.e).astype(int)
    sample["reference_class"] = [name_of(c) for c in truth.landcover[year][rows, cols]]
    table = pd.concat([
        district_estimates(map_area, sample, zones, year=year,
                           regional_variance_floor=variance_floor),
        region_estimate(map_area, sample, zones, year=year, regional_variance_floor=variance_floor),
    ], ignore_index=True)  # fmt: skip
    true = truth.district_truth[truth.district_truth["year"] == year]
    true = true.pivot(index="district_id", columns="class", values="area_ha")
    true.loc["ALL"] = true.sum()
    table["true_ha"] = [
        true.loc[d, c] for d, c in zip(table["district_id"], table["crop"], strict=True)
    ]
    table["seed"] = seed
    table["n_sample"] = len(sample)
    return table


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the intervals and mean relative bias, per level and crop."""
    rows = rows.assign(level=np.where(rows["district_id"] == "ALL", "region", "district"))
    rows = rows[rows["true_ha"] > 0]
    out = []
    for (level, crop), group in rows.groupby(["level", "crop"]):
        inside = (group["ci_low_ha"] <= group["true_ha"]) & (
            group["true_ha"] <= group["ci_high_ha"]
        )
        out.append({
            "level": level, "crop": crop, "intervals": len(group),
            "coverage": inside.mean(),
            "mean_rel_bias_estimate": ((group["area_ha"] - group["true_ha"]) / group["true_ha"]).mean(),
            "mean_rel_bias_pixel_count": ((group["map_area_ha"] - group["true_ha"]) / group["true_ha"]).mean(),
            "median_rel_ci_half_width": ((group["ci_high_ha"] - group["ci_low_ha"]) / 2 / group["true_ha"]).median(),
            "share_fallback": (group["method"] != "stratified").mean(),
        })  # fmt: skip
    return pd.DataFrame(out)


def markdown_table(table: pd.DataFrame) -> str:
    """Format a summary as a Markdown table (3 decimals)."""
    cells = [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in table.to_numpy()
    ]
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def run(seeds, **options) -> HonestyRun:
    """Run ``run_seed`` over ``seeds``; return all rows and the wall time."""
    start = time.perf_counter()
    rows = pd.concat([run_seed(s, **options) for s in seeds], ignore_index=True)
    return HonestyRun(rows, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--size", type=int, nargs=2, default=(600, 450))
    parser.add_argument("--districts", type=int, default=12)
    parser.add_argument("--plain", action="store_true",
                        help="plain Olofsson: no buffer strata, no regional variance floor")  # fmt: skip
    args = parser.parse_args()
    options = {"size": tuple(args.size), "n_districts": args.districts}
    if args.plain:
        options |= {"buffer_px": 0, "variance_floor": False, "allocation": PLAIN_ALLOCATION}
    result = run(range(args.first_seed, args.first_seed + args.seeds), **options)
    summary = summarize(result.rows)
    n_points = result.rows.groupby("seed")["n_sample"].first().mean()
    print(f"{'plain Olofsson, ' if args.plain else ''}seeds {args.seeds}, size {args.size}, "
          f"districts {args.districts}, "
          f"mean reference points {n_points:.0f}, {result.seconds:.0f} s")  # fmt: skip
    print(markdown_table(summary))


if __name__ == "__main__":
    main()

__all__ = [
    "RECOMMENDED_ALLOCATION",
    "simulate_class_map",
    "run_seed",
    "summarize",
    "run",
    "CROPS_OF_INTEREST",
]
