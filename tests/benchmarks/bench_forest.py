"""How many trees the random forest needs, and how many pixels each: map accuracy against
the truth, training and prediction time.

For each finished run of a demo region (``RUN_DIR`` holds ``features.tif``; the region
holds the year's survey plots and true land cover), the classifier is trained the way
``geo.classify.train_classifier`` trains it (its own estimator, same plots, split and
seed, every core for the fit) with each forest size and cap on the pixels each tree
grows on (``--max-samples``, 0 = every training pixel, ``geo.classify.FOREST_MAX_SAMPLES``
the default cap), and predicts the same million pixels, drawn at random from the whole
map, with two threads. The table gives the training and prediction seconds, the trees'
median depth and leaves, the overall accuracy of those pixels against the true land
cover, the poppy and cannabis F1, and the held-out accuracy the run would report.

    .venv/bin/python tests/benchmarks/bench_forest.py REGION:YEAR:RUN_DIR [...] [--trees 100 50 40] [--max-samples 0 15000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import joblib
import numpy as np
import rasterio
import rioxarray
from sklearn.metrics import f1_score

import geo.classify as classify
from core.legend import code_of

SAMPLE_PX = 1_000_000


def load(region: Path, year: int, run_dir: Path) -> dict:
    """A run's features, its million scored pixels and their true classes, and the plots."""
    path = run_dir / "features.tif"
    with rasterio.open(path) as src:
        names = list(src.descriptions)
    features = rioxarray.open_rasterio(path).rename({"band": "feature"})
    features = features.assign_coords(feature=names)
    pixels = features.values.reshape(len(names), -1).T
    with rasterio.open(region / "truth" / f"landcover_{year}.tif") as src:
        truth = src.read(1).ravel()
    complete = np.flatnonzero(np.isfinite(pixels).all(axis=1))
    rng = np.random.default_rng(0)
    chosen = rng.choice(complete, min(SAMPLE_PX, len(complete)), replace=False)
    return {
        "features": features,
        "pixels": pixels[chosen].astype(np.float32),
        "reference": truth[chosen],
        "plots": gpd.read_file(region / "plots" / str(year) / "survey_plots.geojson"),
    }


def measure(run: dict, trees: int, max_samples: int) -> dict:
    """One forest on one loaded run: seconds, tree sizes, accuracy against the truth, F1."""

    # geo.classify's own estimator with this forest's size and cap (0: no cap)
    sizes = {"FOREST_TREES": trees, "FOREST_MAX_SAMPLES": max_samples or sys.maxsize}
    kept = {name: getattr(classify, name) for name in sizes}
    for name, value in sizes.items():
        setattr(classify, name, value)
    try:
        started = time.monotonic()
        trained = classify.train_classifier(run["features"], run["plots"], seed=0)
        fit_s = time.monotonic() - started
    finally:
        for name, value in kept.items():
            setattr(classify, name, value)
    trained.model.n_jobs = 2
    started = time.monotonic()
    with joblib.parallel_config(backend="threading"):
        predicted = trained.model.predict(run["pixels"])
    predict_s = time.monotonic() - started
    reference = run["reference"]
    f1 = {
        crop: float(f1_score(reference == code_of(crop), predicted == code_of(crop)))
        for crop in ("opium_poppy", "cannabis")
    }
    estimators = trained.model.estimators_
    return {
        "trees": trees,
        "pixels_per_tree": f"{trained.model.max_samples:,}" if trained.model.max_samples else "all",
        "n_train": trained.params["n_train_pixels"],
        "depth": float(np.median([tree.tree_.max_depth for tree in estimators])),
        "leaves": float(np.median([tree.tree_.n_leaves for tree in estimators])),
        "fit_s": fit_s,
        "predict_mpx_s": predict_s * 1e6 / len(reference),
        "map_accuracy": float((predicted == reference).mean()),
        "f1_poppy": f1["opium_poppy"],
        "f1_cannabis": f1["cannabis"],
        "holdout_accuracy": trained.holdout_accuracy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", help="REGION:YEAR:RUN_DIR")
    parser.add_argument("--trees", type=int, nargs="+", default=[classify.FOREST_TREES])
    parser.add_argument("--max-samples", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(
        "| run | training px | trees | px per tree | fit (s) | depth | leaves "
        "| predict (s per Mpx, 2 threads) | map accuracy vs truth | poppy F1 | cannabis F1 "
        "| held-out accuracy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        region, year, run_dir = run.split(":")
        loaded = load(Path(region), int(year), Path(run_dir))
        for trees in args.trees:
            for max_samples in args.max_samples:
                r = measure(loaded, trees, max_samples)
                print(
                    f"| {Path(region).name} {year} | {r['n_train']:,} | {trees} | "
                    f"{r['pixels_per_tree']} | {r['fit_s']:.2f} | {r['depth']:.0f} | "
                    f"{r['leaves']:.0f} | {r['predict_mpx_s']:.2f} | {r['map_accuracy']:.4f} | "
                    f"{r['f1_poppy']:.4f} | {r['f1_cannabis']:.4f} | {r['holdout_accuracy']:.4f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
