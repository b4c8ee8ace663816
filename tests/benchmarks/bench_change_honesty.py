"""Monte Carlo of the change test and the difference in differences with no true change.

Two questions, each over repeated surveys of a fixed truth (cultivation unchanged
between the baseline year and this year):

1. **False-verdict rate of the change test** (target 3-7% at 95%): how often a
   programme × district row says "decrease" or "increase". The rows go through the
   pipeline's own interval code (``models.change.intervals``: reaches, MOVER limits,
   p-values), vectorised over all repetitions; a check at the start runs one repetition
   through ``programme_change`` itself and asserts the same verdicts. Cases:
   a baseline that is a survey estimate *derived* from the baseline run; one *reported*
   with its SE given; one reported without (treated as exact but for rounding: the
   verdict is conditional on that); asymmetric (log-normal) estimates read from their
   limits (MOVER) versus from ``se_ha`` alone.
2. **Regression to the mean**: 12 districts whose true areas differ widely (log SD 0.8)
   or little (0.3), estimates with a 20% or 25% CV in both years, no effect anywhere; programmes placed in the 5 highest *estimated*-baseline districts.
   How often does ``programme_vs_other`` declare them effective (interval below 0)
   with the plain difference of means, and with the baseline-adjusted one that decides
   its ``verdict``?

    nice -n 10 .venv/bin/python tests/benchmarks/bench_change_honesty.py [--reps 4000] [--did-reps 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from models.change import programme_change, programme_vs_other
from models.change.intervals import mover_difference, p_toward_zero, reaches

Z = float(stats.norm.ppf(0.975))


def _rate(low: pd.Series, high: pd.Series) -> float:
    return float(((low > 0) | (high < 0)).mean())


def _interval(current, baseline, *, exact_baseline=False):
    """Change limits for arrays of (area, low, high, se) through the pipeline's code."""
    cur = reaches(*(pd.Series(a) for a in current), Z, Z)
    if exact_baseline:
        base = (pd.Series(np.zeros(len(baseline[0]))),) * 2
    else:
        base = reaches(*(pd.Series(a) for a in baseline), Z, Z)
    change = pd.Series(current[0] - baseline[0])
    low, high = mover_difference(change, cur, base)
    return change, low, high


def _normal(truth, se, rng):
    area = truth + rng.normal(0, se)
    return area, np.maximum(0, area - Z * se), area + Z * se, se


def _lognormal(truth, sigma, rng):
    area = truth * np.exp(rng.normal(-(sigma**2) / 2, sigma, np.shape(truth)))
    se = area * sigma  # the delta-method SE a symmetric reading would use
    return area, area * np.exp(-Z * sigma), area * np.exp(Z * sigma), se


def change_rates(reps: int, rng) -> dict[str, float]:
    truth = rng.lognormal(np.log(60), 0.8, reps)
    se = 0.15 * truth
    out = {}
    now, then = _normal(truth, se, rng), _normal(truth, se, rng)
    out["derived baseline (survey estimate, its SE)"] = _rate(*_interval(now, then)[1:])
    given = _normal(truth, se, rng)
    reported = (given[0], np.nan * se, np.nan * se, se)
    out["reported baseline with its SE given"] = _rate(
        *_interval(_normal(truth, se, rng), reported)[1:]
    )
    rounded = (np.round(then[0]), np.nan * se, np.nan * se, np.full(reps, 1 / np.sqrt(12)))
    out["reported survey baseline, uncertainty not given"] = _rate(*_interval(now, rounded)[1:])
    sigma = 0.6
    now_l, then_l = _lognormal(truth, sigma, rng), _lognormal(truth, sigma, rng)
    out["log-normal estimates, MOVER from the limits"] = _rate(*_interval(now_l, then_l)[1:])
    nan = np.full(reps, np.nan)
    se_only = _interval((now_l[0], nan, nan, now_l[3]), (then_l[0], nan, nan, then_l[3]))
    out["log-normal estimates, se_ha = area x sigma, read as +-z se"] = _rate(*se_only[1:])
    # an se_ha that reflects only the short side (0.77 [0.39, 743.7] -> 0.19), as in the demo
    short = ((now_l[0] - now_l[1]) / Z, (then_l[0] - then_l[1]) / Z)
    se_low = _interval((now_l[0], nan, nan, short[0]), (then_l[0], nan, nan, short[1]))
    out["log-normal estimates, se_ha from the lower limit, read as +-z se"] = _rate(*se_low[1:])
    change, low, high = _interval(now_l, then_l)
    p = p_toward_zero(change, low, high, Z)
    assert ((p < 0.05) == ((low > 0) | (high < 0))).all(), "p-value and interval disagree"
    return out


