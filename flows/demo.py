"""The built-in demo: a synthetic region whose true cultivation is known, run end to end.

``admon demo`` builds the region (once), writes a run configuration for it,
runs the annual survey for both demo years, and compares every published
district estimate with the generator's truth, so the numbers can be checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.io import atomic_write_text

__all__ = ["prepare_demo", "demo_config_text", "compare_with_truth", "TruthComparison"]

DEMO_SEED = 42


DEMO_ALLOCATION = (
    "{ opium_poppy = 40, cannabis = 30, other_crops = 30, forest = 70, fallow_bare = 40, water = 4, "
    "other_crops_near_crops = 12, forest_near_crops = 12, fallow_bare_near_crops = 8, water_near_crops = 4 }"
)
"""Twice the default allocation (250 points a district): the demo's districts are small, and
programme effects of -40 % on a few hectares need intervals narrower than the default gives."""


def _frame_sizes(region_root: Path) -> str:
    region = json.loads((region_root / "region.json").read_text(encoding="utf-8"))
    strata = region.get("drone_frame", {}).get("strata", {})
    return (
        "{ " + ", ".join(f"{name} = {int(s['N_h'])}" for name, s in sorted(strata.items())) + " }"
    )


def demo_config_text(region_root: Path, workspace: Path, years: list[int]) -> str:
    """The run configuration of the demo region, as a user would write it for real data."""
    return f"""# admon run configuration for the SYNTHETIC demo region (written by `admon demo`).
# The same keys describe a real survey: see data/example_run.toml.

[survey]
name = "Demo region (SYNTHETIC)"
years = {sorted(years)}
season_start = "10-15"
season_end = "04-15"
synthetic = true

[inputs]
districts = "{region_root / "districts.gpkg"}"
imagery = ["{region_root / "imagery" / "{year}" / "*" / "*.json"}"]
training_plots = "{region_root / "plots" / "{year}" / "survey_plots.geojson"}"
# The demo's reference sample is labelled from the generator's true land cover, standing in
# for photo-interpreters labelling the drawn points on very-high-resolution imagery.
reference_interpreter = "synthetic_truth"
truth_landcover = "{region_root / "truth" / "landcover_{year}.tif"}"
programmes = "{region_root / "programmes.csv"}"
segments = "{region_root / "drone" / "{year}" / "segments.gpkg"}"
segment_frame_sizes = {_frame_sizes(region_root)}
segment_frame = "{region_root / "drone" / "frame.gpkg"}"
feedback = "{region_root / "feedback" / "{year}" / "household_survey.csv"}"

[estimation]
n_per_stratum = {DEMO_ALLOCATION}

[output]
workspace = "{workspace}"
"""


def prepare_demo(workspace: Path, *, scale: int = 1, seed: int = DEMO_SEED) -> tuple[Path, object]:
    """Build (or reuse) the demo region under the workspace and write its run configuration.

    Returns
    -------
    config_path, region
        The TOML configuration and the ``DemoRegion``.
    """
    from synthetic import build_demo_region

    workspace = Path(workspace).resolve()
    name = "demo_region" if scale == 1 else f"demo_region_x{scale}"
    region = build_demo_region(workspace / name, seed=seed, scale=scale)
    config_path = workspace / ("demo.toml" if scale == 1 else f"demo_x{scale}.toml")
    atomic_write_text(
        config_path, demo_config_text(Path(region.root), workspace, list(region.years))
    )
    return config_path, region


@dataclass(frozen=True)
class TruthComparison:
    """How the published district estimates compare with the demo's known truth."""

    table: pd.DataFrame
    """One row per district, year and crop: estimate, interval, truth, inside."""
    covered: int
    """District-years whose 95% interval contains the true hectares."""
    total: int

    @property
    def share(self) -> float:
        return self.covered / self.total if self.total else float("nan")


def compare_with_truth(estimates: pd.DataFrame, truth_csv: Path) -> TruthComparison:
    """Join district estimates with the generator's true hectares per district, year and class."""
    truth_csv = Path(truth_csv)
    if truth_csv.is_dir():
        truth_csv = truth_csv / "district_truth.csv"
    truth = pd.read_csv(truth_csv, dtype={"district_id": str})
    truth = truth.rename(columns={"class": "crop", "area_ha": "true_ha"})
    joined = estimates.merge(
        truth[["district_id", "year", "crop", "true_ha"]], on=["district_id", "year", "crop"]
    )
    estimated = joined["area_ha"].notna()
    joined["inside"] = (joined["ci_low_ha"] <= joined["true_ha"]) & (
        joined["true_ha"] <= joined["ci_high_ha"]
    )
    return TruthComparison(joined, int(joined.loc[estimated, "inside"].sum()), int(estimated.sum()))
