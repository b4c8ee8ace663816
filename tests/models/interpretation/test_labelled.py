"""The labelled sample keeps the design of the drawn one; a partial one says what it lacks."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from models.interpretation import labelled_sample


def test_a_fully_labelled_sample_keeps_every_design_column(sample, labels_of):
    labels = labels_of([(i, "alice", "forest") for i in sample["sample_id"]])

    labelled = labelled_sample(sample, labels)

    assert labelled.complete and labelled.share == 1.0
    for column in sample.columns:
        assert column in labelled.frame.columns
    assert (labelled.frame["stratum_sample_size"] == sample["stratum_sample_size"]).all()
    assert labelled.frame.crs == sample.crs


def test_a_partial_sample_is_incomplete_until_the_share_asked_for(sample, labels_of):
    labels = labels_of([(i, "alice", "forest") for i in (1, 2, 3, 4, 5, 7, 8, 9, 10)])

    assert not labelled_sample(sample, labels).complete
    partial = labelled_sample(sample, labels, min_share=0.7)

    assert partial.complete and partial.n_labelled == 9
    sizes = partial.frame.groupby(["district_id", "stratum"])["stratum_sample_size"].first()
    # D01 has points 1..6: 1, 3, 5 in stratum 1 and 2, 4 of stratum 4 labelled (6 not)
    assert sizes.loc[("D01", 1)] == 3 and sizes.loc[("D01", 4)] == 2
    row = partial.frame.set_index("sample_id").loc[2]
    assert row["inclusion_probability"] == pytest.approx(2 / 9000)


def test_labels_of_points_the_sample_does_not_have_are_refused(sample, labels_of):
    with pytest.raises(InvalidInputError, match=r"sample points \[99\]"):
        labelled_sample(sample, labels_of([(99, "alice", "forest")]))


def test_unresolved_disagreements_and_unsure_labels_are_counted(sample, labels_of):
    labels = labels_of([(i, "alice", "forest") for i in sample["sample_id"]]
                       + [(1, "bob", "water"), (2, "bob", "forest", "interpretation", True)])  # fmt: skip
    labelled = labelled_sample(sample, labels)
    assert (labelled.n_unresolved, labelled.n_unsure) == (1, 1)
