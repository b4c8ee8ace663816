"""Zip uploads: a zipped Shapefile, or ODK Central's zipped CSV export with repeat groups.

ODK Central's "download all" export is a zip holding ``<form>.csv`` (one row per
submission) and one ``<form>-<repeat>.csv`` per repeat group, whose rows point
to the enclosing row through ``PARENT_KEY`` -> ``KEY`` (the submission, or the
enclosing repeat entry of a nested repeat). When plots are a repeat group
(several plots per visit), the plots are the repeat rows; every ancestor's
fields (date, team, village, township...) are joined onto each plot (see
:mod:`models.field.repeats`). Row numbers then count rows of the file that
holds the plots, and the report names it. A form profile's ``[form] plots``
names the repeat when several tables could hold plots.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.columns import header_key, resolve_columns
from models.field.mapping import rename_table, suggested_profile
from models.field.profile import FormProfile
from models.field.repeats import Parent, Table, inherit, unread_tables, with_visit_columns
from models.field.safety import check_file_size, safe_extract_zip
from models.field.tabular import plots_from_table, read_csv_table
from models.field.vector import read_shapefile_members

__all__ = ["read_zip_plots"]

logger = logging.getLogger(__name__)


def read_zip_plots(
    path: Path, *, max_rows: int, source: str | None = None, form: FormProfile | None = None
) -> RawPlots:
    """Read a zip upload: one Shapefile, or the CSV files of an ODK Central export.

    Raises
    ------
    InvalidInputError
        When the archive is hostile or corrupt, holds several Shapefiles, or neither a
        Shapefile nor a CSV with plot geometry and crops.
    """
    name = source or path.name
    check_file_size(path)
    with tempfile.TemporaryDirectory(prefix="admon-zip-") as tmp:
        members = safe_extract_zip(path, Path(tmp))
        tables = [m for m in members if m.suffix.lower() == ".csv"]
        if tables and not any(m.suffix.lower() == ".shp" for m in members):
            return _read_odk_zip(tables, name, max_rows, form)
        return read_shapefile_members(members, name=name, max_rows=max_rows)


def _has_key(column: object, key: str) -> bool:
    return header_key(column) == key


def _key_column(frame: pd.DataFrame, key: str) -> str | None:
    return next((c for c in frame.columns if _has_key(c, key)), None)


def _read_odk_zip(
    members: list[Path], name: str, max_rows: int, form: FormProfile | None
) -> RawPlots:
    tables: list[Table] = []
    notes: dict[str, list] = {}
    for member in sorted(members, key=lambda p: (len(p.stem), p.stem)):
        frame, shape_errors, _ = read_csv_table(
            member, max_rows=max_rows, source=f"{name}:{member.name}"
        )
        tables.append(Table(member.name, rename_table(frame, form)))
        notes[member.name] = shape_errors
    chosen, problems = _plots_table(tables, name, form)
    plots = plots_from_table(
        chosen.frame,
        name=name,
        kind="odk_zip",
        row_errors=notes[chosen.name],
        form=form,
        sheet=chosen.name if len(tables) > 1 else "",
    )
    if problems:
        plots.warnings.append((0, "file", f"several CSV files hold plots; read {chosen.name}"))
    parent_key = _key_column(chosen.frame, "parent_key")
    own_key = _key_column(chosen.frame, "key")
    used = [chosen.name]
    if parent_key is not None:
        if own_key is not None:  # the entry's own key identifies the plot (the visit's does not)
            plots.attributes.insert(0, "repeat_key", chosen.frame[own_key])
        link = chosen.frame[parent_key]
        plots.attributes, found = inherit(
            plots.attributes,
            link,
            lambda child, ln: _odk_parent(tables, child, ln),
            sheet=chosen.name,
            joined=used,
        )
        plots.warnings += found
    plots.warnings += unread_tables(tables, used)
    plots.warnings.append((0, "file", f"rows are numbered in {chosen.name}"))
    return plots


def _has_plots(table: Table, form: FormProfile | None) -> bool:
    columns = list(table.frame.columns)
    if form is not None and form.column_for("crop", columns):
        return True
    return "crop" in resolve_columns(columns) or "land_cover" in resolve_columns(columns)


def _plots_table(tables: list[Table], name: str, form: FormProfile | None) -> tuple[Table, bool]:
    if form is not None and form.plots:
        for table in tables:
            stem = table.name.rsplit(".", 1)[0]
            if stem == form.plots or stem.endswith(f"-{form.plots}"):
                return table, False
        raise InvalidInputError(
            f"{name}: the form profile {form.source} reads plots from the repeat {form.plots!r}, "
            f"but the archive holds {', '.join(t.name for t in tables)}; fix [form] plots"
        )
    with_plots = [t for t in tables if _has_plots(t, form)]
    if not with_plots:
        listing = "; ".join(
            f"{t.name}: {', '.join(map(str, t.frame.columns[:12]))}" for t in tables
        )
        repeats = [t for t in tables if _key_column(t.frame, "parent_key") is not None]
        widest = max(repeats or tables, key=lambda t: len(t.frame.columns))
        root = next((t for t in tables if t not in repeats), widest)
        both = with_visit_columns(widest.frame, root.frame)
        lines = suggested_profile(both, [str(c) for c in both.columns])
        if widest is not root:
            repeat = widest.name.rsplit(".", 1)[0].rsplit("-", 1)[-1]
            lines = ["[form]", f'plots = "{repeat}"', "", *lines]
        raise InvalidInputError(
            f"{name}: no CSV in the archive has a crop column ({listing}). A form profile says "
            "which question is which, e.g.\n\n" + "\n".join(lines) + "\n\nthen upload "
            "again with --form PROFILE.toml (or give the form's XLSForm)"
        )
    repeats = [t for t in with_plots if _key_column(t.frame, "parent_key") is not None]
    ordered = repeats + [t for t in with_plots if t not in repeats]
    return ordered[0], len(with_plots) > 1


def _odk_parent(tables: list[Table], child: str, link: pd.Series) -> Parent | None:
    """The table whose ``KEY`` holds the link's values (the submission or an enclosing repeat)."""
    wanted = set(link.astype(str).str.strip()) - {""}
    best, best_hits = None, 0
    for table in tables:
        key = _key_column(table.frame, "key")
        if table.name == child or key is None:
            continue
        hits = len(wanted & set(table.frame[key].astype(str).str.strip()))
        if hits > best_hits:
            best, best_hits = table, hits
    if best is None:
        return None
    key = _key_column(best.frame, "key")
    parent_key = _key_column(best.frame, "parent_key")
    frame = best.frame.assign(**{key: best.frame[key].astype(str).str.strip()})
    return Parent(
        table=Table(best.name, frame),
        key=key,
        next_link=parent_key,
        skip=tuple(c for c in (key, parent_key) if c),
    )
