"""The class map's peak memory does not grow with the area it maps.

``geo.classify.classify`` reads the features block by block, predicts a few blocks at
a time and writes them to tiled files, so mapping 6.25 times the pixels must not
cost 6.25 times the memory. Each size runs in a fresh child process (``ru_maxrss``
is a high-water mark), on a features file opened the way ``flows.stages`` opens it
(512 px blocks, the file's tiles), with GDAL's block cache fixed at 16 MB so that the
figures are admon's arrays, not the cache filling up. The peak up to the COG copy
(admon's reading and prediction) is held flat; GDAL's copy to a COG with overviews,
which grows slowly with the raster's width, gets a looser bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
N_FEATURES = 6
CODES = (1, 2, 3, 4)

CHILD = """
import json, resource, sys
import numpy as np, pandas as pd, rioxarray
from sklearn.ensemble import RandomForestClassifier
from core.legend import name_of
from geo.classify import classify
from geo.model import TrainedClassifier

features = rioxarray.open_rasterio(sys.argv[1], chunks={"x": 512, "y": 512})
features = features.rename({"band": "feature"})
names = tuple(f"f{i}" for i in range(features.sizes["feature"]))
features = features.assign_coords(feature=list(names))
codes = np.array(json.loads(sys.argv[3]))
rng = np.random.default_rng(0)
x = rng.random((4000, len(names)), dtype=np.float32)
y = codes[np.argmax(x[:, : len(codes)], axis=1)]
model = RandomForestClassifier(n_estimators=8, max_depth=8, random_state=0).fit(x, y)
trained = TrainedClassifier(
    model=model, classes=model.classes_, class_names=tuple(name_of(c) for c in model.classes_),
    feature_names=names, confusion=pd.DataFrame(), holdout_accuracy=float("nan"),
    n_train_plots=0, n_holdout_plots=0,
)
import geo.class_maps
copy_as_cog, before_copy = geo.class_maps.copy_as_cog, []

def recording_copy(*args, **kwargs):
    before_copy.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return copy_as_cog(*args, **kwargs)

geo.class_maps.copy_as_cog = recording_copy
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
classify(features, trained, sys.argv[2])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"start_mb": start / 1024, "before_copy_mb": before_copy[0] / 1024,
                  "peak_mb": peak / 1024}))
"""


def _features_file(path: Path, side: int) -> Path:
    """A ``side`` x ``side`` float32 features GeoTIFF in 512 px tiles, written by tiles."""
    profile = {
        "driver": "GTiff",
        "width": side,
        "height": side,
        "count": N_FEATURES,
        "dtype": "float32",
        "crs": "EPSG:32647",
        "transform": from_origin(500_000, 2_300_000, 10, 10),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "nodata": float("nan"),
    }
    rng = np.random.default_rng(side)
    with rasterio.open(path, "w", **profile) as target:
        for _, window in target.block_windows(1):
            shape = (N_FEATURES, window.height, window.width)
            target.write(rng.random(shape, dtype=np.float32), window=window)
    return path


def _classify_peak(tmp_path: Path, side: int) -> dict[str, float]:
    features = _features_file(tmp_path / f"features_{side}.tif", side)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(features), str(tmp_path / f"run_{side}"),
         json.dumps(CODES)],
        cwd=REPO,
        env={**os.environ, "GDAL_CACHEMAX": "16", "PYTHONPATH": str(REPO)},
        # blocks classified at once follow the cores: the bound is for 2, on any machine
        preexec_fn=lambda: os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2]),
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    with rasterio.open(tmp_path / f"run_{side}" / "classes.tif") as classes:
        assert classes.shape == (side, side)
        assert set(np.unique(classes.read(1, out_shape=(64, 64)))) <= set(CODES)
    return json.loads(child.stdout.strip().splitlines()[-1])


def test_class_map_memory_does_not_grow_with_the_area(tmp_path):
    small, large = 1024, 2560  # 4 and 25 full 512 px blocks: 6.25 times the pixels
    peak = {side: _classify_peak(tmp_path, side) for side in (small, large)}
    growth_mb = peak[large]["peak_mb"] - peak[small]["peak_mb"]
    # What the large map would add if anything held it whole: its features (float32) and
    # the forest's float64 probabilities of every pixel, beyond those of the small map.
    whole_mb = (large**2 - small**2) * (N_FEATURES * 4 + len(CODES) * 8) / 2**20
    assert whole_mb > 250
    # Reading and predicting (up to the COG copy): flat. Measured 2026-12-02: +0.6 MB;
    # whole blocks of 1024 px predicted at once (before): +125 MB.
    predicting_mb = peak[large]["before_copy_mb"] - peak[small]["before_copy_mb"]
    assert predicting_mb < 0.1 * whole_mb, (peak, whole_mb)
    # GDAL's COG copy adds memory that grows with the raster's width (overviews and
    # compression threads): +52-57 MB measured, +125 MB before.
    assert growth_mb < 0.3 * whole_mb, (peak, whole_mb)
