"""``admon plan``: the n_per_stratum table for the next year, checked against a hand Neyman."""

from __future__ import annotations

import math
import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point
from typer.testing import CliRunner

from flows.cli import app
from flows.config import EstimationConfig

runner = CliRunner()
Z = 1.959964


def write_run(folder):
    map_area = pd.DataFrame({"district_id": ["D01", "D01", "D02", "D02"], "class": [1, 4, 1, 4],
                             "area_ha": [100.0, 900.0, 50.0, 1950.0]})  # fmt: skip
    map_area.to_csv(folder / "map_area.csv", index=False)
    # pooled: poppy stratum 15 of 20 poppy (0.75), forest 2 of 40 poppy (0.05)
    rows = ([("D01", 1, "opium_poppy")] * 8 + [("D01", 1, "forest")] * 2
            + [("D02", 1, "opium_poppy")] * 7 + [("D02", 1, "forest")] * 3
            + [("D01", 4, "opium_poppy")] * 1 + [("D01", 4, "forest")] * 19
            + [("D02", 4, "opium_poppy")] * 1 + [("D02", 4, "forest")] * 19)  # fmt: skip
    sample = gpd.GeoDataFrame(
        {"sample_id": range(1, len(rows) + 1), "district_id": [r[0] for r in rows],
         "map_class": [r[1] for r in rows], "stratum": [r[1] for r in rows],
         "reference_class": [r[2] for r in rows]},
        geometry=[Point(500_000 + k, 2_000_000) for k in range(len(rows))], crs="EPSG:32647",
    )  # fmt: skip
    sample.to_file(folder / "reference_sample.gpkg", layer="reference_sample")


def hand_points(areas, p, relative):
    weights = [a * math.sqrt(q * (1 - q)) for a, q in zip(areas, p, strict=True)]
    d = relative * sum(a * q for a, q in zip(areas, p, strict=True))
    n = sum(weights) ** 2 / (d / Z) ** 2
    return [max(2, math.ceil(n * w / sum(weights) - 1e-9)) for w in weights]


def test_plan_from_a_run_writes_a_config_table(tmp_path):
    write_run(tmp_path)
    result = runner.invoke(app, ["plan", str(tmp_path), "--district-half-width", "0.2",
                                 "--region-half-width", "0.5"])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = tomllib.loads((tmp_path / "sample_plan.toml").read_text())["estimation"]
    allocation = table["n_per_stratum"]
    EstimationConfig(n_per_stratum=allocation)  # the config accepts it as it is
    # anticipated p: the Wilson centre (k + z²/2) / (n + z²) of the pooled counts
    p = [(15 + Z * Z / 2) / (20 + Z * Z), (2 + Z * Z / 2) / (40 + Z * Z)]
    d01 = hand_points([100, 900], p, 0.2)
    d02 = hand_points([50, 1950], p, 0.2)
    assert allocation == {"opium_poppy": max(d01[0], d02[0]), "forest": max(d01[1], d02[1])}
    points = pd.read_csv(tmp_path / "sample_plan.csv").set_index(["district_id", "stratum"])
    assert points.loc[("D02", "forest"), "n_points"] == d02[1]
    expected = pd.read_csv(tmp_path / "sample_plan_expected.csv")
    poppy = expected[(expected.crop == "opium_poppy") & (expected.district_id != "ALL")]
    assert (poppy.expected_half_width <= 0.2 + 1e-9).all()
    assert "n_per_stratum" in result.output


def test_plan_for_a_first_year_from_users_accuracy(tmp_path):
    write_run(tmp_path)
    result = runner.invoke(app, ["plan", "--map-area", str(tmp_path / "map_area.csv"),
                                 "--users-accuracy", "opium_poppy=0.7",
                                 "--users-accuracy", "forest=0.97", "--out", str(tmp_path / "p"),
                                 "--district-half-width", "0.3", "--region-half-width", "0.9"])  # fmt: skip
    assert result.exit_code == 0, result.output
    allocation = tomllib.loads((tmp_path / "p" / "sample_plan.toml").read_text())
    d01 = hand_points([100, 900], [0.7, 0.03], 0.3)
    d02 = hand_points([50, 1950], [0.7, 0.03], 0.3)
    assert allocation["estimation"]["n_per_stratum"]["forest"] == max(d01[1], d02[1])
    bad = runner.invoke(app, ["plan", "--map-area", str(tmp_path / "map_area.csv"),
                              "--users-accuracy", "forest:0.9"])  # fmt: skip
    assert bad.exit_code == 2 and "STRATUM=VALUE" in bad.output
    assert np.isfinite(d01[0])
