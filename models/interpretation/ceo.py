"""Collect Earth Online (CEO): the sample as a CEO project, and CEO's answers back as labels.

Export: CEO builds a project from a *plot* CSV and a *sample* CSV that it reads
with commas as delimiter, header names matched without case (``PLOTID``, ``LON``,
``LAT``; samples add ``SAMPLEID``), as its project loader
(``src/clj/collect_earth_online/generators/external_file.clj``) does. One plot
per admon point, one sample at its centre, the plot a square the size of a
map pixel. No map class is exported: the interpretation stays blind.

Import: CEO's "Download Sample Data" CSV (``dump-project-raw-data!`` in
``src/clj/collect_earth_online/db/projects.clj``): a UTF-8 byte-order mark,
then ``plotid, sampleid, sample_internal_id, lon, lat, email, flagged,
collection_time, analysis_duration, ...``, the uploaded plot columns as
``pl_<name>``, then one column per survey question holding the answer text,
and a trailing ``Guest Interpreters``. Several interpreters of a plot give one
row each. Older exports say ``plot_id``/``sample_id``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.errors import InvalidInputError
from core.io import atomic_write_text
from core.legend import LEGEND

__all__ = [
    "CEO_QUESTION",
    "write_ceo_project",
    "read_ceo_answers",
    "CeoAnswers",
]

logger = logging.getLogger(__name__)

CEO_QUESTION = "Land cover"
"""The survey question the exported CEO project asks (its answers are the legend's labels)."""

PROJECT_NOTES = """Collect Earth Online project for this reference sample

1. In CEO, create a project. Plot design: "CSV file", upload ceo_plots.csv;
   plot shape "square", plot size {pixel_size_m:g} m.
2. Sample design: "CSV file", upload ceo_samples.csv (one sample per plot, at its centre).
3. Survey: one question "{question}", single choice, with exactly these answers:
{answers}
4. Interpret. For a blind second look, assign the plots to two users (CEO's plot
   assignment / QA-QC); admon reads both answers and measures their agreement.
5. Download the sample data (CSV) and run
   admon interpret import-ceo <that file> --config <survey.toml> --year <year>
"""


def write_ceo_project(folder: str | Path, points: pd.DataFrame, *, pixel_size_m: float) -> None:
    """Write ``ceo_plots.csv``, ``ceo_samples.csv`` and ``ceo_project.txt`` into ``folder``.

    Parameters
    ----------
    folder
        The interpretation package folder.
    points
        ``sample_id, lon, lat`` (WGS84).
    pixel_size_m
        Plot size: one map pixel.
    """
    folder = Path(folder)
    plots = pd.DataFrame(
        {"PLOTID": points["sample_id"].astype(int), "LON": points["lon"], "LAT": points["lat"]}
    )
    samples = plots.assign(SAMPLEID=1)[["PLOTID", "SAMPLEID", "LON", "LAT"]]
    atomic_write_text(folder / "ceo_plots.csv", plots.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(folder / "ceo_samples.csv", samples.to_csv(index=False, lineterminator="\n"))
    answers = "\n".join(f"   - {c.label}" for c in LEGEND)
    atomic_write_text(
        folder / "ceo_project.txt",
        PROJECT_NOTES.format(pixel_size_m=pixel_size_m, question=CEO_QUESTION, answers=answers),
    )


@dataclass(frozen=True)
class CeoAnswers:
    """CEO's answers read as admon labels."""

    labels: pd.DataFrame
    """``sample_id, interpreter, reference_class, unsure`` (one row per plot and interpreter)."""
    flagged: list[int] = field(default_factory=list)
    """Plots an interpreter flagged as not interpretable (no label taken)."""
    unanswered: list[int] = field(default_factory=list)
    """Plots with no answer yet."""


def _answer_classes() -> dict[str, str]:
    lookup = {}
    for c in LEGEND:
        for spelling in (c.name, c.label, c.name.replace("_", " ")):
            lookup[spelling.strip().lower()] = c.name
    return lookup


def read_ceo_answers(source: str | Path | bytes, *, question: str = CEO_QUESTION) -> CeoAnswers:
    """Read a CEO sample data export as labels.

    Parameters
    ----------
    source
        The downloaded CSV (path or bytes).
    question
        The survey question whose answers are the land cover (default ``Land cover``).

    Returns
    -------
    CeoAnswers

    Raises
    ------
    InvalidInputError
        Not a CEO sample export, no such question column, or an answer that is not
        a class; the message names the row (1 = first data row), the field and the fix.
    """
    name = "CEO export" if isinstance(source, bytes) else Path(source).name
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{name}: not UTF-8 (byte {exc.start}); CEO writes UTF-8: use the file as "
            "downloaded, or save it again as 'CSV UTF-8'"
        ) from None
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"{name}: not a CSV file ({exc})") from None
    table.columns = [str(c).strip() for c in table.columns]
    lowered = {c.lower(): c for c in table.columns}
    plot = lowered.get("plotid") or lowered.get("plot_id")
    email = lowered.get("email")
    if plot is None or email is None:
        raise InvalidInputError(
            f"{name}: no plotid or email column; download the project's *sample* data "
            f"from Collect Earth Online (columns seen: {list(table.columns)[:12]})"
        )
    answer = next((c for c in table.columns if c.lower() == question.lower()), None)
    if answer is None:
        extra = [
            c for c in table.columns if c.lower() not in _CEO_COLUMNS and not c.startswith("pl_")
        ]
        raise InvalidInputError(
            f"{name}: no column for the question {question!r}; the questions seem to be "
            f"{extra}; pass --question with the one whose answers are the land cover"
        )
    classes = _answer_classes()
    rows, flagged, unanswered = [], [], []
    for number, record in enumerate(table.to_dict("records"), start=1):
        try:
            sample_id = int(float(record[plot]))
        except (ValueError, OverflowError):
            raise InvalidInputError(
                f"{name} row {number}: {plot} {record[plot]!r} is not a plot number"
            ) from None
        if str(record.get(lowered.get("flagged", ""), "")).strip().lower() == "true":
            flagged.append(sample_id)
            continue
        given = str(record[answer]).strip()
        if not given:
            unanswered.append(sample_id)
            continue
        reference_class = classes.get(given.lower())
        if reference_class is None:
            raise InvalidInputError(
                f"{name} row {number}: {answer} {given!r} is not a class; the CEO project's "
                f"answers must be {[c.label for c in LEGEND]}"
            )
        rows.append(
            {
                "sample_id": sample_id,
                "interpreter": str(record[email]).strip() or "ceo",
                "reference_class": reference_class,
                "unsure": _unsure(record, lowered),
            }
        )
    labels = pd.DataFrame(rows, columns=["sample_id", "interpreter", "reference_class", "unsure"])
    labels = labels.drop_duplicates(["sample_id", "interpreter"], keep="last")
    logger.info("%s: %d CEO answers, %d flagged, %d unanswered", name, len(labels),
                len(flagged), len(unanswered))  # fmt: skip
    return CeoAnswers(labels, flagged, unanswered)


_CEO_COLUMNS = {
    "plotid", "plot_id", "sampleid", "sample_id", "sample_internal_id", "lon", "lat", "email",
    "flagged", "collection_time", "analysis_duration", "used_geodash", "used_kml",
    "imagery_title", "imagery_attributions", "sample_geom", "confidence",
    "confidence_comment", "guest interpreters",
}  # fmt: skip


def _unsure(record: dict, lowered: dict[str, str]) -> bool:
    """CEO's optional confidence (0-100) below 50 reads as unsure."""
    column = lowered.get("confidence")
    if not column:
        return False
    try:
        return float(record[column]) < 50
    except (TypeError, ValueError):
        return False
