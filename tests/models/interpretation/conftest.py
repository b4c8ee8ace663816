"""Labels as the store returns them, and a small interpretation package, for these tests."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from models.store import LABEL_COLUMNS


def make_labels(rows) -> pd.DataFrame:
    """``(sample_id, interpreter, class[, kind[, unsure]])`` tuples as ``Store.get_labels`` gives them."""
    records = []
    for i, row in enumerate(rows):
        sample_id, interpreter, cls, *rest = row
        kind = rest[0] if rest else "interpretation"
        unsure = bool(rest[1]) if len(rest) > 1 else False
        records.append(("r1", sample_id, interpreter, kind, cls, unsure, "test",
                        f"2025-05-01T00:00:{i // 100:02d}.{i % 100:06d}Z"))  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=LABEL_COLUMNS)
    frame["sample_id"] = frame["sample_id"].astype("int64")
    return frame


@pytest.fixture
def labels_of():
    return make_labels


def drawn_sample(n: int = 12) -> gpd.GeoDataFrame:
    """A sample shaped like draw_reference_sample's: two districts, two strata each."""
    ids = np.arange(1, n + 1)
    stratum = np.where(ids % 2 == 0, 4, 1)
    district = np.where(ids <= n // 2, "D01", "D02")
    return gpd.GeoDataFrame(
        {
            "sample_id": ids,
            "district_id": district,
            "map_class": stratum,
            "stratum": stratum,
            "stratum_pixels": np.where(stratum == 4, 9000, 300),
            "stratum_area_ha": np.where(stratum == 4, 90.0, 3.0),
            "stratum_sample_size": n // 4,
            "inclusion_probability": (n // 4) / np.where(stratum == 4, 9000, 300),
        },
        geometry=[Point(380000 + 10 * i, 2329000 + 5 * i) for i in ids],
        crs="EPSG:32647",
    )


@pytest.fixture
def sample():
    return drawn_sample()
