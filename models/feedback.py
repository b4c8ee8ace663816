"""Farmer feedback surveys of AD programmes: household questionnaires from ODK / KoboToolbox.

Programmes ask households (ASEAN work plan 20 c) whether they still grow opium
poppy or cannabis, what they earn, which alternative crops they adopted and how
satisfied they are. The questionnaires come as ODK Central or KoboToolbox CSV
exports, read with the field-data helpers of :mod:`models.field` (encoding,
delimiter, ``/`` and ``-`` group paths, metadata columns), one row per household.

``load_feedback`` validates each row (report rows count from 1 after the header);
``aggregate_feedback`` summarises per programme × district, with sample sizes and
Wilson intervals for the shares; ``feedback_beside_change`` puts the summaries next
to the satellite-based change rows of :func:`models.change.programme_change`.
"""

from __future__ import annotations

import io
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from geo.estimation.proportion import wilson_interval
from models.field.columns import export_flavour, header_key, header_leaves
from models.field.safety import check_file_size, decode_text
from models.field.tabular import sniff_delimiter
from models.report import ValidationReport

__all__ = [
    "FEEDBACK_COLUMNS",
    "FEEDBACK_SPELLINGS",
    "SATISFACTION_LABELS",
    "load_feedback",
    "aggregate_feedback",
    "feedback_beside_change",
    "wilson_interval",
]

logger = logging.getLogger(__name__)

FEEDBACK_SPELLINGS: dict[str, tuple[str, ...]] = {
    "programme_id": ("programme_id", "program_id", "programme", "programme_code", "ad_programme"),
    "district_id": ("district_id", "district_code", "district"),
    "village": ("village", "village_name", "village_id"),
    "household_id": ("household_id", "hh_id", "hhid", "household_code"),
    "survey_date": ("survey_date", "interview_date", "today", "date"),
    "household_size": ("household_size", "hh_size", "household_members", "members"),
    "grows_poppy": ("grows_poppy", "grows_opium_poppy", "still_grows_poppy", "poppy_grown"),
    "grows_cannabis": ("grows_cannabis", "still_grows_cannabis", "cannabis_grown"),
    "income_usd": ("income_usd", "household_income_usd", "annual_income_usd", "income"),
    "income_per_capita_usd": ("income_per_capita_usd", "income_per_person_usd"),
    "alternative_crops": (
        "alternative_crops",
        "alternative_crops_adopted",
        "alt_crops",
        "crops_adopted",
    ),
    "satisfaction": ("satisfaction", "satisfaction_score", "programme_satisfaction"),
}
"""Header spellings (whole header, or its last ``/``/``-`` path element) of each field."""

FEEDBACK_COLUMNS: tuple[str, ...] = (*FEEDBACK_SPELLINGS, "survey_year", "source_row")
"""Columns of the table :func:`load_feedback` returns."""

SATISFACTION_LABELS: dict[str, int] = {
    "very_dissatisfied": 1,
    "dissatisfied": 2,
    "neutral": 3,
    "satisfied": 4,
    "very_satisfied": 5,
}
"""Choice names (or labels) of the 1-5 satisfaction scale."""

_YES = {"yes", "y", "1", "true", "oui"}
_NO = {"no", "n", "0", "false", "non"}
_REQUIRED = ("programme_id", "district_id")
_MAX_ROWS = 200_000
_DATE_FALLBACK = ("submissiondate", "_submission_time", "end", "start")


