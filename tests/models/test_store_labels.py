"""Reference labels in the store: saved at once, one per interpreter and kind, on both backends."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from models.store import LABEL_COLUMNS, open_store


@pytest.fixture(params=["geopackage", pytest.param("postgis", marks=pytest.mark.postgis)])
def store(request, tmp_path):
    target = request.getfixturevalue("postgis_url") if request.param == "postgis" else None
    with open_store(target or tmp_path / "store.gpkg", workspace=tmp_path) as opened:
        yield opened


def test_a_label_is_kept_and_a_changed_mind_replaces_only_ones_own(store):
    store.put_label("2025-abc", 7, "alice", "forest")
    store.put_label("2025-abc", 7, "bob", "opium_poppy", unsure=True)
    store.put_label("2025-abc", 7, "alice", "fallow_bare")

    labels = store.get_labels("2025-abc")

    assert list(labels.columns) == LABEL_COLUMNS
    mine = labels.set_index("interpreter")
    assert len(labels) == 2
    assert mine.loc["alice", "reference_class"] == "fallow_bare"
    assert mine.loc["bob", "reference_class"] == "opium_poppy"
    assert bool(mine.loc["bob", "unsure"]) and not bool(mine.loc["alice", "unsure"])
    assert set(labels["kind"]) == {"interpretation"}


def test_an_adjudication_sits_beside_the_interpretations_and_runs_do_not_mix(store):
    store.put_label("2025-abc", 3, "alice", "forest")
    store.put_label("2025-abc", 3, "rev", "cannabis", kind="adjudication")
    store.put_label("2024-xyz", 3, "alice", "water")

    labels = store.get_labels("2025-abc")

    assert sorted(labels["kind"]) == ["adjudication", "interpretation"]
    assert store.get_labels("2024-xyz")["reference_class"].tolist() == ["water"]
    assert store.get_labels("2023-none").empty


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"reference_class": "banana"}, "'banana' is not a class"),
        ({"kind": "guess"}, "label kind 'guess'"),
        ({"interpreter": "  "}, "no interpreter named"),
    ],
)
def test_a_bad_label_is_refused_with_what_to_send(store, kwargs, says):
    label = {"run_id": "r", "sample_id": 1, "interpreter": "alice", "reference_class": "forest"}
    label.update(kwargs)
    kind = label.pop("kind", "interpretation")
    with pytest.raises(InvalidInputError, match=says):
        store.put_label(**label, kind=kind)
    assert store.get_labels("r").empty
