"""Excel adapter: KoboToolbox's XLSX export with its repeat sheets (and any workbook laid out like
the CSVs).

KoboToolbox (formpack) writes one sheet per section: the main sheet, named
after the form title, has one row per submission; each repeat group has its own
sheet (named after the repeat) whose rows point to their parent row through
``_parent_index`` -> ``_index`` (see :mod:`models.field.repeats`). The plots are
the rows of the sheet that holds the crop question (or the sheet the form
profile's ``[form] plots`` names); a repeat sheet's rows inherit the visit's
fields (date, team, village, township). Row numbers count that sheet's data
rows (row 1 = spreadsheet row 2) and the report names the sheet.

Cells are turned into the text the CSV export would hold (dates as ISO 8601,
whole numbers without ``.0``): Kobo's web-UI default writes typed cells, the
API default text. The workbook is a zip of XML parts: its member sizes are
checked before openpyxl opens it, and openpyxl parses the XML with defusedxml
(a dependency of admon).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path

import openpyxl
import pandas as pd

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.columns import header_key, resolve_columns
from models.field.mapping import rename_table, suggested_profile
from models.field.profile import FormProfile
from models.field.repeats import (
    Parent,
    Table,
    inherit,
    with_visit_columns,
    xls_sheet_name,
)
from models.field.safety import check_file_size, check_zip
from models.field.tabular import drop_hxl_row, plots_from_table, unique_headers
from models.field.xlsform import looks_like_xlsform

__all__ = ["read_xlsx_plots", "cell_text"]

logger = logging.getLogger(__name__)

_LINKS = ("_index", "_parent_table_name", "_parent_index")


def cell_text(value: object) -> str:
    """Return a cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def read_xlsx_plots(
    path: Path, *, max_rows: int, source: str | None = None, form: FormProfile | None = None
) -> RawPlots:
    """Read the plots of an ``.xlsx`` workbook (the sheet holding them, joined to its visits).

    Raises
    ------
    InvalidInputError
        When the workbook is hostile or corrupt, empty, has more than ``max_rows`` rows in a
        sheet, no sheet with a crop column, or the profile's plots sheet is missing.
    """
    name = source or path.name
    tables, extra_warnings = _read_sheets(path, name, max_rows, form)
    if {"survey", "choices"} <= {t.name for t in tables} and looks_like_xlsform(path):
        raise InvalidInputError(
            f"{name} is a form (an XLSForm: survey and choices sheets), not its data; give it "
            "as the form profile (--form, or the upload page's form profile field) and upload "
            "the export of the submissions"
        )
    chosen = _plots_sheet(tables, name, form)
    raw = plots_from_table(
        chosen.frame,
        name=name,
        kind="xlsx",
        warnings=extra_warnings,
        form=form,
        sheet=chosen.name if len(tables) > 1 else "",
    )
    if len(tables) > 1:
        raw.warnings.append((0, "sheet", f"plots read from sheet {chosen.name!r}"))
    if "_parent_index" in {header_key(c) for c in chosen.frame.columns}:
        link = chosen.frame[_column(chosen.frame, "_parent_index")].rename("_parent_index")
        raw.attributes.insert(0, "repeat_key", _repeat_keys(chosen, tables[0]))
        raw.attributes, found = inherit(
            raw.attributes,
            link,
            lambda child, ln: _kobo_parent(tables, child, ln),
            sheet=chosen.name,
        )
        raw.warnings += found
    return raw


