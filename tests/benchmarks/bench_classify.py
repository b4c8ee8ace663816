"""Classification of a run's feature raster against scikit-learn's own ``predict_proba``.

Takes a finished run folder (``features.tif`` and ``model.joblib``, e.g. of ``admon
demo``) and times, alternately, ``--reps`` times each:

- ``classify``: admon's map writer (``geo.classify.classify``), blocks predicted side by
  side on every core, the two COGs written;
- ``predict_proba``: the same model on every valid pixel of the same features, read
  into memory first (not timed), in one call with ``n_jobs`` = every core; nothing
  written. It is the model's own floor on this machine.

It also checks that ``classify`` wrote, bit for bit, the classes and percentages a
one-job ``predict_proba`` gives.

    .venv/bin/python tests/benchmarks/bench_classify.py RUN_DIR [--reps 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    from flows.runtime import configure_environment

    configure_environment(Path(tempfile.mkdtemp(prefix="admon-bench-classify-")))
    import numpy as np
    import rasterio
    import rioxarray

    from core.io import available_cores
    from geo.classify import classify, load_model

    trained = load_model(args.run_dir / "model.joblib")
    features = rioxarray.open_rasterio(args.run_dir / "features.tif", chunks={"x": 1024, "y": 1024})
    names = list(features.attrs.get("long_name") or [])
    features = features.rename({"band": "feature"}).assign_coords(feature=names)
    values = features.values
    pixels = values.reshape(values.shape[0], -1).T
    complete = np.isfinite(pixels).all(axis=1)
    own = copy.copy(trained.model)
    own.n_jobs = available_cores()

    timings: dict[str, list[float]] = {"classify": [], "predict_proba": []}
    out = Path(tempfile.mkdtemp(prefix="admon-bench-classify-out-"))
    for _ in range(args.reps):
        started = time.perf_counter()
        written = classify(features, trained, out)
        timings["classify"].append(time.perf_counter() - started)
        started = time.perf_counter()
        own.predict_proba(pixels[complete])
        timings["predict_proba"].append(time.perf_counter() - started)

    one_job = copy.copy(trained.model)
    one_job.n_jobs = 1
    probability = one_job.predict_proba(pixels[complete])
    with rasterio.open(written.classes) as classes, rasterio.open(written.probability) as percent:
        codes = classes.read(1).ravel()
        stored = percent.read().reshape(len(one_job.classes_), -1)
    same = bool(
        (codes[complete] == one_job.classes_[np.argmax(probability, axis=1)]).all()
        and (stored[:, complete] == np.rint(probability * 100).T.astype(np.uint8)).all()
    )
    medians = {k: statistics.median(v) for k, v in timings.items()}
    print(
        json.dumps(
            {
                "run_dir": str(args.run_dir),
                "mpx": int(complete.size) / 1e6,
                "cores": available_cores(),
                "load": os.getloadavg(),
                "seconds": timings,
                "median_s": medians,
                "classify_over_predict_proba": medians["classify"] / medians["predict_proba"],
                "bit_identical_to_one_job_predict_proba": same,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
