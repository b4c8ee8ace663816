"""Cell values of field exports turned into typed plot attributes.

Text formats give strings, GeoPackage and GeoJSON give typed values; each
converter accepts both and returns ``(value, problem)`` so that the caller
decides whether a problem rejects the row or only warns.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import pandas as pd

__all__ = ["is_blank", "as_text", "as_number", "as_date"]

_ISO_DATE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T\s].*)?$")


def is_blank(value: object) -> bool:
    """True for ``None``, NaN/NaT and empty or whitespace-only strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_text(value: object) -> str | None:
    """Return a trimmed string (``12.0`` read from a number becomes ``"12"``), ``None`` if blank."""
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def as_number(value: object) -> tuple[float, str | None]:
    """Return ``(float, None)``, ``(nan, None)`` if blank, or ``(nan, reason)`` if not a number."""
    if is_blank(value):
        return math.nan, None
    try:
        number = (
            float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
        )
    except (TypeError, ValueError):
        return math.nan, f"{value!r} is not a number"
    if not math.isfinite(number):
        return math.nan, f"{value!r} is not a finite number"
    return number, None


def as_date(value: object) -> tuple[pd.Timestamp | None, str | None]:
    """Return the local calendar date of a value, or ``(None, reason)``.

    ISO 8601 text (``2025-01-14``, ``2025-01-14T10:22:31.000+06:30`` as ODK and
    KoboToolbox write it) keeps the date as written, i.e. the device's local
    date, not converted to UTC. ``YYYY/MM/DD`` is accepted too; day-first or
    month-first dates are refused because they are ambiguous.
    """
    if is_blank(value):
        return None, None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return pd.Timestamp(value.year, value.month, value.day), None
    match = _ISO_DATE.match(str(value))
    if match:
        try:
            return pd.Timestamp(*(int(g) for g in match.groups())), None
        except ValueError:
            pass
    return None, f"{value!r} is not a date; write dates as YYYY-MM-DD"