def load_feedback(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, Any]:
    """Read and validate a household feedback questionnaire export.

    Parameters
    ----------
    path
        ODK Central or KoboToolbox CSV (``,`` or ``;``; headers with group paths such as
        ``cultivation/grows_poppy`` or ``cultivation-grows_poppy``), one household per row.
        Yes/no answers as choice names or labels (``yes``/``no``/``1``/``0``); alternative
        crops as a space-separated select_multiple, or Kobo's split ``.../<crop>`` 0/1
        columns; satisfaction 1-5 or its labels (:data:`SATISFACTION_LABELS`).

    Returns
    -------
    feedback : pandas.DataFrame
        Accepted households with :data:`FEEDBACK_COLUMNS` (yes/no as 1.0/0.0, NaN when not
        answered; ``alternative_crops`` a ``;``-joined string, ``""`` for none).
    report : models.report.ValidationReport

    Raises
    ------
    InvalidInputError
        Unreadable file, or no programme or district column.

    Examples
    --------
    >>> feedback, report = load_feedback("feedback/2025/household_survey.csv")  # doctest: +SKIP
    """

    source = Path(path)
    if not source.exists():
        raise InvalidInputError(f"{source}: no such feedback file")
    check_file_size(source)
    text, encoding_warning = decode_text(source.read_bytes(), source.name)
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=sniff_delimiter(text),
            dtype=str,
            keep_default_na=False,
            nrows=_MAX_ROWS,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"{source.name}: not a readable CSV table ({exc})") from None
    table.columns = [str(c).strip() for c in table.columns]
    columns = _resolve(table.columns)
    missing = [f for f in _REQUIRED if f not in columns]
    if missing:
        raise InvalidInputError(
            f"{source.name}: no column for {', '.join(missing)}; a feedback export needs the "
            f"programme and district of each household (e.g. a 'programme_id' and a 'district_id' "
            f"question); found: {', '.join(table.columns)}"
        )
    report = ValidationReport(source=source.name, total_rows=len(table))
    if encoding_warning:
        report.warn(0, "file", encoding_warning)
    split_crops = _split_crop_columns(table.columns, columns.get("alternative_crops"))
    records, seen = [], {}
    for row_no, (_, row) in enumerate(table.iterrows(), start=1):
        record = _parse_row(row, columns, split_crops, row_no, report)
        key = (record["programme_id"], record["household_id"])
        if record["household_id"] and key in seen:
            report.reject(
                row_no,
                columns["household_id"],
                f"household {key[1]!r} of {key[0]} already answered in row {seen[key]}; "
                "remove the duplicate submission",
            )
        elif record["household_id"]:
            seen[key] = row_no
        if row_no not in report.rejected_rows:
            records.append(record)
    feedback = pd.DataFrame(records, columns=list(FEEDBACK_COLUMNS))
    logger.info(
        "%s: %d households accepted, %d rejected (%s export)",
        source.name,
        report.accepted,
        report.rejected,
        export_flavour(table.columns),
    )
    return feedback, report


