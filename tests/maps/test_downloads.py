"""Published tables are safe to open in a spreadsheet (no cell runs as a formula).

District and programme names come from the operator's files; a name such as
``=HYPERLINK(...)`` would run as a formula in Excel or LibreOffice when a
downloaded CSV is opened. OWASP's rule: a text cell starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return is written with a leading ``'``.
"""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from maps.downloads import write_downloads, write_published_table

NAMES = ["=HYPERLINK(\"http://x.example/\",\"open\")", "@SUM(A1:A9)", "+cmd|' /C calc'!A0",
         "-2+3", "\tTab", "Badakhshan", "Nangarhar-East"]  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cells(path, column):
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def _estimates():
    return pd.DataFrame(
        {
            "district_id": [f"D{i}" for i in range(len(NAMES))],
            "district_name": NAMES,
            "crop": "opium_poppy",
            "area_ha": [10.25] * len(NAMES),
            "delta_ha": [-1.5] * len(NAMES),
        }
    )


def test_a_published_table_never_starts_a_text_cell_with_a_formula(tmp_path):
    path = write_published_table(
        _estimates(), tmp_path / "region.csv", run_id="2025-x", synthetic=False
    )
    cells = _cells(path, "district_name")
    expected = ["'" + n if n.startswith(FORMULA_START) else n for n in NAMES]
    assert cells == expected
    assert _cells(path, "delta_ha") == ["-1.5"] * len(NAMES)  # numbers stay numbers


def test_downloaded_estimates_csv_is_spreadsheet_safe_and_geojson_keeps_the_names(tmp_path):
    districts = gpd.GeoDataFrame(
        {"district_id": [f"D{i}" for i in range(len(NAMES))]},
        geometry=[box(i, 0, i + 1, 1) for i in range(len(NAMES))],
        crs="EPSG:32642",
    )
    label = {"run_id": "2025-x", "synthetic": True, "survey_name": "=1+1"}
    paths = write_downloads(tmp_path, districts, _estimates(), overwrite=True, label=label)
    assert not any(c.startswith(FORMULA_START) for c in _cells(paths["csv"], "district_name"))
    assert set(_cells(paths["csv"], "survey")) == {"'=1+1"}
    features = json.loads(paths["geojson"].read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["district_name"] for f in features] == NAMES
