"""Change in illicit cultivation since each AD programme's baseline.

For every programme × district × crop the current district estimate (with its
confidence interval) is set against the programme's baseline, and the change
gets its own interval and a verdict. The rules, chosen and tested here:

Baseline
    *Reported* (``baseline_<crop>_ha`` in the programme table) is the figure for the
    whole programme, a census-like number with no sampling error (SE 0). A
    one-district programme uses it as that district's baseline. For several districts
    it is allocated to them by the shares of the baseline year's district estimates
    (``note`` says so); without those estimates the district rows have no baseline and
    the comparison is made on the programme-level row only.
    *Derived*: with no reported figure, the baseline is the baseline year's district
    estimate (its run recorded in ``baseline_run_id``) and carries that estimate's SE.
    No figure either way: ``baseline_source`` ``"missing"``, verdict ``"no baseline"``.
Programme-level rows
    A programme over several districts also gets a row with ``district_id`` ``"ALL"``:
    sums of its districts' estimates, SEs added in quadrature (districts are sampled
    independently). It has numbers only when every district has an estimate.
Programme-area rows
    With a class map and programme polygons, ``district_id`` ``"AREA"`` rows give the
    mapped crop area inside the polygon times the ratio estimate / mapped area of the
    programme's districts (``method`` ``"map area × district ratio"``), or the bare
    mapped area, flagged ``"map area (no sample-based interval)"``.
Change interval
    ``change = current − baseline``; the two years are independent samples, so
    ``SE(change) = sqrt(SE_current² + SE_baseline²)`` and the interval is
    ``change ± z·SE``. SE of an estimate is ``se_ha``, or half its interval width / z.
Verdict
    ``"decrease"`` (interval below 0), ``"increase"`` (above 0), ``"no detectable change"``
    (contains 0); and, when a number is missing, ``"no estimate"`` (no current estimate:
    the row is kept), ``"no baseline"`` or ``"no interval"`` (an estimate without SE).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats
from shapely.geometry import box

from geo.io import atomic_path
from geo.landcover import CROPS_OF_INTEREST, code_of
from models.errors import InvalidInputError
from models.programme import BASELINE_CROP_COLUMNS

__all__ = [
    "CHANGE_COLUMNS",
    "VERDICTS",
    "programme_change",
    "programme_series",
    "programme_vs_other",
    "write_programme_change",
    "artifact_table",
]

logger = logging.getLogger(__name__)

CHANGE_COLUMNS: tuple[str, ...] = (
    "programme_id",
    "district_id",
    "crop",
    "baseline_year",
    "baseline_ha",
    "baseline_source",
    "year",
    "area_ha",
    "ci_low_ha",
    "ci_high_ha",
    "change_ha",
    "change_pct",
    "change_ci_low_ha",
    "change_ci_high_ha",
    "verdict",
    "baseline_run_id",
    "n_reference",
    "note",
    "run_id",
    "method",
    "baseline_se_ha",
    "se_ha",
    "change_se_ha",
)
"""Columns of ``programme_change.csv``, in order."""

VERDICTS = (
    "decrease",
    "increase",
    "no detectable change",
    "no estimate",
    "no baseline",
    "no interval",
)

EstimatesByYear = pd.DataFrame | Mapping[int, pd.DataFrame] | None


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _with_se(table: pd.DataFrame, z: float) -> pd.DataFrame:
    table = table.copy()
    table["district_id"] = table["district_id"].astype(str)
    from_ci = (table["ci_high_ha"] - table["ci_low_ha"]) / (2 * z)
    table["se_ha"] = table["se_ha"].fillna(from_ci) if "se_ha" in table else from_ci
    return table


def _of_year(estimates: EstimatesByYear, year: int, z: float) -> tuple[pd.DataFrame, str | None]:
    """Estimates of one year (the last run of it when several are stored) and their run id."""
    if estimates is None:
        return pd.DataFrame(columns=["district_id", "crop", "area_ha", "se_ha"]), None
    if isinstance(estimates, Mapping):
        table = estimates.get(int(year))
        if table is None:
            return _of_year(None, year, z)
    else:
        table = (
            estimates[estimates["year"].astype(int) == int(year)]
            if "year" in estimates
            else estimates
        )
    run = None
    if "run_id" in table and table["run_id"].notna().any():
        run = str(sorted(table["run_id"].dropna().astype(str).unique())[-1])
        table = table[table["run_id"].astype(str) == run]
    return _with_se(table, z), run


def _ids(value: Any) -> list[str]:
    """District ids of a programme: a list, an array, or the stored ``;``-joined text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return [str(v) for v in value]


