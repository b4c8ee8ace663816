"""The gallery's front page answers the working group's questions, at desktop and phone width.

The workspace holds two survey years built from the maps fixtures; the derived
tables the flow writes next to the estimates (``region_estimates.csv``,
``programme_vs_other.csv``; ``programme_change.csv`` of the link stage) are made with
the same columns as the demo run's
(``runs/2025/<run>/region_estimates.csv`` and ``programme_vs_other.csv`` of
``admon demo``), the DiD by :func:`models.change.programme_vs_other` itself.
"""

from __future__ import annotations

import html
import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

import maps
from maps.front import _with_change, front_page, verdict_of
from maps.gallery import list_runs
from models.change import programme_vs_other
from models.change.intervals import SURVEY_PAIR_RULE
from tests.maps.conftest import ARTIFACTS


def _region(estimates: pd.DataFrame) -> pd.DataFrame:
    """Region totals in the layout of region_estimates.csv (SEs added in quadrature)."""
    rows = []
    for (year, crop), group in estimates.groupby(["year", "crop"]):
        area, se = group["area_ha"].sum(), math.sqrt((group["se_ha"] ** 2).sum())
        rows.append(
            {
                "district_id": "ALL",
                "district_name": "All districts",
                "year": year,
                "crop": crop,
                "area_ha": area,
                "ci_low_ha": max(0.0, area - 1.96 * se),
                "ci_high_ha": area + 1.96 * se,
                "method": "stratified",
                "n_reference": int(group["n_reference"].sum()),
                "se_ha": se,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def two_years(published_run, tmp_path_factory):
    """Runs 2024 and 2025 in one workspace, each with its derived tables; the gallery built."""
    inputs, _ = published_run
    workspace = tmp_path_factory.mktemp("front") / "workspace"
    history = inputs.history
    for year, run_id in ((2024, "r2024"), (2025, "r2025")):
        run_dir = workspace / "runs" / str(year) / run_id
        shutil.copytree(inputs.run_dir, run_dir)
        manifest = {
            **inputs.manifest,
            "run_id": run_id,
            "year": year,
            "created": f"{year}-05-01",
            "parameters": {"survey": {"name": "Shan <South> survey"}},
        }
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
        estimates = history[history["year"] == year]
        did = programme_vs_other(history, inputs.programmes, baseline_year=2024, year=year)
        for folder in (run_dir, run_dir / "public"):
            estimates.to_csv(folder / "district_estimates.csv", index=False)
            _region(estimates).to_csv(folder / "region_estimates.csv", index=False)
            if year == 2025:
                did.to_csv(folder / "programme_vs_other.csv", index=False)
                inputs.programme_change.to_csv(folder / "programme_change.csv", index=False)
    maps.build_gallery(workspace)
    return workspace, inputs


def test_front_page_rows_carry_change_interval_and_verdict(two_years):
    workspace, inputs = two_years
    front = front_page(list_runs(workspace), "restricted")
    assert front["run"]["year"] == 2025 and front["previous_year"] == 2024
    poppy = next(r for r in front["region"] if r["crop"] == "opium_poppy")
    # the 2024 fixture is 1.5 x 2025: a fall whose interval is computed from both SEs
    assert poppy["change_ha"] < 0
    assert poppy["change_ci_low_ha"] < poppy["change_ha"] < poppy["change_ci_high_ha"]
    assert poppy["verdict"] == verdict_of(poppy["change_ci_low_ha"], poppy["change_ci_high_ha"])
    ranked = [r["area_ha"] for r in front["districts"] if r["crop"] == "opium_poppy"]
    assert ranked == sorted(ranked, reverse=True) and len(ranked) == len(inputs.districts)
    names = {p["programme_id"]: p["name"] for p in front["programmes"]}
    assert names["P1"] == "Highland coffee"
    assert {d["crop"] for d in front["did"]} >= {"opium_poppy"}
    assert [t["name"] for t in front["tables"]][:2] == [
        "district_estimates.csv",
        "region_estimates.csv",
    ]
    page = (workspace / "published" / "restricted" / "index.html").read_text()
    assert SURVEY_PAIR_RULE in html.unescape(" ".join(page.split()))


def test_verdict_follows_the_interval():
    assert verdict_of(-5.0, -1.0) == "decrease"
    assert verdict_of(1.0, 4.0) == "increase"
    assert verdict_of(-1.0, 4.0) == "no detectable change"
    assert verdict_of(np.nan, 4.0) == "no interval"


@pytest.mark.parametrize("width", [1400, 400])
def test_front_page_shows_totals_districts_and_programme_verdicts(two_years, open_page, width):
    workspace, inputs = two_years
    page, log = open_page(workspace / "published" / "restricted" / "index.html", (width, 900))
    assert page.locator("meta[name=viewport]").count() == 1
    assert page.locator("h1").inner_text() == "Shan <South> survey"  # escaped, shown as text
    totals = page.locator("#region-totals .total")
    assert totals.count() == 2 and totals.first.is_visible()
    assert "95% interval" in totals.first.inner_text()
    assert "Change from 2024" in totals.first.inner_text()
    rows = page.locator("#district-table tbody tr")
    assert rows.count() == 2 * len(inputs.districts)
    assert rows.first.locator(".verdict").inner_text() in {
        "decrease",
        "increase",
        "no detectable change",
    }
    programme = page.locator(".programme[data-programme=P1]").first
    assert "Highland coffee" in programme.inner_text()
    assert programme.locator(".verdict").inner_text() == "decrease"
    did = page.locator("#did-table tbody tr[data-crop=opium_poppy]")
    assert did.is_visible() and "DiD" in page.locator("#did-table thead").inner_text()
    # no sideways scrolling of the page on a phone: wide tables scroll in their own box
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"front_page_{width}px.png"), full_page=True)
    assert log.console_errors() == [] and log.off_machine_requests() == []


