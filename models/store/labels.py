"""Reference labels: what interpreters say each sample point is, saved as they say it.

A mixin of :class:`models.store.base.Store`. One row per (run, sample point,
interpreter, kind): an interpreter who changes their mind replaces their own
label, never another's. ``kind`` is ``interpretation`` (a first or blind second
look) or ``adjudication`` (the third look at a disagreement, by a reviewer).
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core.errors import InvalidInputError
from core.legend import LEGEND
from models.store.frames import utc_now

__all__ = ["LabelStore", "LABEL_KINDS", "LABEL_COLUMNS"]

logger = logging.getLogger(__name__)

LABEL_KINDS = ("interpretation", "adjudication")
"""Kinds of label: an interpreter's look at a point, or a reviewer's third look."""

LABEL_COLUMNS = [
    "run_id", "sample_id", "interpreter", "kind", "reference_class", "unsure", "source",
    "labelled_at",
]  # fmt: skip
"""Columns of :meth:`LabelStore.get_labels`."""

_CLASS_NAMES = frozenset(c.name for c in LEGEND)


class LabelStore:
    """The label half of a store (mixed into ``Store``, which gives ``tables`` and ``_write``)."""

    def put_label(
        self,
        run_id: str,
        sample_id: int,
        interpreter: str,
        reference_class: str,
        *,
        unsure: bool = False,
        kind: str = "interpretation",
        source: str = "interpret",
    ) -> None:
        """Save one label at once, replacing the same interpreter's earlier label of the point.

        Parameters
        ----------
        run_id
            The run whose reference sample the point belongs to.
        sample_id
            ``sample_id`` of the point in the run's ``reference_sample.gpkg``.
        interpreter
            Who labelled it (the token's team, or an e-mail from Collect Earth Online).
        reference_class
            A legend class name (``opium_poppy`` ...).
        unsure
            The interpreter marked the label as unsure (a third look is asked for).
        kind
            ``interpretation`` or ``adjudication``.
        source
            Where the label came from: ``interpret`` (the page), ``ceo``, ``test``.

        Raises
        ------
        InvalidInputError
            Unknown class or kind, or an empty interpreter.
        """
        if reference_class not in _CLASS_NAMES:
            raise InvalidInputError(
                f"label of point {sample_id}: {reference_class!r} is not a class; "
                f"use one of {sorted(_CLASS_NAMES)}"
            )
        if kind not in LABEL_KINDS:
            raise InvalidInputError(f"label kind {kind!r} is not one of {LABEL_KINDS}")
        if not str(interpreter).strip():
            raise InvalidInputError(f"label of point {sample_id}: no interpreter named")
        self.put_labels(
            [
                {
                    "run_id": str(run_id),
                    "sample_id": int(sample_id),
                    "interpreter": str(interpreter).strip(),
                    "kind": kind,
                    "reference_class": reference_class,
                    "unsure": int(bool(unsure)),
                    "source": source,
                }
            ]
        )

    def put_labels(self, rows: list[dict]) -> None:
        """Save many checked labels in one transaction (the rows :meth:`put_label` builds)."""
        if not rows:
            return
        table = self.tables["reference_labels"]
        now = utc_now()
        values = [{**row, "labelled_at": row.get("labelled_at") or now} for row in rows]
        with self._write() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=["run_id", "sample_id", "interpreter", "kind"],
                set_={
                    "reference_class": statement.excluded.reference_class,
                    "unsure": statement.excluded.unsure,
                    "source": statement.excluded.source,
                    "labelled_at": statement.excluded.labelled_at,
                },
            )
            conn.execute(statement, values)
        logger.debug("saved %d reference labels", len(values))

    def get_labels(self, run_id: str) -> pd.DataFrame:
        """Every label of a run's sample, oldest first, with :data:`LABEL_COLUMNS`."""
        table = self.tables["reference_labels"]
        query = (
            select(*(table.c[name] for name in LABEL_COLUMNS))
            .where(table.c.run_id == str(run_id))
            .order_by(table.c.labelled_at, table.c.fid)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=LABEL_COLUMNS)
        frame["sample_id"] = frame["sample_id"].astype("int64")
        frame["unsure"] = frame["unsure"].astype(bool)
        return frame
