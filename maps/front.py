"""The gallery's front page: the latest survey's answers before the list of runs.

Where is the crop, how much, how sure, what changed since last year, and is each
Alternative Development programme working: read from the tables the run already
wrote (``region_estimates.csv``, ``district_estimates.csv``, ``programme_change.csv``,
``programme_vs_other.csv``) in the audience's own folder, so the public front page
shows only what the public set holds. Nothing is re-estimated here: the change
from last year follows the rule of :mod:`models.change` (independent samples, the
interval of the difference from each year's own limits by MOVER, which is
``± 1.96 sqrt(SE_now² + SE_before²)`` when both are symmetric; verdict from the
95 % interval). Both years are surveys of ours, so the map omission in the upper limits
(``unseen_se_ha``) is in both years and cancels: the up reaches are the design ones
(``models.change.intervals.SURVEY_PAIR_RULE``, stated on the page).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from core.io import read_csv_table
from core.legend import CROPS_OF_INTEREST
from maps.layers import CROP_LABELS
from models.change.intervals import SURVEY_PAIR_RULE, mover_difference, reaches

__all__ = ["DERIVED_TABLES", "front_page", "verdict_of"]

logger = logging.getLogger(__name__)

Z95 = 1.959963984540054

DERIVED_TABLES: dict[str, str] = {
    "district_estimates.csv": "Hectares of each crop per district with the 95% interval.",
    "region_estimates.csv": "Hectares of each crop for the whole region with the 95% interval.",
    "programme_change.csv": (
        "Each programme's districts: baseline, this year, the change with its interval and verdict."
    ),
    "programme_vs_other.csv": (
        "Difference in differences: mean change in programme districts minus the mean "
        "change in the other districts."
    ),
    "programme_series.csv": "Hectares inside each programme, year by year.",
    "programme_feedback.csv": "Farmers' answers to the household survey, per programme.",
    "eradication.csv": "Eradicated share of surveyed plots and hectares remaining per district.",
    "production.csv": "Harvested hectares times yield: production in kg per district.",
    "segment_estimates.csv": (
        "A second, independent estimate of the region from the drone-photographed segments."
    ),
}
"""Published tables of a run, each with the one sentence that says what it is."""


def verdict_of(low: float, high: float) -> str:
    """``decrease`` / ``increase`` when the interval excludes 0, else ``no detectable change``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval"
    if high < 0:
        return "decrease"
    if low > 0:
        return "increase"
    return "no detectable change"


