"""The printable HTML run report: summary, maps, charts, methods, provenance."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from core.io import atomic_write_text
from maps.layers import CROP_LABELS, crops_present
from models.change.intervals import SURVEY_PAIR_RULE

__all__ = ["Figure", "crop_totals", "build_report"]

logger = logging.getLogger(__name__)

MAX_TABLE_ROWS = 400
"""District rows printed in the report; the downloads hold all."""

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class Figure:
    """An image of the run folder shown in the report."""

    file: str
    """File name relative to the run folder."""
    caption: str


def _fmt(value: Any, digits: int = 1) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    if not math.isfinite(number):
        return "–"
    return f"{number:,.{digits if abs(number) < 100 else 0}f}"


def _interval(low: Any, high: Any) -> str:
    return f"{_fmt(low)} – {_fmt(high)}"


def crop_totals(district_estimates: pd.DataFrame) -> pd.DataFrame:
    """Total area per crop with a 95% interval from district standard errors.

    District estimates come from independent samples, so the variance of the
    sum is the sum of variances: ``total ± 1.96 * sqrt(sum(se_ha**2))``, the upper
    limit with the districts' unseen omission too (``unseen_se_ha``, as a district's
    upper limit has it). Where ``se_ha`` is missing it is recovered from the interval
    half-width / 1.96.

    Returns
    -------
    DataFrame
        Index ``crop``; columns ``area_ha, ci_low_ha, ci_high_ha, n_districts, n_reference,
        n_not_estimable`` (districts without an estimate, left out of the total).
    """
    rows = []
    for crop in crops_present(district_estimates):
        part = district_estimates[district_estimates["crop"] == crop]
        se = part["se_ha"] if "se_ha" in part else pd.Series(np.nan, index=part.index)
        se = se.astype(float).fillna(
            (part["ci_high_ha"] - part["ci_low_ha"]).astype(float) / (2 * 1.96)
        )
        total = float(part["area_ha"].sum())
        half = 1.96 * math.sqrt(float((se**2).sum()))
        unseen = part["unseen_se_ha"].astype(float) if "unseen_se_ha" in part else se * 0
        up = 1.96 * math.sqrt(float((se**2).sum() + (unseen.fillna(0) ** 2).sum()))
        n_ref = part["n_reference"].sum() if "n_reference" in part else np.nan
        missing = int(part["area_ha"].isna().sum())  # not estimable: left out of the total
        rows.append((crop, total, max(0.0, total - half), total + up, len(part), n_ref, missing))
    columns = ["crop", "area_ha", "ci_low_ha", "ci_high_ha", "n_districts", "n_reference",
               "n_not_estimable"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).set_index("crop")


def _confusion_accuracy(path: Path) -> tuple[float | None, dict[str, dict[str, float]]]:
    """Overall, user's and producer's accuracy from a confusion CSV.

    Rows are map classes, columns reference classes (``geo.classify`` layout).
    """
    try:
        counts = pd.read_csv(path, index_col=0)
    except (OSError, ValueError) as exc:
        logger.warning("%s: confusion matrix not readable for the report (%s)", path, exc)
        return None, {}
    counts = counts.reindex(columns=counts.index).fillna(0).astype(float)
    diagonal = pd.Series(np.diag(counts.to_numpy()), index=counts.index)
    rows, cols, total = counts.sum(axis=1), counts.sum(axis=0), counts.to_numpy().sum()
    per_class = {
        str(c): {
            "users": diagonal[c] / rows[c] if rows[c] else np.nan,
            "producers": diagonal[c] / cols[c] if cols[c] else np.nan,
        }
        for c in counts.index
    }
    return (float(diagonal.sum() / total) if total else None), per_class


def _accuracy(
    manifest: dict[str, Any], run_dir: Path
) -> tuple[str | None, list[dict[str, str]], str]:
    """Overall accuracy, per-class rows and where they come from.

    Accepts ``{"overall", "users": {class: v}, "producers": {...}}`` and the
    flow's ``{"holdout_accuracy", "confusion_matrix": "<csv path>"}``.
    """
    accuracy = manifest.get("accuracy") or {}
    if not isinstance(accuracy, dict):
        return None, [], ""
    overall = accuracy.get("overall", accuracy.get("holdout_accuracy"))
    per_class: dict[str, dict[str, Any]] = {}
    source = "map accuracy as recorded in the manifest"
    matrix = accuracy.get("confusion_matrix")
    if isinstance(matrix, str) and matrix:
        path = Path(matrix) if Path(matrix).is_absolute() else run_dir / matrix
        if path.is_file():
            from_matrix, per_class = _confusion_accuracy(path)
            overall = overall if overall is not None else from_matrix
            source = f"held-out confusion matrix ({path.name}, pixel counts of held-out plots)"
    for key, values in accuracy.items():
        if not isinstance(values, dict):
            continue
        lowered = key.lower()
        kind = "users" if "user" in lowered else "producers" if "producer" in lowered else None
        if kind:
            for cls, value in values.items():
                per_class.setdefault(str(cls), {})[kind] = value
    rows = [
        {
            "label": CROP_LABELS.get(cls, cls),
            "users": _fmt(v.get("users"), 3),
            "producers": _fmt(v.get("producers"), 3),
        }
        for cls, v in per_class.items()
    ]
    return (_fmt(overall, 3) if overall is not None else None), rows, source


def _sample_sizes(
    district_estimates: pd.DataFrame, manifest: dict[str, Any]
) -> list[tuple[str, str]]:
    sizes: list[tuple[str, str]] = []
    given = manifest.get("sample_sizes") or manifest.get("sample sizes") or {}
    if isinstance(given, dict):
        sizes += [(str(k).replace("_", " "), _fmt(v, 0)) for k, v in given.items()]
    if "n_reference" in district_estimates:
        for crop, n in district_estimates.groupby("crop")["n_reference"].sum().items():
            sizes.append(
                (
                    f"reference units behind the {CROP_LABELS.get(crop, crop).lower()} estimates",
                    _fmt(n, 0),
                )
            )
    return sizes


def _interpretation(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """How the reference labels were made: share labelled, agreement between interpreters."""
    state = (manifest.get("results") or {}).get("interpretation")
    if not isinstance(state, dict):
        return None
    agreement = state.get("agreement") or {}
    return {
        "source": "a labelled file" if state.get("source") == "file" else "interpreters",
        "labelled": _fmt(state.get("n_labelled"), 0),
        "points": _fmt(state.get("n_points"), 0),
        "double": _fmt(agreement.get("n_points", 0), 0),
        "has_double": bool(agreement.get("n_points")),
        "overall": _fmt(100 * agreement["overall"], 1) if agreement.get("overall") is not None else "–",
        "kappa": _fmt(agreement.get("kappa"), 3),
        "disagreements": _fmt(agreement.get("n_disagreements", 0), 0),
        "unresolved": _fmt(state.get("n_unresolved_disagreements", 0), 0),
        "unsure": _fmt(state.get("n_unsure", 0), 0),
        "rows": [
            {"label": CROP_LABELS.get(r.get("class"), str(r.get("class"))),
             "agreement": _fmt(r.get("agreement"), 3), "kappa": _fmt(r.get("kappa"), 3),
             "n": _fmt((r.get("n_first") or 0) + (r.get("n_second") or 0), 0)}
            for r in agreement.get("per_class", [])
        ],
    }  # fmt: skip


def _programme_rows(programme_change: pd.DataFrame | None) -> list[dict[str, str]]:
    if programme_change is None or not len(programme_change):
        return []
    rows = []
    for r in programme_change.to_dict("records"):
        get = r.get
        rows.append(
            {
                "programme_id": str(get("programme_id")),
                "district_id": str(get("district_id")),
                "crop": CROP_LABELS.get(str(get("crop")), str(get("crop"))),
                "baseline": f"{_fmt(get('baseline_ha'))} ha "
                f"({get('baseline_year')}, {get('baseline_source', '')})",
                "current": f"{_fmt(get('area_ha'))} "
                f"({_interval(get('ci_low_ha'), get('ci_high_ha'))})",
                "change": f"{_fmt(get('change_ha'))} "
                f"({_interval(get('change_ci_low_ha'), get('change_ci_high_ha'))})",
                "verdict": _qualified_verdict(r),
            }
        )
    return rows


def _qualified_verdict(row: dict[str, Any]) -> str:
    """The change verdict, saying when it rests on an exact baseline or fails Holm's test."""
    verdict = str(row.get("verdict", ""))
    if verdict not in {"decrease", "increase"}:
        return verdict
    if row.get("baseline_uncertainty") == "not given":
        verdict += " (if the baseline is exact)"
    p_holm = row.get("p_holm")
    if p_holm is not None and pd.notna(p_holm) and float(p_holm) >= 0.05:
        verdict += " (not after Holm's correction)"
    return verdict


