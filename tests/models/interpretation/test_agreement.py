"""Agreement between interpreters, checked against a kappa worked by hand."""

from __future__ import annotations

import pytest

from models.interpretation import interpreter_agreement


def _hand_table(labels_of):
    """50 points seen twice: forest/forest 20, forest/fallow 5, fallow/forest 10, fallow/fallow 15.

    p_o = 35/50 = 0.7; p_e = (25*30 + 25*20) / 50² = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4.
    """
    pairs = [("forest", "forest")] * 20 + [("forest", "fallow_bare")] * 5
    pairs += [("fallow_bare", "forest")] * 10 + [("fallow_bare", "fallow_bare")] * 15
    rows = []
    for sample_id, (first, second) in enumerate(pairs, 1):
        rows += [(sample_id, "alice", first), (sample_id, "bob", second)]
    rows += [(100, "alice", "water")]  # one look only: not in the agreement
    return labels_of(rows)


def test_overall_agreement_and_kappa_are_those_worked_by_hand(labels_of):
    agreement = interpreter_agreement(_hand_table(labels_of))

    assert agreement.n_points == 50
    assert agreement.overall == pytest.approx(0.7)
    assert agreement.kappa == pytest.approx(0.4)
    forest = next(r for r in agreement.per_class if r["class"] == "forest")
    assert (forest["n_first"], forest["n_second"], forest["n_both"]) == (25, 30, 20)
    assert forest["agreement"] == pytest.approx(2 * 20 / 55)
    assert forest["kappa"] == pytest.approx(0.4)  # two classes: "forest or not" is the same table
    assert len(agreement.disagreements) == 15
    assert {d["first"] for d in agreement.disagreements} == {"forest", "fallow_bare"}
    assert [r["class"] for r in agreement.per_class] == ["forest", "fallow_bare"]


def test_no_double_look_gives_no_figure_rather_than_a_made_up_one(labels_of):
    agreement = interpreter_agreement(labels_of([(1, "alice", "forest"), (2, "bob", "water")]))

    assert (agreement.n_points, agreement.overall, agreement.kappa) == (0, None, None)
    assert agreement.to_dict()["n_disagreements"] == 0


def test_a_single_class_agreed_everywhere_has_no_kappa(labels_of):
    rows = [(i, who, "forest") for i in range(1, 6) for who in ("alice", "bob")]
    agreement = interpreter_agreement(labels_of(rows))

    assert agreement.overall == 1.0
    assert agreement.kappa is None  # chance agreement is 1: kappa is undefined
    assert agreement.to_dict()["kappa"] is None


def test_an_adjudicated_disagreement_is_marked_and_kept_out_of_the_figure(labels_of):
    labels = labels_of(
        [(1, "alice", "forest"), (1, "bob", "cannabis"), (1, "rev", "forest", "adjudication"),
         (2, "alice", "water"), (2, "bob", "water")]
    )  # fmt: skip
    agreement = interpreter_agreement(labels)

    assert agreement.n_points == 2 and agreement.overall == 0.5
    assert agreement.disagreements == [
        {"sample_id": 1, "first": "forest", "second": "cannabis", "unsure": False,
         "adjudicated": True}
    ]  # fmt: skip
    assert "disagreements" not in agreement.to_dict(with_disagreements=False)
