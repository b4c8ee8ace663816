"""The public publication carries no survey plot, team, date or small household cell.

Before: one publication only; every ``map.html`` carried each plot's exact vertices
with ``plot_id``, ``team`` and ``survey_date``, ``overlay_classes.png`` was the full
class map, and one household's answers were published as a share of 1.0.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

import maps
from maps.public import PublicPolicy, suppress_small_cells
from tests.maps.builders import make_run_inputs

SECRET_ID, SECRET_TEAM, SECRET_DATE = "PLOT-SECRET-0417", "Team Lahpai-Secret", "2025-01-29"
SMALL_INCOME, LARGE_INCOME = 4321.987, 1111.5


def plot_coordinates(plots) -> set[tuple[float, float]]:
    """Every plot vertex as a (lon, lat) pair rounded to 5 decimals (about 1 m)."""
    xy = shapely.get_coordinates(plots.to_crs("EPSG:4326").geometry.to_numpy())
    return {(round(x, 5), round(y, 5)) for x, y in xy}


_PAIR = re.compile(r"(-?\d{1,3}\.\d{4,})\s*[, ]\s*(-?\d{1,3}\.\d{4,})")


def every_text(root: Path):
    """(file, text) of every file under ``root``: bytes as Latin-1, plus PNG text chunks."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("latin-1")
        if path.suffix == ".png":
            with Image.open(path) as image:
                text += " ".join(f"{k} {v}" for k, v in image.info.items())
        yield path, text


def leaks(root: Path, plots, secrets: list[str]) -> list[str]:
    """What of the plots (``secrets``, and vertices as lon/lat pairs to 1 m) is in any file
    under ``root``. Single values are not counted: on a pixel grid a district border shares
    latitudes with plots, but not vertices."""
    pairs = plot_coordinates(plots)
    found = []
    for path, text in every_text(root):
        found += [f"{path.name}: {s}" for s in secrets if s in text]
        seen = {(round(float(a), 5), round(float(b), 5)) for a, b in _PAIR.findall(text)}
        found += [f"{path.name}: vertex {v}" for v in sorted(seen & pairs)[:3]]
    return found


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    inputs = make_run_inputs(tmp_path_factory.mktemp("pub") / "workspace")
    plots = inputs.plots.assign(
        plot_id=[SECRET_ID, "p2", "p3", "p4"],
        team=SECRET_TEAM,
        survey_date=pd.Timestamp(SECRET_DATE),
    )
    change = inputs.programme_change.assign(
        feedback_n_households=[2, 9, 12],
        feedback_n_answers=[2, 9, 12],
        feedback_share_growing=[1.0, 0.25, 0.4],
        mean_income_usd=[SMALL_INCOME, LARGE_INCOME, 900.0],
    )
    kwargs = inputs.kwargs() | {"plots": plots, "programme_change": change}
    maps.publish_run(inputs.run_dir, **kwargs)
    maps.build_gallery(inputs.run_dir.parents[2])
    return inputs.run_dir.parents[2] / "published", plots


def test_no_plot_coordinate_id_team_date_or_small_household_cell_is_public(published):
    root, plots = published
    secrets = [SECRET_ID, SECRET_TEAM, SECRET_DATE, f"{SMALL_INCOME}", "4321.98"]
    assert list((root / "public").rglob("map.html")), "the public site has its map"
    assert leaks(root / "public", plots, secrets) == []
    # the search is live: the restricted site, which shows the plots, is caught by it
    assert any(SECRET_ID in s for s in leaks(root / "restricted", plots, secrets))
    assert any("vertex" in s for s in leaks(root / "restricted", plots, secrets))


def test_public_programme_change_keeps_large_household_cells_only(published):
    root, _ = published
    table = pd.read_csv(next((root / "public").rglob("programme_change.csv")))
    assert table["mean_income_usd"].tolist()[1:] == [LARGE_INCOME, 900.0]
    assert np.isnan(table["mean_income_usd"].iloc[0])
    assert np.isnan(table["feedback_n_households"].iloc[0])
    assert "fewer than 5 households" in table["feedback_note"].iloc[0]
    assert table["verdict"].notna().all()  # the satellite-based change itself stays public


def test_no_public_raster_is_finer_than_the_density_cell(published):
    root, _ = published
    site = next((root / "public").rglob("map.html")).parent
    assert not list(site.glob("overlay_classes.png")) and not list(site.glob("map_classes.png"))
    assert not list(site.glob("overlay_ndvi.png")) and not list(site.glob("map_ndvi.png"))
    with Image.open(site / "overlay_density.png") as image:
        width, height = image.size
    # the 6 km x 4 km test region on 1 km cells: 6 x 4 cells (7 x 5 after the warp at most)
    assert width <= 7 and height <= 5
    assert "Cultivation density" in (site / "map.html").read_text()


def test_the_policy_chooses_what_the_public_site_shows(tmp_path):
    inputs = make_run_inputs(tmp_path / "workspace")
    policy = PublicPolicy(show=("estimates",), min_households=10, density_cell_km2=2.0)
    out = maps.publish_run(inputs.run_dir, **inputs.kwargs(), public=policy)
    names = sorted(p.name for p in (inputs.run_dir / "public").iterdir() if p.is_file())
    assert "report.html" not in names and "programme_change.csv" not in names
    assert "overlay_density.png" not in names and not any(n.startswith("chart_") for n in names)
    assert "district_estimates.csv" in names and out["public"]["map"].is_file()
    with pytest.raises(ValueError, match="publish.public"):
        PublicPolicy(show=("plots",))


def test_suppression_counts_answers_as_well_as_households():
    table = pd.DataFrame(
        {"feedback_n_households": [30, 30], "feedback_n_answers": [3, 30], "share_x": [0.5, 0.5]}
    )
    public = suppress_small_cells(table, 5)
    assert np.isnan(public["share_x"].iloc[0]) and public["share_x"].iloc[1] == 0.5
