"""Who labels what next: every point once, the overlap twice and blind, never one's own again."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.interpretation import final_labels, next_point, progress
from models.interpretation.package import InterpretationPackage


def _package(n=10, overlap=(2, 5)) -> InterpretationPackage:
    ids = np.arange(1, n + 1)
    points = pd.DataFrame(
        {"sample_id": ids, "order": ids[::-1] - 1, "lon": 97.0, "lat": 21.0, "x": 0.0,
         "y": 0.0, "sources": ""}
    ).set_index("sample_id", drop=False)  # fmt: skip
    return InterpretationPackage(
        folder=None, run_id="r1", year=2025, crs="EPSG:32647", pixel_size_m=10.0, classes=[],
        overlap=frozenset(overlap), overlap_share=len(overlap) / n, points=points, sources={},
        profiles=pd.DataFrame(columns=["sample_id", "date", "ndvi"]),
    )  # fmt: skip


def _walk(package, labels_of, rows, interpreter):
    """Label with ``interpreter`` until nothing is left; return the ids in the order given."""
    seen = []
    while (sample_id := next_point(package, labels_of(rows), interpreter)) is not None:
        assert sample_id not in seen, "a point came back to the same interpreter"
        seen.append(sample_id)
        rows.append((sample_id, interpreter, "forest"))
    return seen


def test_one_interpreter_gets_every_point_once_and_the_second_only_the_overlap(labels_of):
    package, rows = _package(), []

    first = _walk(package, labels_of, rows, "alice")
    second = _walk(package, labels_of, rows, "bob")

    assert sorted(first) == list(range(1, 11))
    assert sorted(second) == [2, 5]
    state = progress(package, labels_of(rows), "bob")
    assert state == {"total": 10, "labelled": 10, "overlap_total": 2, "overlap_done": 2,
                     "interpreters": 2, "adjudicated": 0, "mine": 2}  # fmt: skip
    assert next_point(package, labels_of(rows), "carol") is None  # a third person: nothing left


def test_two_interpreters_at_once_start_in_different_places(labels_of):
    package = _package(n=200, overlap=())
    starts = {next_point(package, labels_of([]), name) for name in ("alice", "bob", "carol")}
    assert len(starts) == 3


def test_the_final_label_is_the_third_look_else_the_first(labels_of):
    labels = labels_of(
        [(1, "alice", "forest"), (1, "bob", "cannabis"), (2, "alice", "water"),
         (2, "bob", "water", "interpretation", True), (3, "alice", "forest"),
         (3, "bob", "opium_poppy"), (3, "rev", "opium_poppy", "adjudication")]
    )  # fmt: skip
    final = final_labels(labels).set_index("sample_id")

    assert final.loc[1, "reference_class"] == "forest" and not final.loc[1, "agreed"]
    assert final.loc[2, "reference_class"] == "water" and bool(final.loc[2, "unsure"])
    assert final.loc[3, "reference_class"] == "opium_poppy" and bool(final.loc[3, "adjudicated"])
    assert final["n_interpreters"].tolist() == [2, 2, 2]
