"""Segment rows of a run: the difference estimate on the run's class map, by hand, with the frame."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from core.legend import code_of
from flows.stages import _segment_rows

POPPY, OTHER = code_of("opium_poppy"), code_of("other_crops")
ORIGIN_X, ORIGIN_Y = 500_000.0, 4_000_000.0  # 10 m pixels, 10 x 10 pixels = 1 ha segments


def _class_map(path):
    rng = np.random.default_rng(3)
    codes = np.where(rng.random((40, 40)) < 0.3, POPPY, OTHER).astype("uint8")
    profile = {"driver": "GTiff", "height": 40, "width": 40, "count": 1, "dtype": "uint8",
               "crs": "EPSG:32642", "transform": from_origin(ORIGIN_X, ORIGIN_Y, 10, 10),
               "nodata": 0}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(codes, 1)
    return codes


def _frame():
    cells = [(r, c) for r in range(4) for c in range(4)]
    return gpd.GeoDataFrame({
        "segment_id": [f"SEG-{k:02d}" for k in range(16)],
        "stratum": ["high" if r < 2 else "low" for r, _ in cells],
        "row": [r for r, _ in cells], "col": [c for _, c in cells],
    }, geometry=[box(ORIGIN_X + 100 * c, ORIGIN_Y - 100 * (r + 1), ORIGIN_X + 100 * (c + 1),
                     ORIGIN_Y - 100 * r) for r, c in cells], crs="EPSG:32642")  # fmt: skip


def test_segment_rows_difference_by_hand_and_frame_variance(tmp_path):
    codes = _class_map(tmp_path / "classes.tif")
    frame = _frame()
    frame.to_file(tmp_path / "frame.gpkg", layer="frame", driver="GPKG")
    mapped = np.array([(codes[10 * r : 10 * r + 10, 10 * c : 10 * c + 10] == POPPY).sum() * 0.01
                       for r, c in zip(frame.row, frame.col, strict=True)])  # fmt: skip
    picks = [0, 2, 5, 7, 9, 12, 14]  # 4 high, 3 low
    segments = frame.iloc[picks].copy()
    segments["opium_poppy_ha"] = mapped[picks] + [0.05, 0.0, 0.12, -0.02, 0.0, 0.08, 0.03]
    segments["cannabis_ha"] = 0.0
    map_area = pd.DataFrame({"class": [POPPY, OTHER],
                             "area_ha": [mapped.sum(), 16 - mapped.sum()]})  # fmt: skip
    sizes = {"high": 8, "low": 8}
    context = SimpleNamespace(year=2025, estimation=SimpleNamespace(confidence=0.95),
                              segment_frame_sizes=sizes,
                              segment_frame=str(tmp_path / "frame.gpkg"))  # fmt: skip
    rows = pd.DataFrame(_segment_rows(context, segments, map_area, tmp_path))
    poppy = rows[rows.crop == "opium_poppy"].set_index("method")
    d = segments["opium_poppy_ha"].to_numpy() - mapped[picks]
    high, low = d[:4], d[4:]
    assert poppy.loc["segment_difference", "area_ha"] == pytest.approx(
        mapped.sum() + 8 * high.mean() + 8 * low.mean()
    )
    # the frame is given: the larger of the design and Isaki's map-ratio variance
    frame_var = [mapped[:8].var(ddof=1), mapped[8:].var(ddof=1)]
    sample_var = [mapped[picks][:4].var(ddof=1), mapped[picks][4:].var(ddof=1)]
    spread = [max(r.var(ddof=1), r.var(ddof=1) * f / s)
              for r, f, s in zip((high, low), frame_var, sample_var, strict=True)]  # fmt: skip
    var = 8**2 * (1 - 4 / 8) * spread[0] / 4 + 8**2 * (1 - 3 / 8) * spread[1] / 3
    assert poppy.loc["segment_difference", "se_ha"] == pytest.approx(np.sqrt(var))
    assert set(poppy["variance"]) == {"larger"}
    assert bool(poppy.loc["segment_difference", "recommended"])
    assert not bool(poppy.loc["segment_expansion", "recommended"])
    # no frame configured: the design variance
    bare = SimpleNamespace(**{**vars(context), "segment_frame": None})
    rows = pd.DataFrame(_segment_rows(bare, segments, map_area, tmp_path))
    assert set(rows["variance"]) == {"design"}
    # and then the expansion row is the one to read (the difference one covered ~86%)
    bare_poppy = rows[rows.crop == "opium_poppy"].set_index("method")
    assert bool(bare_poppy.loc["segment_expansion", "recommended"])
    assert not bool(bare_poppy.loc["segment_difference", "recommended"])
