"""The change map: fill from the verdict of the 95 % interval, circle area from the size."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from maps.change_map import VERDICT_COLOURS, change_verdict_png, district_verdicts
from maps.layers import district_table
from tests.maps.builders import make_districts, make_estimates


def _table():
    districts = make_districts(2, 2)
    table = district_table(districts, make_estimates(districts, 2025))
    # a significant rise, a significant fall, a large but uncertain change, no baseline
    table["opium_poppy_change_ha"] = [120.0, -60.0, 80.0, np.nan]
    table["opium_poppy_change_ci_low_ha"] = [40.0, -90.0, -30.0, np.nan]
    table["opium_poppy_change_ci_high_ha"] = [200.0, -30.0, 190.0, np.nan]
    return table


def test_verdicts_come_from_the_interval_not_the_estimate():
    assert district_verdicts(_table(), "opium_poppy") == [
        "increase",
        "decrease",
        "no detectable change",
        "no baseline",
    ]


def _share(pixels: np.ndarray, colour: str) -> float:
    rgb = np.array([round(255 * c) for c in to_rgb(colour)])
    return float((np.abs(pixels[..., :3].astype(int) - rgb).max(axis=-1) <= 2).mean())


def test_change_map_fills_by_verdict_and_draws_size_circles(tmp_path):
    png = change_verdict_png(_table(), "opium_poppy", tmp_path / "c.png", year=2025, run_id="r1")
    with Image.open(png) as image:
        assert "change since baseline" in image.text["Title"]
        pixels = np.asarray(image.convert("RGB"))
    for verdict in ("increase", "decrease", "no detectable change"):
        assert _share(pixels, VERDICT_COLOURS[verdict]) > 0.01, verdict
    # the circles: the near-black outline colour is drawn (district edges are grey #4d4d4d)
    assert _share(pixels, "#252525") > 0.0005
