"""Landsat Collection 2 metadata files (``*_MTL.txt``, ``*_MTL.json``, ``*_MTL.xml``).

USGS ships the same metadata three ways: ODL text (``GROUP = ...`` /
``END_GROUP``), JSON (every value a string) and XML (no namespace). All three
hold one ``LANDSAT_METADATA_FILE`` with groups such as ``PRODUCT_CONTENTS``,
``IMAGE_ATTRIBUTES``, ``LEVEL2_SURFACE_REFLECTANCE_PARAMETERS`` and
``LEVEL1_RADIOMETRIC_RESCALING``. Those last two reuse the same key names
(``REFLECTANCE_MULT_BAND_4`` is 2.75e-05 in the first and 2.0e-05 in the
second), so a value is always looked up *in its group*: :func:`read_mtl`
returns ``{group: {key: value}}`` and never flattens.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

from core.errors import ImageryError

__all__ = ["MTL_SUFFIXES", "read_mtl", "mtl_value", "mtl_float"]

MTL_SUFFIXES = ("_MTL.txt", "_MTL.json", "_MTL.xml")
"""Metadata file name endings, in the order they are preferred."""

_ODL_LINE = re.compile(r"^\s*(\w+)\s*=\s*(.*?)\s*$")
Groups = dict[str, dict[str, str]]


def read_mtl(path: Path) -> Groups:
    """Read an MTL in any of its three forms as ``{group: {key: value}}`` (values as text).

    Raises
    ------
    ImageryError
        The file cannot be read or is not a Landsat metadata file.

    Examples
    --------
    >>> groups = read_mtl(Path("LC08_L2SP_005009_20150710_20200908_02_T2_MTL.txt"))  # doctest: +SKIP
    >>> groups["LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]["REFLECTANCE_MULT_BAND_4"]  # doctest: +SKIP
    '2.75e-05'
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ImageryError(f"{path}: cannot read Landsat metadata ({exc})") from exc
    suffix = path.suffix.lower()
    if suffix == ".json":
        groups = _from_json(path, text)
    elif suffix == ".xml":
        groups = _from_xml(path, text)
    else:
        groups = _from_odl(path, text)
    if not groups:
        raise ImageryError(
            f"{path}: no LANDSAT_METADATA_FILE groups found; is this a Landsat Collection 2 "
            "*_MTL.txt / _MTL.json / _MTL.xml file?"
        )
    return groups


def _from_odl(path: Path, text: str) -> Groups:
    groups: Groups = {}
    stack: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ODL_LINE.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip().strip('"')
        if key == "GROUP":
            stack.append(value)
        elif key == "END_GROUP":
            if not stack or stack[-1] != value:
                raise ImageryError(
                    f"{path} line {number}: END_GROUP = {value} closes "
                    f"{stack[-1] if stack else 'no open group'}; the file is damaged or cut short"
                )
            stack.pop()
        elif stack:
            groups.setdefault(stack[-1], {})[key] = value
    if stack:
        raise ImageryError(f"{path}: group {stack[-1]} is never closed; the file is cut short")
    groups.pop("LANDSAT_METADATA_FILE", None)
    return groups


def _from_json(path: Path, text: str) -> Groups:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImageryError(f"{path}: not valid JSON ({exc})") from exc
    root = document.get("LANDSAT_METADATA_FILE") if isinstance(document, dict) else None
    if not isinstance(root, dict):
        raise ImageryError(f"{path}: no LANDSAT_METADATA_FILE object at the top")
    return {
        group: {key: _text(value) for key, value in fields.items() if not isinstance(value, dict)}
        for group, fields in root.items()
        if isinstance(fields, dict)
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _from_xml(path: Path, text: str) -> Groups:
    try:
        root = ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as exc:
        raise ImageryError(f"{path}: not well-formed XML ({exc})") from exc
    if root.tag.rsplit("}", 1)[-1] != "LANDSAT_METADATA_FILE":
        raise ImageryError(f"{path}: root element is {root.tag}, not LANDSAT_METADATA_FILE")
    return {
        group.tag.rsplit("}", 1)[-1]: {
            field.tag.rsplit("}", 1)[-1]: (field.text or "").strip() for field in group
        }
        for group in root
    }


def mtl_value(groups: Groups, group: str, key: str) -> str | None:
    """The value of ``key`` in ``group`` (``None`` when either is absent)."""
    return groups.get(group, {}).get(key)


def mtl_float(groups: Groups, group: str, key: str, path: Path) -> float | None:
    """A numeric value of ``key`` in ``group``; ``None`` if absent.

    Raises
    ------
    ImageryError
        The value is present but not a number.
    """
    value = mtl_value(groups, group, key)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise ImageryError(
            f"{path}: {group}/{key} = {value!r} is not a number; the metadata file is damaged, "
            "download it again"
        ) from None