def _lookup(table: pd.DataFrame, district_id: str, crop: str) -> pd.Series | None:
    hit = table[(table["district_id"] == district_id) & (table["crop"] == crop)]
    if hit.empty or pd.isna(hit["area_ha"].iloc[0]):
        return None
    return hit.iloc[0]


def _programme_rows(
    prog: pd.Series,
    crop: str,
    current: pd.DataFrame,
    base: pd.DataFrame,
    base_run: str | None,
    z: float,
) -> list[dict[str, Any]]:
    ids = _ids(prog["district_ids"])
    by = int(prog["baseline_year"])
    reported = prog.get(BASELINE_CROP_COLUMNS[crop], float("nan"))
    reported = float("nan") if reported is None else float(reported)
    base_hits = {d: _lookup(base, d, crop) for d in ids}
    rows = []
    for d in ids:
        row = _current_fields(
            _lookup(current, d, crop), f"no {crop} estimate for district {d} this year"
        )
        row.update(programme_id=prog["programme_id"], district_id=d, crop=crop, baseline_year=by)
        hit = base_hits[d]
        if not math.isnan(reported):
            row.update(baseline_source="reported", baseline_se_ha=0.0, baseline_run_id=None)
            total = sum(h["area_ha"] for h in base_hits.values() if h is not None)
            if len(ids) == 1:
                row["baseline_ha"] = reported
            elif all(h is not None for h in base_hits.values()) and total > 0:
                row["baseline_ha"] = reported * hit["area_ha"] / total
                row["baseline_run_id"] = base_run
                _add_note(row, f"reported programme baseline allocated by {by} estimate shares")
            else:
                row["baseline_ha"] = float("nan")
                _add_note(
                    row,
                    f"reported baseline is programme-wide and no {by} estimates split it; see ALL",
                )
        elif hit is not None:
            row.update(baseline_ha=float(hit["area_ha"]), baseline_se_ha=float(hit["se_ha"]))
            row.update(baseline_source="derived", baseline_run_id=base_run)
        else:
            row.update(baseline_ha=float("nan"), baseline_se_ha=float("nan"))
            row.update(baseline_source="missing", baseline_run_id=None)
            _add_note(row, f"no reported baseline and no {by} estimate to derive one")
        rows.append(row)
    if len(ids) > 1:
        rows.append(_all_row(prog, crop, rows, reported, base_run, z))
    return rows


def _current_fields(hit: pd.Series | None, missing_note: str) -> dict[str, Any]:
    if hit is None:
        return dict(
            area_ha=np.nan,
            ci_low_ha=np.nan,
            ci_high_ha=np.nan,
            se_ha=np.nan,
            n_reference=np.nan,
            method=None,
            note=missing_note,
        )
    return dict(
        area_ha=float(hit["area_ha"]),
        ci_low_ha=float(hit["ci_low_ha"]),
        ci_high_ha=float(hit["ci_high_ha"]),
        se_ha=float(hit["se_ha"]),
        n_reference=hit.get("n_reference", np.nan),
        method=hit.get("method"),
        note="",
    )


def _add_note(row: dict[str, Any], text: str) -> None:
    row["note"] = f"{row['note']}; {text}" if row.get("note") else text