def test_year_on_year_change_reads_the_design_ses():
    """Two survey years: the change is tested on the design SEs (the unseen omission and
    the skew of the limits are the same map's in both years), so 0.77 [0.39, 743.7] with
    se 0.2 against 2.97 with se 0.5 reads a decrease. Without an SE (an older table) the
    SE is the one the interval's width implies."""
    keys = ["district_id", "crop"]
    now = pd.DataFrame(
        {"district_id": ["D05"], "crop": ["cannabis"], "area_ha": [0.77],
         "se_ha": [0.2], "ci_low_ha": [0.39], "ci_high_ha": [743.7]}
    )  # fmt: skip
    before = pd.DataFrame(
        {"district_id": ["D05"], "crop": ["cannabis"], "area_ha": [2.97],
         "se_ha": [0.5], "ci_low_ha": [2.0], "ci_high_ha": [3.94]}
    )  # fmt: skip
    (row,) = _with_change(now, before, keys)
    change = 0.77 - 2.97
    assert row["change_ha"] == pytest.approx(change)
    half = 1.959964 * math.hypot(0.2, 0.5)
    assert row["change_ci_low_ha"] == pytest.approx(change - half)
    assert row["change_ci_high_ha"] == pytest.approx(change + half)
    assert row["verdict"] == "decrease"
    assert not any(k.startswith("_") for k in row)

    # a table without se_ha: the SE its interval's width implies, width / (2 z)
    (old,) = _with_change(now.drop(columns="se_ha"), before.drop(columns="se_ha"), keys)
    half = math.hypot(743.7 - 0.39, 3.94 - 2.0) / 2
    assert old["change_ci_low_ha"] == pytest.approx(change - half)
    assert old["change_ci_high_ha"] == pytest.approx(change + half)
    assert old["verdict"] == "no detectable change"


def test_symmetric_limits_give_the_quadrature_interval():
    keys = ["crop"]
    now = pd.DataFrame({"crop": ["opium_poppy"], "area_ha": [60.0], "se_ha": [5.0],
                        "ci_low_ha": [60 - 1.959964 * 5], "ci_high_ha": [60 + 1.959964 * 5]})  # fmt: skip
    before = pd.DataFrame({"crop": ["opium_poppy"], "area_ha": [90.0], "se_ha": [6.0],
                           "ci_low_ha": [90 - 1.959964 * 6], "ci_high_ha": [90 + 1.959964 * 6]})  # fmt: skip
    (row,) = _with_change(now, before, keys)
    half = 1.959964 * math.hypot(5.0, 6.0)
    assert row["change_ci_low_ha"] == pytest.approx(-30 - half, rel=1e-6)
    assert row["change_ci_high_ha"] == pytest.approx(-30 + half, rel=1e-6)
    assert row["verdict"] == "decrease"
