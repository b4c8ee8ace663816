"""Which small-sample interval holds for the segment estimators: a Monte Carlo over fixed frames.

The frames, truths and simulated class maps are those of ``bench_field_honesty``
(``synthetic.drone.segment_frame``, ``bench_honesty.simulate_class_map``); on each
seed-year frame ``--reps`` stratified samples of 14 high + 10 low segments are
drawn without replacement, and every interval below is computed from the same
samples with plain numpy (no bootstrap union, no unseen-crop floor: the methods
alone), so that they compare on equal terms:

- ``t``: ``Ŷ ± t₂₂ · SE`` with the design variance;
- ``johnson``: Johnson's (1978, JASA 73:536) skewness-corrected t, first-order
  shift ``κ₃ / (6 V)`` with ``κ₃ = Σ N_h³ (1 − f_h)(1 − 2 f_h) k₃ₕ / n_h²``;
- ``hall``: Hall's (1992, JRSS B 54:221) monotone cubic transformation of it;
- ``bootstrap_t``: stratified bootstrap-t (``--boot`` replicates, studentised by
  the replicate's design SE);
- ``map_ratio``: ``Ŷ ± t₂₂ · SE`` with Isaki's (1983) map-ratio variance
  (``geo.estimation.segment_variance``).

Also reported: the residuals' share of ``Σ d²`` held by the 5% largest ``|d|``.
Run ``nice -n 10 .venv/bin/python tests/benchmarks/bench_segment_intervals.py --seeds 7``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from bench_field_honesty import CROPS, _block_ha
from bench_honesty import simulate_class_map
from scipy import stats

from core.legend import code_of
from synthetic import generate_truth
from synthetic.drone import segment_frame

SAMPLE = {"high": 14, "low": 10}


def frames(seeds) -> dict:
    """``{(seed, year): frame}`` with ``<crop>_ha`` (truth) and ``<crop>_map_ha`` per segment."""
    out = {}
    for seed in seeds:
        truth = generate_truth(seed)
        frame = pd.DataFrame(segment_frame(truth).drop(columns="geometry"))
        for year in truth.years:
            mapped = simulate_class_map(truth, year, np.random.default_rng([seed, year, 7]))
            table = frame[["stratum"]].copy()
            for crop in CROPS:
                table[f"{crop}_ha"] = _block_ha(truth.landcover[year], code_of(crop), frame)
                table[f"{crop}_map_ha"] = _block_ha(mapped, code_of(crop), frame)
            out[(seed, year)] = table
    return out


def _hall(total, se, skew, q):
    """Interval from Hall's transformation g(u) = u + a u² + a² u³ / 3 + b, a = γ/3, b = γ/6."""
    a, b = skew / 3, skew / 6

    def inverse(x):
        with np.errstate(all="ignore"):
            u = (np.cbrt(1 + 3 * a * (x - b)) - 1) / a
        return np.where(np.abs(a) < 1e-12, x - b, u)

    return total - inverse(q) * se, total - inverse(-q) * se