def _read_sheets(path: Path, name: str, max_rows: int, form: FormProfile | None):
    check_file_size(path)
    check_zip(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and data validation
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, XML errors...
        raise InvalidInputError(f"{name}: not a readable Excel workbook ({exc})") from None
    tables, notes = [], []
    try:
        for sheet in workbook.worksheets:
            table = _sheet_table(sheet, name, max_rows)
            if table is None:
                continue
            table, hxl = drop_hxl_row(table)
            if hxl:
                notes.append((0, "sheet", f"sheet {sheet.title!r}: {hxl[2]}"))
            tables.append(Table(sheet.title, rename_table(table, form)))
    finally:
        workbook.close()
    if not tables:
        raise InvalidInputError(f"{name}: every sheet is empty")
    return tables, notes


def _sheet_table(sheet, name: str, max_rows: int) -> pd.DataFrame | None:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header or not any(h is not None for h in header):
        return None
    columns = unique_headers([cell_text(h) or f"column_{i + 1}" for i, h in enumerate(header)])
    records, numbers = [], []
    for row, cells in enumerate(rows, start=1):
        if row > max_rows:
            raise InvalidInputError(
                f"{name}: sheet {sheet.title!r} has more than {max_rows:,} data rows; split the "
                "workbook or raise max_rows"
            )
        texts = [cell_text(c) for c in cells[: len(columns)]]
        if any(texts):
            records.append(texts + [""] * (len(columns) - len(texts)))
            numbers.append(row)
    return pd.DataFrame(records, columns=columns, index=pd.Index(numbers, dtype="int64"), dtype=str)


def _has_crop(table: Table, form: FormProfile | None) -> bool:
    columns = list(table.frame.columns)
    if form is not None and form.column_for("crop", columns):
        return True
    found = resolve_columns(columns)
    return "crop" in found or "land_cover" in found


def _plots_sheet(tables: list[Table], name: str, form: FormProfile | None) -> Table:
    if form is not None and form.plots:
        wanted = {form.plots, xls_sheet_name(form.plots)}
        for table in tables:
            if table.name in wanted:
                return table
        raise InvalidInputError(
            f"{name}: the form profile {form.source} reads plots from {form.plots!r}, but the "
            f"sheets are {', '.join(repr(t.name) for t in tables)}; fix [form] plots"
        )
    with_crop = [t for t in tables if _has_crop(t, form)]
    if len(tables) == 1 or not with_crop:
        if len(tables) > 1:
            raise _no_plot_sheet(tables, name)
        return tables[0]
    # a repeat sheet with the crop question is where plots are; else the first such sheet
    repeats = [t for t in with_crop if "_parent_index" in {header_key(c) for c in t.frame.columns}]
    return (repeats or with_crop)[0]


def _no_plot_sheet(tables: list[Table], name: str) -> InvalidInputError:
    listing = "; ".join(
        f"{t.name!r} ({len(t.frame)} rows: {', '.join(map(str, t.frame.columns[:12]))})"
        for t in tables
    )
    repeats = [t for t in tables if "_parent_index" in {header_key(c) for c in t.frame.columns}]
    widest = max(repeats or tables, key=lambda t: len(t.frame.columns))
    both = with_visit_columns(widest.frame, tables[0].frame)  # plots inherit the visit's questions
    lines = ["[form]", f'plots = "{widest.name}"', ""]
    lines += suggested_profile(both, [str(c) for c in both.columns])
    return InvalidInputError(
        f"{name}: no sheet has a crop column. Sheets: {listing}. A form profile says where the "
        "plots are and which question is which, e.g.\n\n"
        + "\n".join(lines)
        + "\n\nthen upload again with --form PROFILE.toml (or give the form's XLSForm)"
    )


def _repeat_keys(sheet: Table, main: Table) -> pd.Series:
    """Each repeat entry's key, built as ODK Central builds ``KEY``: the submission's uuid, then
    ``<repeat>[n]`` with n counting the entries of the same parent row from 1 (a parent that is
    itself a repeat entry adds ``<parent>[its _index]``)."""
    frame = sheet.frame
    uuid_column = next((c for c in frame.columns if header_key(c) == "_submission__uuid"), None)
    uuids = frame[uuid_column] if uuid_column else pd.Series("", index=frame.index)
    parent = frame[_column(frame, "_parent_index")].astype(str)
    number = frame.groupby(parent, sort=False).cumcount() + 1
    parent_name = frame.get("_parent_table_name", pd.Series("", index=frame.index)).astype(str)
    nested = ~parent_name.isin(["", main.name]) & (parent_name.map(xls_sheet_name) != main.name)
    prefix = uuids.astype(str) + "/"
    prefix = prefix.where(~nested, prefix + parent_name + "[" + parent + "]/")
    return prefix + sheet.name + "[" + number.astype(str) + "]"


def _column(frame: pd.DataFrame, key: str) -> str:
    return next(c for c in frame.columns if header_key(c) == key)


def _kobo_parent(tables: list[Table], child_name: str, link: pd.Series) -> Parent | None:
    """The sheet a ``_parent_index`` column points into, named by ``_parent_table_name``."""
    child = next(t for t in tables if t.name == child_name)
    names = []
    if "_parent_table_name" in child.frame.columns:
        names = [n for n in child.frame["_parent_table_name"].astype(str).str.strip() if n][:1]
    wanted = {xls_sheet_name(n) for n in names} | set(names)
    candidates = [t for t in tables if t.name in wanted and t is not child]
    candidates = candidates or [t for t in tables[:1] if t is not child]
    if not candidates or "_index" not in candidates[0].frame.columns:
        return None
    parent = candidates[0]
    nested = "_parent_index" in parent.frame.columns
    return Parent(
        table=parent, key="_index", next_link="_parent_index" if nested else None, skip=_LINKS
    )