def build_report(
    run_dir: Path,
    *,
    district_estimates: pd.DataFrame,
    year: int,
    run_id: str,
    maps: list[Figure],
    charts: list[Figure],
    downloads: dict[str, Path],
    programme_change: pd.DataFrame | None = None,
    manifest: dict[str, Any] | None = None,
    synthetic: bool = False,
) -> Path:
    """Write ``run_dir/report.html`` (self-contained apart from the run's own PNGs).

    Parameters
    ----------
    run_dir
        Run folder holding the PNGs named in ``maps`` and ``charts``.
    district_estimates
        The published estimates of the run (long table).
    year, run_id
        Named in the title.
    maps, charts
        Figures to show, in order.
    downloads
        ``{"csv": path, ...}`` linked from the summary.
    programme_change
        Change since AD programme baselines, shown as a table when given.
    manifest
        ``manifest.json`` content: ``created``, ``inputs`` (path, sha256),
        ``parameters``, ``versions``, ``accuracy``, ``sample_sizes``.
    synthetic
        Show the SYNTHETIC banner.

    Returns
    -------
    Path
        ``run_dir/report.html``.
    """
    manifest = manifest or {}
    totals = crop_totals(district_estimates)
    ordered = district_estimates.sort_values(["district_id", "crop"])
    overall, accuracy_rows, accuracy_source = _accuracy(manifest, run_dir)
    context = {
        "title": f"Illicit crop cultivation survey {year}: run report",
        "year": year,
        "run_id": run_id,
        "synthetic": synthetic,
        "created": manifest.get("created"),
        "published": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "totals": [
            {
                "label": CROP_LABELS[c],
                "area": _fmt(t.area_ha),
                "low": _fmt(t.ci_low_ha),
                "high": _fmt(t.ci_high_ha),
                "n_districts": int(t.n_districts),
                "n_reference": _fmt(t.n_reference, 0),
            }
            for c, t in totals.iterrows()
        ],
        "totals_have_se": "se_ha" in district_estimates
        and district_estimates["se_ha"].notna().all(),
        "downloads": [(kind.upper(), path.name) for kind, path in downloads.items()],
        "maps": maps,
        "charts": charts,
        "districts": [
            {
                "district_id": r.district_id,
                "district_name": r.district_name,
                "crop": CROP_LABELS.get(r.crop, r.crop),
                "area": _fmt(r.area_ha),
                "low": _fmt(r.ci_low_ha),
                "high": _fmt(r.ci_high_ha),
                "n": _fmt(getattr(r, "n_reference", None), 0),
                "method": getattr(r, "method", ""),
            }
            for r in ordered.head(MAX_TABLE_ROWS).itertuples(index=False)
        ],
        "districts_truncated": len(ordered) > MAX_TABLE_ROWS,
        "districts_total": len(ordered),
        "programmes": _programme_rows(programme_change),
        "change_rule": SURVEY_PAIR_RULE,
        "methods": sorted(district_estimates["method"].value_counts().items())
        if "method" in district_estimates
        else [],
        "sample_sizes": _sample_sizes(district_estimates, manifest),
        "accuracy_overall": overall,
        "accuracy_source": accuracy_source,
        "accuracy_rows": accuracy_rows,
        "interpretation": _interpretation(manifest),
        "has_manifest": bool(manifest),
        "inputs": [
            {"path": _relative(i.get("path", "?"), run_dir), "sha256": str(i.get("sha256", "–"))}
            for i in manifest.get("inputs", [])
            if isinstance(i, dict)
        ],
        "parameters": [
            (k, json.dumps(v, default=str))
            for k, v in sorted((manifest.get("parameters") or {}).items())
        ],
        "versions": sorted((manifest.get("versions") or {}).items()),
    }
    page = _ENV.get_template("report.html").render(**context)
    provenance = _ENV.get_template("provenance.html").render(**context)
    atomic_write_text(run_dir / "provenance.html", provenance)
    return atomic_write_text(run_dir / "report.html", page)


def _relative(path: Any, run_dir: Path) -> str:
    """``path`` relative to the workspace (``runs/<year>/<run_id>/`` up three), never absolute.

    A file outside the workspace is shown by its name alone: the analyst's own folders
    are no part of the publication.
    """
    text = str(path)
    candidate = Path(text)
    if not candidate.is_absolute():
        return candidate.as_posix()
    run_dir = Path(run_dir).resolve()
    # runs/<year>/<run_id>/ (or its public/ set) lives in the workspace
    workspace = next((p.parent for p in run_dir.parents if p.name == "runs"), run_dir)
    try:
        return candidate.resolve().relative_to(workspace).as_posix()
    except (ValueError, OSError):
        return f"…/{candidate.name}"
