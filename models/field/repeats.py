"""Repeat groups: plots recorded as a repeat inside a visit inherit the visit's fields.

The usual form is one visit (village, team, date, township) and then a repeat
group with one entry per field. Both exporters put the repeat in its own table:

- **KoboToolbox XLSX** (formpack, as KPI calls it): one sheet per repeat, named
  after the repeat (``plot``); each row has ``_index`` (its number in that
  sheet), ``_parent_index`` (the parent row's ``_index``) and
  ``_parent_table_name`` (the parent section: the form title for a first-level
  repeat, the parent repeat's name for a nested one). Sheet names are cut to
  31 characters (28 + ``...``) and ``[]*?:\\/`` become ``_``.
- **ODK Central** ``submissions.csv.zip`` (central-backend's briefcase export):
  ``<form>.csv`` plus ``<form>-<repeat>.csv``; each repeat row has ``KEY`` and
  ``PARENT_KEY`` (the enclosing row's ``KEY``: the submission for a first-level
  repeat, the enclosing repeat entry for a nested one).

:func:`inherit` walks up from the plots' table to the submission and adds every
column of each ancestor that the plot row does not already have; the join
columns themselves are not repeated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

__all__ = ["Table", "Parent", "inherit", "unread_tables", "xls_sheet_name", "with_visit_columns"]

_FORBIDDEN = str.maketrans({c: "_" for c in "[]*?:\\/"})


@dataclass(frozen=True)
class Table:
    """One sheet or CSV member, its rows indexed by 1-based data row."""

    name: str
    """Sheet name or member file name."""
    frame: pd.DataFrame
    """Cells as text."""


@dataclass(frozen=True)
class Parent:
    """Where the rows a link points to live."""

    table: Table
    """The parent table."""
    key: str
    """Its column the link values match (``_index``, ``KEY``)."""
    next_link: str | None
    """Its own link column to its parent, ``None`` for the submission table."""
    skip: tuple[str, ...]
    """Join columns not to copy onto the plots."""


def xls_sheet_name(section: str) -> str:
    """The sheet name formpack gives a section (``unique_name_for_xls`` without the collision
    counter): forbidden characters as ``_``, quotes at the ends as ``_``, 31 characters at most.

    Examples
    --------
    >>> xls_sheet_name("Opium poppy and cannabis plot survey (demo)")
    'Opium poppy and cannabis plo...'
    """
    name = section.translate(_FORBIDDEN)
    if name.startswith("'"):
        name = "_" + name[1:]
    if name.endswith("'"):
        name = name[:-1] + "_"
    return name if len(name) <= 31 else name[:28] + "..."


def inherit(
    plots: pd.DataFrame,
    link: pd.Series,
    parent_of: Callable[[str, pd.Series], Parent | None],
    *,
    sheet: str,
    joined: list[str] | None = None,
) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Add each ancestor's columns to the plot rows; return the table and warnings.

    Parameters
    ----------
    plots
        The plot rows (a repeat sheet or CSV), indexed by their data row numbers.
    link
        Each plot row's pointer to its parent row (``_parent_index``, ``PARENT_KEY``).
    parent_of
        Given the child table's name and its link values, the parent table holding them, or
        ``None`` when there is none.
    sheet
        Name of the plots' table, for warnings.
    joined
        Receives the names of the ancestor tables whose columns were added.
    """
    warnings: list[tuple[int, str, str]] = []
    link_name = str(link.name)
    seen: set[str] = {sheet}
    child = sheet
    while True:
        parent = parent_of(child, link)
        if parent is None or parent.table.name in seen:
            break
        seen.add(parent.table.name)
        child = parent.table.name
        if joined is not None:
            joined.append(child)
        rows = parent.table.frame.drop_duplicates(subset=parent.key).set_index(parent.key)
        matched = rows.reindex(link.astype(str).str.strip().tolist())
        matched.index = plots.index
        for row in plots.index[matched.isna().all(axis=1).to_numpy()]:
            warnings.append(
                (
                    int(row),
                    link_name,
                    f"no row of {parent.table.name!r} has {parent.key} {link[row]!r}; the "
                    "visit's fields are missing for this plot",
                )
            )
        extra = [c for c in matched.columns if c not in plots.columns and c not in parent.skip]
        plots = pd.concat([plots, matched[extra].fillna("")], axis=1)
        if parent.next_link is None or parent.next_link not in matched.columns:
            break
        link = matched[parent.next_link].fillna("").rename(parent.next_link)
        link_name = f"{parent.table.name}:{parent.next_link}"
    if warnings:
        warnings.append((0, "sheet", f"{len(warnings)} plot rows of {sheet!r} lack their visit"))
    return plots, warnings


def with_visit_columns(plots: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """The plot rows' columns, then the visit table's others: what a plot will inherit, for advice
    on a profile (rows are not aligned)."""
    extra = visits[[c for c in visits.columns if c not in plots.columns]].reset_index(drop=True)
    return pd.concat([plots.reset_index(drop=True), extra], axis=1)


def unread_tables(tables: list[Table], used: list[str]) -> list[tuple[int, str, str]]:
    """Warnings for tables that are neither the plots nor their ancestors (other repeat groups:
    kept in the stored upload, not read as plots)."""
    return [
        (
            0,
            "sheet",
            f"{t.name!r} ({len(t.frame)} rows) not read: neither the plots nor their visit",
        )
        for t in tables
        if t.name not in used and len(t.frame)
    ]
