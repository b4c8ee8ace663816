"""Row-by-row validation reports for uploaded tables (field plots, programme baselines).

A :class:`ValidationReport` tells a survey team exactly which rows of their file
were accepted and why any were not. Row numbers count **data rows from 1**: the
first row after a CSV header is row 1 (for GeoPackage, GeoJSON, Shapefile and
KML it is the first feature). Row ``0`` marks a finding about the whole file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

__all__ = ["RowError", "ValidationReport"]


@dataclass(frozen=True)
class RowError:
    """One finding about one row of an input file."""

    row: int
    """1-based data row in the original file (header not counted); 0 for the whole file."""
    field: str
    """Column (or geometry field) the finding is about, as named in the file."""
    message: str
    """Plain-language reason and, where possible, what to do about it."""
    sheet: str = ""
    """Sheet or archive member whose rows ``row`` counts (a Kobo repeat sheet, an ODK
    repeat CSV); empty for single-table files."""

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        if self.sheet and self.row:
            where = f"sheet {self.sheet!r} {where}"
        return f"{where}, {self.field}: {self.message}"


@dataclass
class ValidationReport:
    """What happened to every row of one input file.

    Examples
    --------
    >>> report = ValidationReport(source="plots.csv", total_rows=2)
    >>> report.reject(2, "crop", "unknown crop label 'xyz'")
    >>> report.accepted, report.rejected, report.ok
    (1, 1, False)
    """

    source: str
    """File name (or upload name) the report is about."""
    total_rows: int = 0
    """Data rows read from the file (header not counted)."""
    accepted: int = -1
    """Rows accepted; derived from ``total_rows`` and ``errors`` unless given."""
    rejected: int = -1
    """Rows rejected (rows with at least one error); derived unless given."""
    errors: list[RowError] = field(default_factory=list)
    """Reasons rows were rejected; a row may have several."""
    warnings: list[RowError] = field(default_factory=list)
    """Findings that did not reject a row (repairs, fallbacks, guesses)."""
    sheet: str = ""
    """Sheet or archive member whose rows the row numbers count, when the file has several."""
    _rejected: set[int] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rejected = {e.row for e in self.errors if e.row > 0}
        if self.accepted < 0 or self.rejected < 0:
            self.recount()

    @property
    def rejected_rows(self) -> set[int]:
        """Row numbers with at least one error (file-level errors, row 0, excluded)."""
        return set(self._rejected)

    @property
    def ok(self) -> bool:
        """True when nothing was rejected."""
        return not self.errors

    def recount(self) -> None:
        """Set ``rejected`` and ``accepted`` from ``errors`` and ``total_rows``."""
        self._rejected = {e.row for e in self.errors if e.row > 0}
        self.rejected = len(self._rejected)
        self.accepted = max(self.total_rows - self.rejected, 0)

    def reject(self, row: int, field: str, message: str) -> None:
        """Record that ``row`` is rejected because of ``field`` (counts follow)."""
        self.errors.append(RowError(int(row), str(field), message, self._sheet_of(row)))
        if row > 0 and row not in self._rejected:
            self._rejected.add(int(row))
            self.rejected = len(self._rejected)
            self.accepted = max(self.total_rows - self.rejected, 0)

    def warn(self, row: int, field: str, message: str) -> None:
        """Record a finding that does not reject ``row``."""
        self.warnings.append(RowError(int(row), str(field), message, self._sheet_of(row)))

    def _sheet_of(self, row: int) -> str:
        return self.sheet if int(row) > 0 else ""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data (the HTTP and store payload)."""
        payload: dict[str, Any] = {
            "source": self.source,
            "total_rows": self.total_rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": [_finding(e) for e in sorted(self.errors, key=_order)],
            "warnings": [_finding(w) for w in sorted(self.warnings, key=_order)],
        }
        if self.sheet:  # only files with several sheets or members carry the key
            payload["sheet"] = self.sheet
        return payload

    def to_frame(self) -> pd.DataFrame:
        """Return errors and warnings as one table: ``level, row, field, message``."""
        rows = [("error", e.row, e.field, e.message) for e in sorted(self.errors, key=_order)]
        rows += [("warning", w.row, w.field, w.message) for w in sorted(self.warnings, key=_order)]
        return pd.DataFrame(rows, columns=["level", "row", "field", "message"])

    def summary(self, limit: int = 20) -> str:
        """Return a short human-readable text: counts, then the first ``limit`` errors."""
        where = f" (rows of sheet {self.sheet!r})" if self.sheet else ""
        head = (
            f"{self.source}{where}: {self.total_rows} rows, {self.accepted} accepted, "
            f"{self.rejected} rejected (row 1 = first data row after the header)"
        )
        lines = [head] + [f"  {e}" for e in sorted(self.errors, key=_order)[:limit]]
        if len(self.errors) > limit:
            lines.append(f"  ... and {len(self.errors) - limit} more")
        return "\n".join(lines)


def _finding(finding: RowError) -> dict[str, Any]:
    data = asdict(finding)
    if not data["sheet"]:
        del data["sheet"]
    return data


def _order(finding: RowError) -> tuple[int, str]:
    return (finding.row, finding.field)
