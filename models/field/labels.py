"""Crop, status and land cover labels: from what field teams type to the admon vocabulary.

The crop table lives in ``data/crop_labels.csv`` (``label,crop,language,note``)
so that a field coordinator can add a local spelling without touching code.
Labels are compared after Unicode NFC normalisation (Burmese in the Zawgyi
encoding converted to Unicode first, see :mod:`models.field.script`), case
folding and collapsing of spaces, ``_`` and ``-``. A KoboToolbox export "with labels"
often combines languages (``Opium poppy / ဘိန်း``); such a label is accepted
when every part it is made of is known and all parts agree.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from pathlib import Path

from core.legend import LEGEND
from models.field.script import normalise_text
from models.schema import CROPS

__all__ = [
    "CROP_LABELS_PATH",
    "normalise_label",
    "crop_label_table",
    "crop_of",
    "status_of",
    "land_cover_of",
]

CROP_LABELS_PATH = Path(__file__).resolve().parents[2] / "data" / "crop_labels.csv"
"""The committed crop label table."""

_SEPARATORS = re.compile(r"[\s_\-]+")
_PART_SPLIT = re.compile(r"[/|(),;:]+")

_STATUS_LABELS = {
    "cultivated": (
        "cultivated",
        "cultivation",
        "growing",
        "grown",
        "planted",
        "standing",
        "active",
        "harvested",
        "lanced",
        "flowering",
        "mature",
        "ปลูก",
        "ປູກ",
        "စိုက်ပျိုး",
    ),
    "eradicated": (
        "eradicated",
        "eradication",
        "destroyed",
        "cut",
        "slashed",
        "burnt",
        "burned",
        "ทำลาย",
        "ທຳລາຍ",
        "ဖျက်ဆီး",
    ),
    "abandoned": ("abandoned", "fallow", "not cultivated", "left", "ทิ้งร้าง", "ປະຖິ້ມ"),
    "unknown": ("unknown", "not known", "n/a", "na", "dont know", "don't know"),
}


@functools.lru_cache(maxsize=16384)
def normalise_label(text: object) -> str:
    """Return ``text`` as a comparable key: Unicode (from Zawgyi), NFC, case-folded, separators
    collapsed to one space.

    Examples
    --------
    >>> normalise_label("ဘိန္း") == normalise_label("ဘိန်း")  # Zawgyi and Unicode
    True
    """
    folded = unicodedata.normalize("NFC", normalise_text(str(text)).casefold()).strip()
    return _SEPARATORS.sub(" ", folded).strip()


@functools.lru_cache(maxsize=4)
def crop_label_table(path: Path = CROP_LABELS_PATH) -> dict[str, str]:
    """Read the crop label table into ``{normalised label: crop}``.

    Raises
    ------
    ValueError
        If a row maps to a crop other than ``opium_poppy``, ``cannabis`` or ``other``,
        or one label maps to two crops.
    """
    table: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            crop = (row.get("crop") or "").strip()
            if crop not in CROPS:
                raise ValueError(f"{path} line {line_no}: crop {crop!r} must be one of {CROPS}")
            key = normalise_label(row["label"])
            if table.get(key, crop) != crop:
                raise ValueError(f"{path} line {line_no}: label {row['label']!r} maps to two crops")
            table[key] = crop
    return table


def crop_of(label: object, table: dict[str, str] | None = None) -> str | None:
    """Return the crop a field label means, or ``None`` when the label is unknown.

    Examples
    --------
    >>> crop_of("Opium poppy / ဘိန်း"), crop_of("ganja"), crop_of("banana?")
    ('opium_poppy', 'cannabis', None)
    """
    table = crop_label_table() if table is None else table
    key = normalise_label(label)
    if key in table:
        return table[key]
    parts = {normalise_label(p) for p in _PART_SPLIT.split(str(label))} - {""}
    crops = {table.get(p) for p in parts}
    if parts and None not in crops and len(crops) == 1:
        return crops.pop()
    return None


_STATUS_TABLE = {normalise_label(s): status for status, ss in _STATUS_LABELS.items() for s in ss}


def status_of(label: object) -> str | None:
    """Return the plot status for a field label, ``"unknown"`` for empty, ``None`` if unknown."""
    key = normalise_label(label)
    if not key:
        return "unknown"
    return _STATUS_TABLE.get(key)


_LAND_COVER_TABLE = {
    **{normalise_label(c.name): c.name for c in LEGEND},
    **{normalise_label(c.label): c.name for c in LEGEND},
    **{str(c.code): c.name for c in LEGEND},
    "fallow": "fallow_bare",
    "bare": "fallow_bare",
    "bare soil": "fallow_bare",
    "other crop": "other_crops",
    "crop": "other_crops",
    "cropland": "other_crops",
    "poppy": "opium_poppy",
    "forest cover": "forest",
    "trees": "forest",
}


def land_cover_of(label: object) -> str | None:
    """Return the legend class name for a land cover label (name, label or code), else ``None``."""
    key = normalise_label(label)
    return _LAND_COVER_TABLE.get(key) or _LAND_COVER_TABLE.get(key.removesuffix(".0"))