def check_against_programme_change(rng) -> None:
    """One repetition of the normal case through ``programme_change``: same verdicts."""
    n = 30
    truth = rng.lognormal(np.log(60), 0.8, n)
    ids = [f"D{i:02d}" for i in range(n)]
    now, then = _normal(truth, 0.15 * truth, rng), _normal(truth, 0.15 * truth, rng)

    def table(year, parts):
        area, low, high, se = parts
        return pd.DataFrame(dict(district_id=ids, crop="opium_poppy", year=year, area_ha=area,
                                 ci_low_ha=low, ci_high_ha=high, se_ha=se))  # fmt: skip

    programmes = pd.DataFrame(dict(programme_id=ids, district_ids=[[d] for d in ids],
                                   baseline_year=2024, baseline_opium_poppy_ha=np.nan,
                                   baseline_cannabis_ha=np.nan))  # fmt: skip
    change = programme_change(programmes, pd.concat([table(2024, then), table(2025, now)]))
    got = change[change.crop == "opium_poppy"].set_index("district_id").loc[ids]
    _, low, high = _interval(now, then)
    assert np.allclose(got["change_ci_low_ha"], low) and np.allclose(got["change_ci_high_ha"], high)


def did_rates(
    reps: int, rng, spread: float, cv: float, n_districts: int = 12, n_programme: int = 5
) -> dict[str, float]:
    """Share of runs declaring the top-baseline programmes effective (one-sided, 95%)."""
    raw = adjusted = 0
    ids = [f"D{i:02d}" for i in range(n_districts)]
    for _ in range(reps):
        truth = rng.lognormal(np.log(60), spread, n_districts)
        se = cv * truth
        rows = []
        for year in (2024, 2025):
            area = np.maximum(0, truth + rng.normal(0, se))
            rows.append(pd.DataFrame(dict(district_id=ids, crop="opium_poppy", year=year,
                                          area_ha=area, ci_low_ha=np.maximum(0, area - Z * se),
                                          ci_high_ha=area + Z * se, se_ha=se)))  # fmt: skip
        stored = pd.concat(rows, ignore_index=True)
        first = stored[stored.year == 2024].sort_values("area_ha")
        top = list(first["district_id"].iloc[-n_programme:])
        programmes = pd.DataFrame(
            dict(programme_id=["P"], district_ids=[top], baseline_year=[2024])
        )
        did = programme_vs_other(stored, programmes).set_index("crop").loc["opium_poppy"]
        raw += bool(did["did_ci_high_ha"] < 0)
        adjusted += did["verdict"] == "programme districts fell more"
    return {
        "plain difference of mean changes (Welch)": raw / reps,
        "baseline-adjusted (ANCOVA), the verdict": adjusted / reps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--did-reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    check_against_programme_change(rng)
    rates = change_rates(args.reps, rng)
    print(f"False-verdict rate of the change test, no true change, {args.reps} rows each:")
    for name, rate in rates.items():
        print(f"| {name} | {100 * rate:.1f}% |")
    print(
        f"\nProgrammes in the 5 highest-baseline of 12 districts, no effect, {args.did_reps} runs:"
    )
    for spread, cv in ((0.8, 0.2), (0.3, 0.25)):
        did = did_rates(args.did_reps, rng, spread, cv)
        for name, rate in did.items():
            print(f"| log SD {spread}, CV {cv:.0%} | {name} | {100 * rate:.1f}% |")
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