def _all_row(
    prog: pd.Series,
    crop: str,
    rows: list[dict[str, Any]],
    reported: float,
    base_run: str | None,
    z: float,
) -> dict[str, Any]:
    missing = [r["district_id"] for r in rows if math.isnan(r["area_ha"])]
    row: dict[str, Any] = dict(
        programme_id=prog["programme_id"],
        district_id="ALL",
        crop=crop,
        baseline_year=int(prog["baseline_year"]),
        method="sum of districts",
    )
    if missing:
        row.update(_current_fields(None, f"no estimate this year for {', '.join(missing)}"))
        row["method"] = "sum of districts"
    else:
        total = sum(r["area_ha"] for r in rows)
        se = math.sqrt(sum(r["se_ha"] ** 2 for r in rows))
        row.update(
            area_ha=total,
            se_ha=se,
            ci_low_ha=max(0.0, total - z * se),
            ci_high_ha=total + z * se,
            n_reference=sum(r["n_reference"] for r in rows),
            note="",
        )
    if not math.isnan(reported):
        row.update(
            baseline_ha=reported,
            baseline_se_ha=0.0,
            baseline_source="reported",
            baseline_run_id=None,
        )
    elif all(r["baseline_source"] == "derived" for r in rows):
        row.update(
            baseline_ha=sum(r["baseline_ha"] for r in rows),
            baseline_source="derived",
            baseline_se_ha=math.sqrt(sum(r["baseline_se_ha"] ** 2 for r in rows)),
            baseline_run_id=base_run,
        )
    else:
        row.update(
            baseline_ha=np.nan,
            baseline_se_ha=np.nan,
            baseline_source="missing",
            baseline_run_id=None,
        )
        _add_note(row, "baseline missing for some districts")
    return row


def _area_rows(
    programmes: gpd.GeoDataFrame, class_map: str | os.PathLike[str], current: pd.DataFrame, z: float
) -> list[dict[str, Any]]:
    """Rows for programme area polygons from the class map inside them."""
    import rasterio

    from geo.area import zonal_class_area  # lazy: only runs with a class map

    if "geometry_source" in programmes:
        polygons = programmes[programmes["geometry_source"] == "area"]
    else:
        polygons = programmes[programmes.geometry.notna()]
    if polygons.empty:
        return []
    try:
        mapped = zonal_class_area(class_map, polygons[["programme_id", "geometry"]], "programme_id")
    except InvalidInputError as exc:  # areas outside the map: keep their rows, say why
        logger.warning("programme areas not measured on %s: %s", class_map, exc)
        mapped = pd.DataFrame(columns=["programme_id", "class", "area_ha"])
    id_column = "programme_id" if "programme_id" in mapped else "zone_id"
    with rasterio.open(class_map) as src:  # zones off the map come back as 0 ha: tell them apart
        footprint = box(*src.bounds)
        on_map = set(polygons.loc[polygons.to_crs(src.crs).intersects(footprint), "programme_id"])
    rows = []
    for _, prog in polygons.iterrows():
        for crop in CROPS_OF_INTEREST:
            hit = mapped[
                (mapped[id_column].astype(str) == str(prog["programme_id"]))
                & (mapped["class"].astype(int) == code_of(crop))
            ]
            covered = prog["programme_id"] in on_map
            map_ha = float(hit["area_ha"].sum()) if covered else np.nan
            districts = current[
                current["district_id"].isin(_ids(prog["district_ids"])) & (current["crop"] == crop)
            ]
            map_total = districts["map_area_ha"].sum() if "map_area_ha" in districts else 0.0
            row: dict[str, Any] = dict(
                programme_id=prog["programme_id"],
                district_id="AREA",
                crop=crop,
                baseline_year=int(prog["baseline_year"]),
                n_reference=np.nan,
            )
            if not covered:
                row.update(_current_fields(None, "programme area not covered by the class map"))
            elif map_total > 0:
                ratio = districts["area_ha"].sum() / map_total
                se = map_ha * math.sqrt((districts["se_ha"] ** 2).sum()) / map_total
                row.update(
                    area_ha=map_ha * ratio,
                    se_ha=se,
                    method="map area × district ratio",
                    note=(
                        f"mapped {map_ha:.2f} ha × ratio {ratio:.3f} "
                        "(estimate / mapped area of its districts)"
                    ),
                )
                row.update(
                    ci_low_ha=max(0.0, row["area_ha"] - z * se), ci_high_ha=row["area_ha"] + z * se
                )
            else:
                row.update(
                    area_ha=map_ha,
                    se_ha=np.nan,
                    ci_low_ha=np.nan,
                    ci_high_ha=np.nan,
                    method="map area (no sample-based interval)",
                    note="map area (no sample-based interval)",
                )
            reported = prog.get(BASELINE_CROP_COLUMNS[crop], np.nan)
            if reported is not None and not pd.isna(reported):
                row.update(
                    baseline_ha=float(reported), baseline_se_ha=0.0, baseline_source="reported"
                )
            else:
                row.update(baseline_ha=np.nan, baseline_se_ha=np.nan, baseline_source="missing")
                _add_note(row, "no reported baseline for the programme area")
            rows.append(row)
    return rows