def _resolve(headers: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for whole_only in (True, False):
        for field, spellings in FEEDBACK_SPELLINGS.items():
            if field in found:
                continue
            for column in headers:
                keys = [header_key(column)] if whole_only else header_leaves(column)[1:]
                if column not in found.values() and any(s in keys for s in spellings):
                    found[field] = column
                    break
    if "survey_date" not in found:  # fall back on the submission metadata of the export
        for column in headers:
            if header_key(column) in _DATE_FALLBACK:
                found["survey_date"] = column
                break
    return found


def _split_crop_columns(headers: list[str], parent: str | None) -> dict[str, str]:
    """Kobo's 'select_multiple as separate columns': ``group/alternative_crops/coffee`` → coffee."""
    prefixes = [header_key(parent)] if parent else []
    prefixes += [s for s in FEEDBACK_SPELLINGS["alternative_crops"]]
    split = {}
    for column in headers:
        key = header_key(column)
        for prefix in prefixes:
            for sep in ("/", "-"):
                head, _, choice = key.rpartition(sep)
                if choice and (head == prefix or head.endswith(sep + prefix)):
                    split[column] = choice
    return split


def _parse_row(
    row: pd.Series, columns: dict[str, str], split_crops: dict[str, str], row_no: int, report: Any
) -> dict[str, Any]:
    def value(field: str) -> str:
        return str(row[columns[field]]).strip() if field in columns else ""

    record: dict[str, Any] = {"source_row": row_no}
    for field in ("programme_id", "district_id", "village", "household_id"):
        record[field] = value(field) or None
    for field in _REQUIRED:
        if not record[field]:
            report.reject(
                row_no,
                columns[field],
                f"{field} is empty; say which {field[:-3]} the household belongs to",
            )
    for field in ("grows_poppy", "grows_cannabis"):
        answer = value(field).casefold()
        record[field] = 1.0 if answer in _YES else 0.0 if answer in _NO else np.nan
        if answer and math.isnan(record[field]):
            report.reject(row_no, columns[field], f"{answer!r} is not a yes/no answer")
    for field in ("income_usd", "income_per_capita_usd", "household_size"):
        record[field] = _non_negative(value(field), field, columns, row_no, report)
    record["satisfaction"] = _satisfaction(value("satisfaction"), columns, row_no, report)
    if "alternative_crops" in columns:
        crops = value("alternative_crops").replace(";", " ").replace(",", " ").split()
    else:
        crops = [
            c for col, c in split_crops.items() if str(row[col]).strip() in {"1", "True", "true"}
        ]
    record["alternative_crops"] = ";".join(sorted({c.casefold() for c in crops}))
    date = pd.to_datetime(value("survey_date")[:10] or None, errors="coerce")
    record["survey_date"] = None if pd.isna(date) else date.date()
    record["survey_year"] = np.nan if pd.isna(date) else float(date.year)
    return record


def _non_negative(
    text: str, field: str, columns: dict[str, str], row_no: int, report: Any
) -> float:
    if not text:
        return np.nan
    try:
        number = float(text)
    except ValueError:
        report.reject(
            row_no, columns[field], f"{text!r} is not a number; leave it empty if unknown"
        )
        return np.nan
    if number < 0:
        report.reject(row_no, columns[field], f"{number} is negative")
    return number


def _satisfaction(text: str, columns: dict[str, str], row_no: int, report: Any) -> float:
    if not text:
        return np.nan
    label = header_key(text).replace("-", "_")
    if label in SATISFACTION_LABELS:
        return float(SATISFACTION_LABELS[label])
    try:
        score = float(text)
    except ValueError:
        score = np.nan
    if not (1 <= score <= 5 and score == int(score)):
        report.reject(
            row_no,
            columns["satisfaction"],
            f"{text!r} is not a satisfaction score 1-5 or one of {', '.join(SATISFACTION_LABELS)}",
        )
        return np.nan
    return score


def aggregate_feedback(feedback: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Summarise household feedback per programme × district (and ``"ALL"`` per programme).

    Shares count only households that answered the question (``n_*`` columns); the
    intervals are Wilson score intervals, which behave at shares of 0 and 1 and at small
    samples.

    Returns
    -------
    pandas.DataFrame
        ``programme_id, district_id, n_households, n_poppy_answers, share_growing_poppy,
        share_growing_poppy_ci_low, share_growing_poppy_ci_high`` (and the same for
        cannabis), ``mean_income_usd, n_income, mean_income_per_capita_usd,
        share_adopted_alternative, n_alternative_answers, mean_satisfaction,
        n_satisfaction, survey_years``.
    """
    groups = [(key, part) for key, part in feedback.groupby(["programme_id", "district_id"])]
    for pid, part in feedback.groupby("programme_id"):
        if part["district_id"].nunique() > 1:
            groups.append(((pid, "ALL"), part))
    rows = [_summary(pid, did, part, confidence) for (pid, did), part in groups]
    return pd.DataFrame(rows).sort_values(["programme_id", "district_id"], ignore_index=True)


def _summary(pid: str, did: str, part: pd.DataFrame, confidence: float) -> dict[str, Any]:
    row: dict[str, Any] = {"programme_id": pid, "district_id": did, "n_households": len(part)}
    for field, name in (("grows_poppy", "poppy"), ("grows_cannabis", "cannabis")):
        answers = part[field].dropna()
        low, high = wilson_interval(int(answers.sum()), len(answers), confidence)
        row |= {
            f"n_{name}_answers": len(answers),
            f"share_growing_{name}": answers.mean() if len(answers) else np.nan,
            f"share_growing_{name}_ci_low": low,
            f"share_growing_{name}_ci_high": high,
        }
    row["mean_income_usd"] = part["income_usd"].mean()
    row["n_income"] = int(part["income_usd"].notna().sum())
    row["mean_income_per_capita_usd"] = part["income_per_capita_usd"].mean()
    adopted = part["alternative_crops"].dropna()
    row["share_adopted_alternative"] = (adopted != "").mean() if len(adopted) else np.nan
    row["n_alternative_answers"] = len(adopted)
    row["mean_satisfaction"] = part["satisfaction"].mean()
    row["n_satisfaction"] = int(part["satisfaction"].notna().sum())
    years = sorted(int(y) for y in part["survey_year"].dropna().unique())
    row["survey_years"] = ";".join(map(str, years))
    return row


def feedback_beside_change(change: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Add the feedback summary of each programme × district to the change rows.

    The crop-specific share (households still growing that crop, with its interval)
    goes to the row of that crop as ``feedback_share_growing`` (and ``_ci_low``/``_ci_high``);
    income, adoption and satisfaction go to every row. Rows without feedback get NaN.
    """
    per_crop = []
    for crop, name in (("opium_poppy", "poppy"), ("cannabis", "cannabis")):
        part = summary.rename(
            columns={
                f"share_growing_{name}": "feedback_share_growing",
                f"share_growing_{name}_ci_low": "feedback_share_growing_ci_low",
                f"share_growing_{name}_ci_high": "feedback_share_growing_ci_high",
                f"n_{name}_answers": "feedback_n_answers",
            }
        )
        part = part.assign(crop=crop)
        keep = [
            "programme_id",
            "district_id",
            "crop",
            "n_households",
            "feedback_n_answers",
            "feedback_share_growing",
            "feedback_share_growing_ci_low",
            "feedback_share_growing_ci_high",
            "mean_income_usd",
            "share_adopted_alternative",
            "mean_satisfaction",
        ]
        per_crop.append(part[keep])
    feedback = pd.concat(per_crop, ignore_index=True).rename(
        columns={"n_households": "feedback_n_households"}
    )
    return change.merge(feedback, on=["programme_id", "district_id", "crop"], how="left")
