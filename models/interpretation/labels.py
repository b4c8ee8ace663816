"""From the labels in the store to the work left and the final label of every point.

Each point gets a first look; the package's overlap points a second, blind one
by another interpreter (``next_point`` never hands a point to someone who
labelled it, and never shows anyone another's label). A reviewer's third look
(``adjudication``) settles a disagreement. The final label of a point is the
adjudication if there is one, else the first interpretation.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

import numpy as np
import pandas as pd

from models.interpretation.package import InterpretationPackage

__all__ = ["interpretations", "next_point", "progress", "final_labels"]

logger = logging.getLogger(__name__)


def interpretations(labels: pd.DataFrame) -> pd.DataFrame:
    """The interpreters' looks (not the adjudications), oldest first."""
    return labels[labels["kind"] == "interpretation"]


def _rotation(interpreter: str, n: int) -> int:
    """Where in the viewing order an interpreter starts, so people working at once
    label different points instead of the same ones twice."""
    return zlib.crc32(interpreter.encode("utf-8")) % n if n else 0


def next_point(
    package: InterpretationPackage, labels: pd.DataFrame, interpreter: str
) -> int | None:
    """The next point ``interpreter`` should label, or None when nothing is left for them.

    A point nobody has labelled, or an overlap point labelled once by someone else
    (the blind second look); never a point they labelled themselves.
    """
    looks = interpretations(labels)
    mine = set(looks.loc[looks["interpreter"] == interpreter, "sample_id"].astype(int))
    seen_by = looks.groupby("sample_id")["interpreter"].nunique().to_dict()
    order = package.order
    start = _rotation(interpreter, len(order))
    for sample_id in order[start:] + order[:start]:
        if sample_id in mine:
            continue
        n = seen_by.get(sample_id, 0)
        if n == 0 or (n == 1 and sample_id in package.overlap):
            return int(sample_id)
    return None


def progress(
    package: InterpretationPackage, labels: pd.DataFrame, interpreter: str | None = None
) -> dict[str, Any]:
    """How far the interpretation is: points labelled, the overlap's second looks, one's own."""
    looks = interpretations(labels)
    looks = looks[looks["sample_id"].isin(package.points.index)]
    seen_by = looks.groupby("sample_id")["interpreter"].nunique()
    overlap = sorted(package.overlap)
    answer = {
        "total": package.n_points,
        "labelled": int((seen_by >= 1).sum()),
        "overlap_total": len(overlap),
        "overlap_done": int((seen_by.reindex(overlap).fillna(0) >= 2).sum()),
        "interpreters": int(looks["interpreter"].nunique()),
        "adjudicated": int((labels["kind"] == "adjudication").sum()),
    }
    if interpreter is not None:
        answer["mine"] = int((looks["interpreter"] == interpreter).sum())
    return answer


def final_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per labelled point: its final class and how it was reached.

    Returns
    -------
    pandas.DataFrame
        ``sample_id, reference_class, unsure, n_interpreters, agreed, adjudicated``:
        ``agreed`` is None for a point looked at once, True/False when two or more
        interpreters looked; ``unsure`` when any look was marked unsure (and no
        adjudication settled it).
    """
    looks = interpretations(labels)
    columns = ["sample_id", "reference_class", "unsure", "n_interpreters", "agreed", "adjudicated"]
    if not len(looks) and not len(labels):
        return pd.DataFrame(columns=columns)
    rows = []
    adjudications = labels[labels["kind"] == "adjudication"].groupby("sample_id").last()
    for sample_id, group in looks.groupby("sample_id", sort=True):
        classes = group["reference_class"].tolist()
        row = {
            "sample_id": int(sample_id),
            "reference_class": classes[0],
            "unsure": bool(group["unsure"].any()),
            "n_interpreters": int(group["interpreter"].nunique()),
            "agreed": (len(set(classes)) == 1) if len(classes) > 1 else None,
            "adjudicated": False,
        }
        if sample_id in adjudications.index:
            row.update(
                reference_class=adjudications.loc[sample_id, "reference_class"],
                unsure=False,
                adjudicated=True,
            )
        rows.append(row)
    for sample_id in sorted(set(adjudications.index) - set(looks["sample_id"])):
        rows.append(
            {"sample_id": int(sample_id), "reference_class": adjudications.loc[sample_id,
             "reference_class"], "unsure": False, "n_interpreters": 0, "agreed": None,
             "adjudicated": True}
        )  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table["sample_id"] = table["sample_id"].astype(np.int64)
    return table