def intervals(frame: pd.DataFrame, crop: str, estimator: str, reps: int, boot: int, rng):
    """Return ``{method: (low, high)}`` arrays over ``reps`` samples, the estimates and truth."""
    y, m = frame[f"{crop}_ha"].to_numpy(), frame[f"{crop}_map_ha"].to_numpy()
    values = y - m if estimator == "difference" else y
    total = np.full(reps, m.sum() if estimator == "difference" else 0.0)
    var = np.zeros(reps)
    var_map, k3, drawn = np.zeros(reps), np.zeros(reps), []
    for stratum, n in SAMPLE.items():
        mine = (frame["stratum"] == stratum).to_numpy()
        pop, pop_map, size = values[mine], m[mine], int(mine.sum())
        pick = np.argsort(rng.random((reps, size)), axis=1)[:, :n]
        sample, sample_map = pop[pick], pop_map[pick]
        drawn.append((sample, size, n))
        fpc, mean = 1 - n / size, sample.mean(axis=1)
        s2 = sample.var(axis=1, ddof=1)
        spread_map = sample_map.var(axis=1, ddof=1)
        with np.errstate(all="ignore"):
            ratio = np.where(spread_map > 0, pop_map.var(ddof=1) / spread_map, 1.0)
        third = n / ((n - 1) * (n - 2)) * ((sample - mean[:, None]) ** 3).sum(axis=1)
        total += size * mean
        var += size**2 * fpc * s2 / n
        var_map += size**2 * fpc * s2 * ratio / n
        k3 += size**3 * fpc * (1 - 2 * n / size) * third / n**2
    q = float(stats.t.ppf(0.975, sum(SAMPLE.values()) - len(SAMPLE)))
    se = np.sqrt(var)
    with np.errstate(all="ignore"):
        skew = np.where(var > 0, k3 / var**1.5, 0.0)
    out = {"t": (total - q * se, total + q * se),
           "johnson": (total + skew * se / 6 - q * se, total + skew * se / 6 + q * se),
           "hall": _hall(total, se, skew, q),
           "map_ratio": (total - q * np.sqrt(var_map), total + q * np.sqrt(var_map))}  # fmt: skip
    if boot:
        boot_total, boot_var = np.zeros((reps, boot)), np.zeros((reps, boot))
        for sample, size, n in drawn:
            pick = rng.integers(0, n, size=(reps, boot, n))
            again = np.take_along_axis(sample[:, None, :].repeat(boot, axis=1), pick, axis=2)
            boot_total += size * again.mean(axis=2)
            boot_var += size**2 * (1 - n / size) * again.var(axis=2, ddof=1) / n
        offset = m.sum() if estimator == "difference" else 0.0
        with np.errstate(all="ignore"):
            student = (boot_total + offset - total[:, None]) / np.sqrt(boot_var)
        student = np.where(np.isfinite(student), student, np.sign(student) * 1e9)
        low_q, high_q = np.nanquantile(student, [0.025, 0.975], axis=1)
        out["bootstrap_t"] = (total - high_q * se, total - low_q * se)
    return out, total, y.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=7)
    parser.add_argument("--reps", type=int, default=1000, help="samples per seed and year")
    parser.add_argument("--boot", type=int, default=200, help="bootstrap-t replicates (0: none)")
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(20261202)
    records, tails = [], []
    for key, frame in frames(range(1, args.seeds + 1)).items():
        for crop in CROPS:
            for stratum in SAMPLE:
                mine = (frame["stratum"] == stratum).to_numpy()
                d2 = np.sort((frame[f"{crop}_ha"] - frame[f"{crop}_map_ha"]).to_numpy()[mine] ** 2)
                top = d2[-max(1, int(0.05 * d2.size)) :].sum() / d2.sum()
                tails.append({"crop": crop, "stratum": stratum, "top5_share_of_d2": top})
            for estimator in ("expansion", "difference"):
                found, total, truth = intervals(frame, crop, estimator, args.reps, args.boot, rng)
                sd = total.std(ddof=1)
                for method, (low, high) in found.items():
                    low = np.maximum(low, 0.0)
                    records.append({
                        "crop": crop, "estimator": estimator, "method": method, "seed_year": key,
                        "coverage": np.mean((low <= truth) & (truth <= high)),
                        "below": np.mean(high < truth),
                        "median_rel_half_width": np.median((high - low) / 2) / truth,
                        "true_sd_rel": sd / truth,
                    })  # fmt: skip
    table = pd.DataFrame(records)
    summary = table.groupby(["crop", "estimator", "method"]).agg(
        coverage=("coverage", "mean"), below=("below", "mean"),
        min_seed_year=("coverage", "min"), median_rel_half_width=("median_rel_half_width", "median"),
    )  # fmt: skip
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(summary.to_string())
        print(
            pd.DataFrame(tails).groupby(["crop", "stratum"]).top5_share_of_d2.median().to_string()
        )
    print(
        f"{args.seeds} seeds x 2 years x {args.reps} samples in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