def _finish(frame: pd.DataFrame, z: float) -> pd.DataFrame:
    """Add the change, its interval and the verdict to rows with baseline and current fields."""
    frame["change_ha"] = frame["area_ha"] - frame["baseline_ha"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * frame["change_ha"] / frame["baseline_ha"]
    frame["change_pct"] = pct.where(frame["baseline_ha"] > 0)
    frame["change_se_ha"] = np.sqrt(frame["se_ha"] ** 2 + frame["baseline_se_ha"] ** 2)
    frame["change_ci_low_ha"] = frame["change_ha"] - z * frame["change_se_ha"]
    frame["change_ci_high_ha"] = frame["change_ha"] + z * frame["change_se_ha"]
    verdict = np.select(
        [
            frame["area_ha"].isna(),
            frame["baseline_ha"].isna(),
            frame["change_se_ha"].isna(),
            frame["change_ci_low_ha"] > 0,
            frame["change_ci_high_ha"] < 0,
        ],
        ["no estimate", "no baseline", "no interval", "increase", "decrease"],
        default="no detectable change",
    )
    frame["verdict"] = verdict
    return frame


def programme_change(
    programmes: pd.DataFrame,
    estimates: pd.DataFrame,
    baseline_estimates: EstimatesByYear = None,
    *,
    year: int | None = None,
    districts: gpd.GeoDataFrame | None = None,
    run_id: str | None = None,
    baseline_run_id: str | None = None,
    class_map: str | os.PathLike[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Change in cultivation since each programme's baseline, per district and crop.

    Parameters
    ----------
    programmes
        Output of :func:`models.programme.load_programmes` (or the store's table).
    estimates
        District estimates (``district_id, crop, area_ha, ci_low_ha, ci_high_ha``, and
        ``se_ha``, ``year``, ``n_reference``, ``method``, ``map_area_ha`` when known). May
        hold several years; ``year`` picks the current one.
    baseline_estimates
        District estimates of the baseline years (one DataFrame with a ``year`` and
        optionally ``run_id`` column, or ``{year: DataFrame}``), used to derive missing
        baselines, to allocate programme-wide ones, and as the baseline's SE. Defaults to
        ``estimates`` itself (useful when it holds all stored years).
    year
        Current year; default the latest year in ``estimates``.
    districts
        Unused for the numbers; accepted for the flow's call shape (geometry is added by
        :func:`write_programme_change`).
    run_id, baseline_run_id
        Recorded in the output; ``baseline_run_id`` is used when the baseline table has
        no ``run_id`` column.
    class_map
        ``classes.tif`` of the current run: adds ``"AREA"`` rows for programme polygons.
    confidence
        Level of the change intervals (two-sided, normal).

    Returns
    -------
    pandas.DataFrame
        :data:`CHANGE_COLUMNS`; rows sorted by programme, district, crop. A district
        without an estimate keeps its row (NaN numbers, verdict ``"no estimate"``).

    Examples
    --------
    >>> change = programme_change(programmes, current, stored, year=2025)  # doctest: +SKIP
    """
    z = _z(confidence)
    if year is None:
        year = int(estimates["year"].max())
    current, current_run = _of_year(estimates, year, z)
    baseline_source = estimates if baseline_estimates is None else baseline_estimates
    rows: list[dict[str, Any]] = []
    for _, prog in programmes.iterrows():
        if pd.isna(prog["baseline_year"]):
            continue
        base, base_run = _of_year(baseline_source, int(prog["baseline_year"]), z)
        for crop in CROPS_OF_INTEREST:
            for row in _programme_rows(prog, crop, current, base, base_run or baseline_run_id, z):
                rows.append(row)
    if class_map is not None and isinstance(programmes, gpd.GeoDataFrame):
        rows.extend(_area_rows(programmes, class_map, current, z))
    frame = pd.DataFrame(
        rows,
        columns=[
            c
            for c in CHANGE_COLUMNS
            if c
            not in {
                "year",
                "run_id",
                "change_ha",
                "change_pct",
                "change_se_ha",
                "change_ci_low_ha",
                "change_ci_high_ha",
                "verdict",
            }
        ],
    )
    frame["year"] = int(year)
    frame["run_id"] = run_id or current_run
    frame = _finish(
        frame.astype({c: float for c in ("baseline_ha", "baseline_se_ha", "area_ha", "se_ha")}), z
    )
    frame["note"] = frame["note"].fillna("")
    counts = frame["verdict"].value_counts().to_dict()
    logger.info("programme change %s: %d rows, verdicts %s", year, len(frame), counts)
    return frame[list(CHANGE_COLUMNS)].reset_index(drop=True)


def programme_series(
    store_estimates: pd.DataFrame, programmes: pd.DataFrame, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Cultivation in each programme's districts across all stored years.

    Per programme × crop × year, the sum of its districts' estimates with SEs added in
    quadrature and a normal interval (lower bound clipped at 0). A year in which some
    district has no estimate gets NaN area (a partial sum would look like a drop), with
    the missing districts in ``missing_districts``.

    Returns
    -------
    pandas.DataFrame
        ``programme_id, crop, year, area_ha, ci_low_ha, ci_high_ha, se_ha, n_districts,
        missing_districts, run_id``.
    """
    z = _z(confidence)
    rows = []
    for y in sorted(store_estimates["year"].dropna().astype(int).unique()):
        table, run = _of_year(store_estimates, y, z)
        for _, prog in programmes.iterrows():
            ids = _ids(prog["district_ids"])
            for crop in CROPS_OF_INTEREST:
                hits = {d: _lookup(table, d, crop) for d in ids}
                missing = [d for d, h in hits.items() if h is None]
                area = se = np.nan
                if ids and not missing:
                    area = float(sum(h["area_ha"] for h in hits.values()))
                    se = math.sqrt(sum(float(h["se_ha"]) ** 2 for h in hits.values()))
                rows.append(
                    dict(
                        programme_id=prog["programme_id"],
                        crop=crop,
                        year=y,
                        area_ha=area,
                        ci_low_ha=max(0.0, area - z * se) if not np.isnan(area) else np.nan,
                        ci_high_ha=area + z * se,
                        se_ha=se,
                        n_districts=len(ids),
                        missing_districts=";".join(missing),
                        run_id=run,
                    )
                )
    columns = [
        "programme_id",
        "crop",
        "year",
        "area_ha",
        "ci_low_ha",
        "ci_high_ha",
        "se_ha",
        "n_districts",
        "missing_districts",
        "run_id",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["programme_id", "crop", "year"], ignore_index=True
    )


def programme_vs_other(
    estimates: pd.DataFrame,
    programmes: pd.DataFrame,
    *,
    baseline_year: int | None = None,
    year: int | None = None,
    districts: gpd.GeoDataFrame | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Difference in differences: mean change in programme vs other districts.

    Each district's change is its estimate in ``year`` minus that in ``baseline_year``.
    Programme districts are those any programme covers; the others are every other
    district with estimates in both years (restricted to ``districts`` when given).
    ``did_ha`` = mean change (programme) − mean change (other). Its interval is a Welch
    t interval from the spread of the district changes when each group has at least two
    districts (``interval_method`` ``"welch"``: it includes district-to-district
    variation), else a normal interval from the estimates' own SEs (``"sampling"``).

    Returns
    -------
    pandas.DataFrame
        ``crop, programme_mean_change_ha, other_mean_change_ha, did_ha, did_ci_low_ha,
        did_ci_high_ha, n_programme, n_other, interval_method, baseline_year, year``.
    """
    z = _z(confidence)
    if year is None:
        year = int(estimates["year"].max())
    if baseline_year is None:
        baseline_year = int(pd.Series(programmes["baseline_year"]).dropna().astype(int).min())
    now, _ = _of_year(estimates, year, z)
    then, _ = _of_year(estimates, baseline_year, z)
    covered = {d for ids in programmes["district_ids"] for d in _ids(ids)}
    pairs = now.merge(then, on=["district_id", "crop"], suffixes=("", "_base"))
    if districts is not None:
        pairs = pairs[pairs["district_id"].isin(set(districts["district_id"].astype(str)))]
    pairs["change"] = pairs["area_ha"] - pairs["area_ha_base"]
    pairs["var"] = pairs["se_ha"] ** 2 + pairs["se_ha_base"] ** 2
    rows = []
    for crop in CROPS_OF_INTEREST:
        sel = pairs[pairs["crop"] == crop]
        prog, other = sel[sel["district_id"].isin(covered)], sel[~sel["district_id"].isin(covered)]
        rows.append(
            _did_row(crop, prog, other, confidence, z)
            | dict(baseline_year=baseline_year, year=year)
        )
    return pd.DataFrame(rows)


def _did_row(
    crop: str, prog: pd.DataFrame, other: pd.DataFrame, confidence: float, z: float
) -> dict:
    n_p, n_o = len(prog), len(other)
    row: dict[str, Any] = dict(
        crop=crop,
        programme_mean_change_ha=prog["change"].mean() if n_p else np.nan,
        other_mean_change_ha=other["change"].mean() if n_o else np.nan,
    )
    row["did_ha"] = row["programme_mean_change_ha"] - row["other_mean_change_ha"]
    low = high = np.nan
    method = "none"
    if n_p >= 2 and n_o >= 2:
        vp, vo = prog["change"].var(ddof=1) / n_p, other["change"].var(ddof=1) / n_o
        se = math.sqrt(vp + vo)
        dof = (vp + vo) ** 2 / ((vp**2) / (n_p - 1) + (vo**2) / (n_o - 1)) if se > 0 else np.inf
        t = float(stats.t.ppf(0.5 + confidence / 2, dof))
        low, high, method = row["did_ha"] - t * se, row["did_ha"] + t * se, "welch"
    elif n_p and n_o:
        se = math.sqrt(prog["var"].sum() / n_p**2 + other["var"].sum() / n_o**2)
        low, high, method = row["did_ha"] - z * se, row["did_ha"] + z * se, "sampling"
    row.update(
        did_ci_low_ha=low, did_ci_high_ha=high, n_programme=n_p, n_other=n_o, interval_method=method
    )
    return row


def write_programme_change(
    change: pd.DataFrame,
    run_dir: str | os.PathLike[str],
    *,
    districts: gpd.GeoDataFrame | None = None,
    programmes: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """Write ``programme_change.csv`` and, with geometries, ``programme_change.gpkg``.

    District rows take the district polygon, ``ALL`` and ``AREA`` rows the programme's
    geometry. Both files are written atomically. Returns ``{"csv": ..., "gpkg": ...}``.
    """
    run_dir = Path(run_dir)
    written = {}
    with atomic_path(run_dir / "programme_change.csv") as tmp:
        change.to_csv(tmp, index=False)
    written["csv"] = run_dir / "programme_change.csv"
    if districts is None and programmes is None:
        return written
    geoms = _row_geometries(change, districts, programmes)
    frame = gpd.GeoDataFrame(change.copy(), geometry=geoms.values, crs=geoms.crs)
    with atomic_path(run_dir / "programme_change.gpkg") as tmp:
        frame.to_file(tmp, layer="programme_change", driver="GPKG")
    written["gpkg"] = run_dir / "programme_change.gpkg"
    return written


def _row_geometries(
    change: pd.DataFrame, districts: gpd.GeoDataFrame | None, programmes: gpd.GeoDataFrame | None
) -> gpd.GeoSeries:
    crs = districts.crs if districts is not None else programmes.crs
    by_district = (
        {}
        if districts is None
        else dict(zip(districts["district_id"].astype(str), districts.geometry, strict=True))
    )
    by_programme = {}
    if programmes is not None and programmes.crs is not None:
        projected = programmes.to_crs(crs) if crs is not None else programmes
        by_programme = dict(zip(projected["programme_id"], projected.geometry, strict=True))
    geoms = [
        by_programme.get(p) if d in {"ALL", "AREA"} else by_district.get(d)
        for p, d in zip(change["programme_id"], change["district_id"], strict=True)
    ]
    return gpd.GeoSeries(geoms, crs=crs)


def artifact_table(
    change: pd.DataFrame, columns: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Rows for a Prefect table artifact: the key columns, rounded, NaN as ``None``.

    ``flows`` passes the result to ``prefect.artifacts.create_table_artifact(table=...)``.
    """
    keep = list(
        columns
        or (
            "programme_id",
            "district_id",
            "crop",
            "baseline_year",
            "baseline_ha",
            "baseline_source",
            "year",
            "area_ha",
            "change_ha",
            "change_pct",
            "change_ci_low_ha",
            "change_ci_high_ha",
            "verdict",
        )
    )
    table = change[keep].round(2).astype(object)
    return table.where(table.notna(), None).to_dict(orient="records")