_NEEDED = {
    "region_estimates.csv": ("crop", "area_ha", "ci_low_ha", "ci_high_ha"),
    "district_estimates.csv": ("district_id", "crop", "area_ha", "ci_low_ha", "ci_high_ha"),
    "programme_change.csv": ("programme_id", "district_id", "crop", "verdict"),
    "programme_vs_other.csv": ("crop", "did_ha", "did_ci_low_ha", "did_ci_high_ha"),
}


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    if not path.is_file():
        return None
    try:
        table = read_csv_table(path, dtype={"district_id": str, "programme_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        logger.warning("%s: not readable (%s); the front page leaves it out", path, exc)
        return None
    missing = [c for c in _NEEDED.get(name, ()) if c not in table.columns]
    if missing:
        logger.warning("%s: no column(s) %s; the front page leaves it out", path, missing)
        return None
    return table


def _reaches(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each row's distance down and up to its own 95% limits (asymmetric ones kept)."""
    width_se = (frame["ci_high_ha"] - frame["ci_low_ha"]).astype(float) / (2 * Z95)
    se = frame["se_ha"].astype(float).fillna(width_se) if "se_ha" in frame else width_se
    return reaches(
        frame["area_ha"].astype(float),
        frame["ci_low_ha"].astype(float),
        frame["ci_high_ha"].astype(float),
        se,
        Z95,
        Z95,
        survey_pair=True,
    )


def _with_change(now: pd.DataFrame, before: pd.DataFrame | None, keys: list[str]) -> list[dict]:
    """Rows of ``now`` with the change from ``before`` (same keys), its interval and verdict."""
    now = now.copy()
    now["_down"], now["_up"] = _reaches(now)
    if before is not None and len(before):
        before = before.copy()
        before["_down"], before["_up"] = _reaches(before)
        now = now.merge(
            before[[*keys, "area_ha", "_down", "_up"]],
            on=keys,
            how="left",
            suffixes=("", "_before"),
        )
    else:
        for column in ("area_ha_before", "_down_before", "_up_before"):
            now[column] = float("nan")
    change = now["area_ha"] - now["area_ha_before"]
    now["_low"], now["_high"] = mover_difference(
        change, (now["_down"], now["_up"]), (now["_down_before"], now["_up_before"])
    )
    rows = []
    helpers = ["_down", "_up", "_down_before", "_up_before", "_low", "_high"]
    for r in now.to_dict("records"):
        change = r["area_ha"] - r["area_ha_before"]
        low, high = r["_low"], r["_high"]
        has_before = math.isfinite(r["area_ha_before"])
        rows.append(
            {k: v for k, v in r.items() if k not in helpers}
            | {
                "crop_label": CROP_LABELS.get(str(r["crop"]), str(r["crop"])),
                "change_ha": change if has_before else None,
                "change_ci_low_ha": low if has_before else None,
                "change_ci_high_ha": high if has_before else None,
                "verdict": verdict_of(low, high) if has_before else "no earlier survey",
            }
        )
    return rows


def _programmes(folder: Path, names: dict[str, dict[str, str]]) -> list[dict]:
    change = _read(folder, "programme_change.csv")
    if change is None or not len(change):
        return []
    change = change[change["district_id"] != "AREA"]
    out = []
    for (pid, crop), rows in change.groupby(["programme_id", "crop"], sort=True):
        whole = rows[rows["district_id"] == "ALL"]
        # the programme as a whole; without an "ALL" row, each of its districts
        for _, row in (whole.iloc[:1] if len(whole) else rows).iterrows():
            out.append(_programme_row(pid, crop, row, rows, names))
    return out


def _programme_row(
    pid: str, crop: str, row: pd.Series, rows: pd.DataFrame, names: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """One line of the programme panel: names, baseline vs now, change, verdict, feedback."""
    meta = names.get(str(pid), {})
    whole = row["district_id"] == "ALL"
    parts = rows[rows["district_id"] != "ALL"] if whole else rows[rows.index == row.name]
    share = parts.get("feedback_share_growing")
    households = parts.get("feedback_n_households")
    feedback = None
    if share is not None and households is not None and share.notna().any():
        weights = households.where(share.notna()).fillna(0)
        if weights.sum() > 0:  # cells withheld from the public are missing, not zero
            feedback = {
                "share_growing": float((share.fillna(0) * weights).sum() / weights.sum()),
                "n_households": int(weights.sum()),
            }
    numbers = ("baseline_ha", "area_ha", "change_ha", "change_ci_low_ha", "change_ci_high_ha")
    return {
        "programme_id": str(pid),
        "name": meta.get("name") or str(pid),
        "agency": meta.get("agency", ""),
        "crop": str(crop),
        "crop_label": CROP_LABELS.get(str(crop), str(crop)),
        "district_id": str(row["district_id"]),
        "districts": ", ".join(sorted(set(rows["district_id"]) - {"ALL"})),
        **{k: float(row[k]) if pd.notna(row.get(k)) else None for k in numbers},
        "baseline_year": int(row["baseline_year"]) if pd.notna(row.get("baseline_year")) else None,
        "verdict": str(row.get("verdict", "")),
        "feedback": feedback,
    }


def _did(folder: Path) -> list[dict]:
    table = _read(folder, "programme_vs_other.csv")
    if table is None:
        return []
    rows = []
    for r in table.to_dict("records"):
        low, high = float(r.get("did_ci_low_ha", "nan")), float(r.get("did_ci_high_ha", "nan"))
        # the verdict reads the baseline-adjusted comparison (no regression to the mean)
        adjusted = (float(r.get(f"did_adjusted_ci_{side}_ha", "nan")) for side in ("low", "high"))
        low_adj, high_adj = adjusted
        if math.isfinite(low_adj) and math.isfinite(high_adj):
            low, high = low_adj, high_adj
        if not math.isfinite(float(r.get("did_ha", "nan"))):
            continue
        rows.append(
            r
            | {
                "crop_label": CROP_LABELS.get(str(r["crop"]), str(r["crop"])),
                "verdict": verdict_of(low, high),
            }
        )
    return rows


def _series(entries: list[dict[str, Any]], audience: str) -> list[dict]:
    """Region totals per year, oldest first (shown when more than two years exist)."""
    frames = []
    for e in entries:
        folder = e["run_dir"] / "public" if audience == "public" else e["run_dir"]
        region = _read(folder, "region_estimates.csv")
        if region is not None:
            frames.append(region.assign(year=e["year"]))
    if not frames:
        return []
    table = pd.concat(frames).drop_duplicates(["year", "crop"]).sort_values(["crop", "year"])
    return table.to_dict("records")


def front_page(entries: list[dict[str, Any]], audience: str) -> dict[str, Any] | None:
    """What the gallery's front page shows for the newest run of ``entries`` (newest first).

    Parameters
    ----------
    entries
        Gallery entries (:func:`maps.gallery.list_runs`), newest first.
    audience
        ``"public"`` reads each run's ``public/`` set, ``"restricted"`` the run folder.

    Returns
    -------
    dict or None
        ``run`` (the entry), ``region`` and ``districts`` (rows with change from the
        previous year's survey and a verdict), ``programmes``, ``did``, ``series``
        (region totals by year when more than two years exist) and ``tables``
        (published table links with their sentence); None without any run.
    """
    if not entries:
        return None
    latest = entries[0]
    previous = next((e for e in entries if e["year"] < latest["year"]), None)

    def folder(entry: dict[str, Any]) -> Path:
        return entry["run_dir"] / "public" if audience == "public" else entry["run_dir"]

    here = folder(latest)
    before = folder(previous) if previous else None
    region = _read(here, "region_estimates.csv")
    districts = _read(here, "district_estimates.csv")
    region_rows = (
        _with_change(region, _read(before, "region_estimates.csv") if before else None, ["crop"])
        if region is not None
        else []
    )
    order = {c: i for i, c in enumerate(CROPS_OF_INTEREST)}
    region_rows.sort(key=lambda r: order.get(str(r["crop"]), 99))
    district_rows = []
    if districts is not None:
        district_rows = _with_change(
            districts,
            _read(before, "district_estimates.csv") if before else None,
            ["district_id", "crop"],
        )
        district_rows.sort(key=lambda r: (order.get(str(r["crop"]), 99), -float(r["area_ha"])))
    names = {str(p["programme_id"]): p for p in latest.get("programmes", [])}
    years = {e["year"] for e in entries}
    links = [
        {"name": name, "href": f"{latest['folder']}{name}", "about": about}
        for name, about in DERIVED_TABLES.items()
        if (here / name).is_file()
    ]
    return {
        "run": latest,
        "previous_year": previous["year"] if previous else None,
        "region": region_rows,
        "districts": district_rows,
        "programmes": _programmes(here, names),
        "did": _did(here),
        "series": _series(list(reversed(entries)), audience) if len(years) > 2 else [],
        "tables": links,
        "change_rule": SURVEY_PAIR_RULE,
    }
