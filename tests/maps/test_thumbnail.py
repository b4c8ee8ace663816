"""The gallery thumbnail says what it shows: crop caption on top, class legend below."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from maps.layers import METRICS, colour_scale, district_table
from maps.static import thumbnail_png
from tests.maps.builders import make_districts, make_estimates


def _present(region: np.ndarray, colour: str) -> bool:
    rgb = np.array([round(255 * c) for c in to_rgb(colour)])
    return bool((np.abs(region.astype(int) - rgb).max(axis=-1) <= 2).any())


def test_thumbnail_has_caption_and_every_class_colour_in_its_legend(tmp_path):
    districts = make_districts(3, 2)
    table = district_table(districts, make_estimates(districts, 2025))
    scale = colour_scale(table["opium_poppy_area_ha"], METRICS[0])
    args = (table, "opium_poppy_area_ha", scale)
    plain = thumbnail_png(*args, tmp_path / "a.png", title="2025 r1", synthetic=False)
    png = thumbnail_png(
        *args, tmp_path / "b.png", title="2025 r1", synthetic=False, caption="Opium poppy 2025"
    )
    with Image.open(png) as image, Image.open(plain) as bare:
        assert image.size == (320, 240)
        pixels = np.asarray(image.convert("RGB"))
        top_dark = (np.asarray(image.convert("L"))[:25] < 80).sum()
        bare_dark = (np.asarray(bare.convert("L"))[:25] < 80).sum()
    assert top_dark > 50 and bare_dark == 0  # the caption is drawn, and only when given
    legend = pixels[-30:, :160]  # bottom-left strip, below the map
    assert all(_present(legend, c) for c in scale.colours)
