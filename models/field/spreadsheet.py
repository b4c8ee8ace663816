"""Excel adapter: KoboToolbox's default XLSX export (and any workbook laid out like the CSVs).

The first sheet holds one row per submission (KoboToolbox puts repeat groups on
later sheets). Cells are turned into the same text the CSV export would hold
(dates as ISO 8601, whole numbers without ``.0``), then the CSV rules apply.
Row 1 of the report is spreadsheet row 2 (the first row under the header).
The workbook is a zip of XML parts: its member sizes are checked before
openpyxl opens it, and openpyxl parses the XML with defusedxml when it is
installed (it is a dependency of admon).
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
from models.field.safety import check_file_size, check_zip
from models.field.tabular import plots_from_table, unique_headers

__all__ = ["read_xlsx_plots", "cell_text"]

logger = logging.getLogger(__name__)


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


def read_xlsx_plots(path: Path, *, max_rows: int, source: str | None = None) -> RawPlots:
    """Read the first sheet of an ``.xlsx`` workbook into :class:`RawPlots`.

    Raises
    ------
    InvalidInputError
        When the workbook is hostile or corrupt, empty, or has more than ``max_rows`` rows.
    """
    name = source or path.name
    check_file_size(path)
    check_zip(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and data validation
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, XML errors...
        raise InvalidInputError(f"{name}: not a readable Excel workbook ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise InvalidInputError(f"{name}: the first sheet is empty")
        columns = unique_headers([cell_text(h) or f"column_{i + 1}" for i, h in enumerate(header)])
        records, numbers = [], []
        for row, cells in enumerate(rows, start=1):
            if row > max_rows:
                raise InvalidInputError(
                    f"{name}: more than {max_rows:,} data rows; split the workbook "
                    "or raise max_rows"
                )
            texts = [cell_text(c) for c in cells[: len(columns)]]
            if any(texts):
                records.append(texts + [""] * (len(columns) - len(texts)))
                numbers.append(row)
    finally:
        workbook.close()
    table = pd.DataFrame(
        records, columns=columns, index=pd.Index(numbers, dtype="int64"), dtype=str
    )
    warnings_ = []
    if len(workbook.sheetnames) > 1:
        warnings_.append((0, "sheet", f"read the first sheet {workbook.sheetnames[0]!r} only"))
    return plots_from_table(table, name=name, kind="xlsx", warnings=warnings_)
