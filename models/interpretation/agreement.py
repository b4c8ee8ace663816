"""How far two interpreters agree on the same points: overall, Cohen's kappa, per class.

Every point looked at by two or more interpreters counts once, with its first
two looks (in the order they were made). Per class, the agreement is the
*specific* agreement ``2 n_both / (n_first + n_second)`` and kappa is Cohen's
kappa of "this class or not" (Cohen 1960; scikit-learn's ``cohen_kappa_score``).
A kappa that cannot be computed (one class only, or no double look) is None,
never a made-up number.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from core.legend import LEGEND
from models.interpretation.labels import interpretations

__all__ = ["Agreement", "interpreter_agreement", "double_looks"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Agreement:
    """Agreement between interpreters on the points both labelled."""

    n_points: int
    """Points with two looks."""
    overall: float | None
    """Share of those points given the same class (None without any)."""
    kappa: float | None
    """Cohen's kappa over every class (None when not computable)."""
    per_class: list[dict[str, Any]] = field(default_factory=list)
    """``{class, n_first, n_second, n_both, agreement, kappa}`` per legend class seen."""
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    """``{sample_id, first, second, unsure, adjudicated}`` for the third look."""

    def to_dict(self, *, with_disagreements: bool = True) -> dict[str, Any]:
        """JSON-ready (no NaN)."""
        answer = {
            "n_points": self.n_points,
            "overall": _clean(self.overall),
            "kappa": _clean(self.kappa),
            "per_class": [{k: _clean(v) for k, v in row.items()} for row in self.per_class],
        }
        if with_disagreements:
            answer["disagreements"] = self.disagreements
        answer["n_disagreements"] = len(self.disagreements)
        return answer


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.floating):
        return _clean(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def double_looks(labels: pd.DataFrame) -> pd.DataFrame:
    """``sample_id, first, second, unsure`` for each point two interpreters looked at."""
    looks = interpretations(labels).drop_duplicates(["sample_id", "interpreter"])
    rows = []
    for sample_id, group in looks.groupby("sample_id", sort=True):
        if len(group) < 2:
            continue
        rows.append(
            {
                "sample_id": int(sample_id),
                "first": group["reference_class"].iloc[0],
                "second": group["reference_class"].iloc[1],
                "unsure": bool(group["unsure"].iloc[:2].any()),
            }
        )
    return pd.DataFrame(rows, columns=["sample_id", "first", "second", "unsure"])


def _kappa(first: np.ndarray, second: np.ndarray) -> float | None:
    if len(first) == 0 or len(set(first) | set(second)) < 2:
        return None
    value = float(cohen_kappa_score(first, second))
    return value if math.isfinite(value) else None


def interpreter_agreement(labels: pd.DataFrame) -> Agreement:
    """Agreement between interpreters, from the store's labels of one run.

    Parameters
    ----------
    labels : pandas.DataFrame
        ``Store.get_labels(run_id)``.

    Returns
    -------
    Agreement

    Examples
    --------
    >>> interpreter_agreement(store.get_labels(run_id)).kappa  # doctest: +SKIP
    0.83
    """
    pairs = double_looks(labels)
    adjudicated = set(labels.loc[labels["kind"] == "adjudication", "sample_id"].astype(int))
    if not len(pairs):
        return Agreement(0, None, None)
    first, second = pairs["first"].to_numpy(), pairs["second"].to_numpy()
    same = first == second
    per_class = []
    for c in LEGEND:
        in_first, in_second = first == c.name, second == c.name
        n_first, n_second = int(in_first.sum()), int(in_second.sum())
        if n_first + n_second == 0:
            continue
        n_both = int((in_first & in_second).sum())
        per_class.append(
            {
                "class": c.name,
                "n_first": n_first,
                "n_second": n_second,
                "n_both": n_both,
                "agreement": 2 * n_both / (n_first + n_second),
                "kappa": _kappa(in_first, in_second),
            }
        )
    disagreements = [
        {
            "sample_id": int(r.sample_id),
            "first": r.first,
            "second": r.second,
            "unsure": bool(r.unsure),
            "adjudicated": int(r.sample_id) in adjudicated,
        }
        for r in pairs[~same].itertuples(index=False)
    ]
    return Agreement(
        n_points=len(pairs),
        overall=float(same.mean()),
        kappa=_kappa(first, second),
        per_class=per_class,
        disagreements=disagreements,
    )
