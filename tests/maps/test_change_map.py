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


def test_the_legend_names_a_missing_interval_apart_from_a_missing_baseline(tmp_path, monkeypatch):
    import maps.change_map

    table = _table()
    table.loc[table.index[2], ["opium_poppy_change_ci_low_ha", "opium_poppy_change_ci_high_ha"]] = (
        np.nan
    )
    assert district_verdicts(table, "opium_poppy")[2:] == ["no interval", "no baseline"]
    labels = []

    def keep_legend(fig, out_png, *, title):
        labels.extend(t.get_text() for t in fig.axes[0].get_legend().get_texts())
        return out_png

    monkeypatch.setattr(maps.change_map, "save_figure", keep_legend)
    change_verdict_png(table, "opium_poppy", tmp_path / "c.png", year=2025, run_id="r1")
    assert {"increase", "decrease", "no interval", "no baseline"} <= set(labels)
    assert "no detectable change" not in labels


def test_district_names_fit_their_districts_on_the_page_as_saved(monkeypatch, tmp_path):
    """The labels are placed on the layout of the saved page (the legend beside the map
    narrows it), not on an earlier draw's: each name lies within its district, none overlap."""
    import maps.change_map

    pages = []

    def keep_page(fig, out_png, *, title):
        fig.canvas.draw()  # what savefig draws: the constrained layout, legend included
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        pages.append(([(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts], ax))
        return out_png

    monkeypatch.setattr(maps.change_map, "save_figure", keep_page)
    drawn = 0
    for n_cols in range(6, 15):
        districts = make_districts(n_cols, 2)
        table = district_table(districts, make_estimates(districts, 2025))
        table["opium_poppy_change_ha"] = 10.0
        table["opium_poppy_change_ci_low_ha"] = 5.0
        table["opium_poppy_change_ci_high_ha"] = 15.0
        change_verdict_png(table, "opium_poppy", tmp_path / "c.png", year=2025, run_id="r1")
        labels, ax = pages[-1]
        shapes = dict(zip(table["district_name"], table.geometry, strict=True))
        boxes = []
        for name, box in labels:
            if name in shapes:
                minx, miny, maxx, maxy = shapes[name].bounds
                (left, _), (right, _) = ax.transData.transform([(minx, miny), (maxx, maxy)])
                assert left <= box.x0 and box.x1 <= right, (n_cols, name, box, left, right)
                boxes.append(box)
        for i, first in enumerate(boxes):
            assert not any(first.overlaps(other) for other in boxes[i + 1 :]), n_cols
        drawn += len(boxes)
    assert drawn > 0
