"""Sentinel-2 L2A product folders: the SAFE layout, or a folder of per-band files.

Reflectance = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE, both read from
the product metadata ``MTD_MSIL2A.xml`` (:func:`read_mtd`): ESA adds
BOA_ADD_OFFSET = -1000 (per band, ``band_id`` 0-12) from processing baseline
04.00 (January 2022) on, and older products carry no offset list. The files
come from the metadata's ``IMAGE_FILE`` list (``.jp2`` or ``.tif`` by the
granule's ``imageFormat``); the finest resolution of each band is read, and the
SCL band masks no data, saturated/defective pixels, cloud shadow, medium/high
probability cloud and thin cirrus (:mod:`geo.readers.masks`).

Per-band folders (``<tile>_B04_10m.tif``, AWS tiles ``R10m/B04.jp2`` with the
tile's ``metadata.xml``/``tileInfo.json``) are found by file name. Without
product metadata the offset is not declared: it follows from the processing
baseline in the tile id or product name (``_N05.10``, ``_N0400_``), else from
the acquisition date, and the run records that assumption.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from defusedxml import ElementTree

from core.errors import ImageryError
from geo.readers.bands import S2_BAND_IDS, S2_BANDS, s2_band_id
from geo.readers.spec import BandFile, MaskFile, SceneSpec, assume

__all__ = [
    "S2_BANDS",
    "S2Metadata",
    "read_mtd",
    "baseline_major",
    "Sentinel2Reader",
    "is_sentinel2_dir",
    "sentinel2_spec",
    "BASELINE_04_START",
]

logger = logging.getLogger(__name__)

BASELINE_04_START = np.datetime64("2022-01-25")
"""First day ESA produced baseline 04.00 (with BOA_ADD_OFFSET)."""
_FILE_RE = re.compile(
    r"(?:^|_)(?P<band>B\d[\dA]|SCL)(?:_(?P<res>\d+)m)?\.(?:tif|tiff|jp2)$", re.IGNORECASE
)
_RES_DIR = re.compile(r"^R(\d+)m$", re.IGNORECASE)
_TIME_RE = re.compile(r"(\d{8}T\d{6})")
_BASELINE_RE = re.compile(r"_N(\d{2})\.?(\d{2})(?:_|$|\.)")
_EXTENSIONS = {"JPEG2000": (".jp2",), "GEOTIFF": (".tif", ".TIF", ".tiff")}


@dataclass(frozen=True)
class S2Metadata:
    """What admon needs from ``MTD_MSIL2A.xml`` (or a tile's ``MTD_TL.xml``)."""

    path: Path
    """The metadata file."""
    product_level: bool
    """True for product metadata (MTD_MSIL2A), False for tile metadata (no offsets there)."""
    quantification: float | None
    """BOA_QUANTIFICATION_VALUE (10000), if declared."""
    offsets: dict[str, float]
    """BOA_ADD_OFFSET per band id (DN), empty before baseline 04.00."""
    baseline: str | None
    """Processing baseline (``04.00``), from PROCESSING_BASELINE or the tile id."""
    time: np.datetime64 | None
    """Sensing start."""
    spacecraft: str | None
    """``Sentinel-2A`` ..."""
    image_files: tuple[str, ...] = field(default_factory=tuple)
    """IMAGE_FILE entries, relative to the product root, without extension."""
    image_format: str | None = None
    """The granule's ``imageFormat`` (``JPEG2000`` or ``GeoTIFF``)."""


def baseline_major(baseline: str | None, where: str) -> int | None:
    """The major number of a processing baseline (``"05.10"`` -> 5).

    Raises
    ------
    ImageryError
        ``baseline`` is not of the form ``NN.NN``.
    """
    if baseline is None:
        return None
    match = re.match(r"^\s*(\d{1,2})\.(\d{1,2})\s*$", str(baseline))
    if not match:
        raise ImageryError(
            f"{where}: processing baseline {baseline!r} is not of the form '05.10'; "
            "the metadata is damaged"
        )
    return int(match.group(1))


def _number(text: str, tag: str, path: Path) -> float:
    try:
        return float(text)
    except ValueError:
        raise ImageryError(
            f"{path}: {tag} = {text!r} is not a number; the file is damaged"
        ) from None


def _time(text: str, tag: str, path: Path) -> np.datetime64:
    try:
        return np.datetime64(text.rstrip("Z"), "ns")
    except ValueError:
        raise ImageryError(f"{path}: {tag} = {text!r} is not a date and time") from None


def read_mtd(path: Path) -> S2Metadata:
    """Parse quantification, per-band BOA_ADD_OFFSET, baseline, time and image files.

    Element names are matched without namespaces; ``band_id`` is resolved
    through the file's own ``Spectral_Information`` list when it has one.

    Raises
    ------
    ImageryError
        The file is not well-formed XML or a value is not a number/date.
    """
    try:
        root = ElementTree.parse(str(path)).getroot()
    except (ElementTree.ParseError, OSError) as exc:
        raise ImageryError(f"{path}: cannot parse Sentinel-2 metadata ({exc})") from exc
    elements = [(e.tag.rsplit("}", 1)[-1], e) for e in root.iter()]
    physical = {
        e.get("bandId"): s2_band_id(e.get("physicalBand", ""))
        for tag, e in elements
        if tag == "Spectral_Information" and e.get("bandId") is not None
    }
    values: dict[str, Any] = {"offsets": {}, "files": [], "time": None, "baseline": None}
    for tag, element in elements:
        text = (element.text or "").strip()
        if tag == "BOA_ADD_OFFSET" and text:
            band_id = element.get("band_id", "")
            band = physical.get(band_id) or (
                S2_BAND_IDS[int(band_id)] if band_id.isdigit() and int(band_id) < 13 else None
            )
            if band is None:
                raise ImageryError(f"{path}: BOA_ADD_OFFSET band_id={band_id!r} names no band")
            values["offsets"][band] = _number(text, f"BOA_ADD_OFFSET band_id={band_id}", path)
        elif tag in ("BOA_QUANTIFICATION_VALUE", "QUANTIFICATION_VALUE") and text:
            values["quantification"] = _number(text, tag, path)
        elif tag == "PROCESSING_BASELINE" and text:
            values["baseline"] = text
        elif tag in ("TILE_ID", "DATASTRIP_ID") and text and (m := _BASELINE_RE.search(text)):
            values.setdefault("id_baseline", f"{m.group(1)}.{m.group(2)}")
        elif tag in ("PRODUCT_START_TIME", "DATATAKE_SENSING_START", "SENSING_TIME") and text:
            values["time"] = values["time"] or _time(text, tag, path)
        elif tag == "SPACECRAFT_NAME" and text:
            values["spacecraft"] = text
        elif tag == "IMAGE_FILE" and text:
            values["files"].append(text)
        elif tag == "Granule" and element.get("imageFormat"):
            values["format"] = element.get("imageFormat")
    return S2Metadata(
        path=path,
        product_level=root.tag.rsplit("}", 1)[-1].endswith("User_Product"),
        quantification=values.get("quantification"),
        offsets=values["offsets"],
        baseline=values["baseline"] or values.get("id_baseline"),
        time=values["time"],
        spacecraft=values.get("spacecraft"),
        image_files=tuple(values["files"]),
        image_format=values.get("format"),
    )


def _resolution(path: Path, match: re.Match) -> int:
    if match["res"]:
        return int(match["res"])
    parent = _RES_DIR.match(path.parent.name)
    return int(parent.group(1)) if parent else 0


def _finest(candidates: list[tuple[int, Path]]) -> dict[str, Path]:
    found: dict[str, tuple[int, Path]] = {}
    for res, path in candidates:
        match = _FILE_RE.search(path.name)
        band = match["band"].upper() if match else None
        band = "SCL" if band == "SCL" else s2_band_id(band or "")
        if band and (band not in found or res < found[band][0]):
            found[band] = (res, path)
    return {band: path for band, (_, path) in found.items()}


def _band_files(directory: Path) -> dict[str, Path]:
    """Finest-resolution file per band id (and SCL) found by name under ``directory``."""
    candidates = []
    for path in sorted(directory.rglob("*")):
        match = _FILE_RE.search(path.name)
        if match and path.is_file():
            candidates.append((_resolution(path, match), path))
    return _finest(candidates)


def _listed_files(root: Path, meta: S2Metadata) -> dict[str, Path]:
    """Finest-resolution file per band from the metadata's IMAGE_FILE list (existing only)."""
    extensions = _EXTENSIONS.get((meta.image_format or "").upper(), ()) + (".jp2", ".tif")
    candidates = []
    for entry in meta.image_files:
        for extension in extensions:
            path = root / f"{entry}{extension}"
            if path.is_file():
                match = _FILE_RE.search(path.name)
                if match:
                    candidates.append((_resolution(path, match), path))
                break
    return _finest(candidates)


def is_sentinel2_dir(directory: Path) -> bool:
    """True if ``directory`` holds Sentinel-2 band files (``*_B04_10m.jp2``, ``B04.tif``...)."""
    return directory.is_dir() and any(b in S2_BANDS for b in _band_files(directory))


def _metadata(directory: Path) -> tuple[S2Metadata | None, dict[str, Any]]:
    """Product metadata if any, else tile metadata; plus ``tileInfo.json`` if present."""
    product = sorted(directory.rglob("MTD_MSIL2A.xml"))
    tile = sorted(directory.rglob("MTD_TL.xml")) + sorted(directory.glob("metadata.xml"))
    meta = read_mtd(product[0]) if product else (read_mtd(tile[0]) if tile else None)
    info: dict[str, Any] = {}
    info_path = directory / "tileInfo.json"
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImageryError(f"{info_path}: not valid JSON ({exc})") from exc
        info = info if isinstance(info, dict) else {}
    return meta, info


def _baseline_from_names(directory: Path, info: dict[str, Any]) -> str | None:
    strip = info.get("datastrip") if isinstance(info.get("datastrip"), dict) else {}
    for text in (strip.get("id"), info.get("productName"), directory.name):
        if isinstance(text, str) and (match := _BASELINE_RE.search(text)):
            return f"{match.group(1)}.{match.group(2)}"
    return None


def _scene_time(directory: Path, meta: S2Metadata | None, info: dict) -> np.datetime64 | None:
    if meta is not None and meta.time is not None:
        return meta.time
    stamp = info.get("timestamp")
    if isinstance(stamp, str):
        return _time(stamp, "timestamp", directory / "tileInfo.json")
    match = _TIME_RE.search(directory.name) or next(
        (m for p in directory.rglob("*B0*") if (m := _TIME_RE.search(p.name))), None
    )
    if match:
        s = match.group(1)
        return np.datetime64(f"{s[:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}", "ns")
    return None


def _offsets(
    label: str,
    meta: S2Metadata | None,
    baseline: str | None,
    time: np.datetime64 | None,
    assumptions: list[str],
) -> dict[str, float]:
    """BOA_ADD_OFFSET per band id (DN): declared, or from the baseline, or from the date."""
    if meta is not None and meta.product_level and meta.offsets:
        return meta.offsets
    major = baseline_major(baseline, label)
    standard = dict.fromkeys(S2_BANDS, -1000.0)
    if major is not None and major < 4:
        return {}
    if major is not None:
        where = (
            "MTD_MSIL2A.xml lists no BOA_ADD_OFFSET"
            if meta is not None and meta.product_level
            else "no MTD_MSIL2A.xml (the only file declaring BOA_ADD_OFFSET)"
        )
        assume(assumptions, label, f"{where}: BOA_ADD_OFFSET -1000 assumed for baseline {baseline}")
        return standard
    late = time is not None and time >= BASELINE_04_START
    assume(
        assumptions,
        label,
        "no MTD_MSIL2A.xml and no processing baseline in the tile id or product name: "
        f"BOA_ADD_OFFSET {'-1000' if late else '0'} assumed from the acquisition date "
        f"({'on or after' if late else 'before'} 2022-01-25; reprocessed products of any date "
        "may have baseline 05.xx); keep the MTD_MSIL2A.xml next to the bands",
    )
    return standard if late else {}


class Sentinel2Reader:
    """Adapter for Sentinel-2 L2A product folders (SAFE or per-band files)."""

    name = "sentinel-2-l2a"

    def accepts(self, source: Any) -> bool:
        return isinstance(source, str | Path) and is_sentinel2_dir(Path(source))

    def describe(self, source: Any, bands: list[str] | None) -> SceneSpec:
        return sentinel2_spec(Path(source), bands)


def sentinel2_spec(directory: Path, bands: list[str] | None = None) -> SceneSpec:
    """Describe a Sentinel-2 L2A product directory as a :class:`SceneSpec`.

    Parameters
    ----------
    directory : Path
        ``*.SAFE`` product or a folder of band files (``<id>_B04_10m.tif``, ``R10m/B04.jp2``...).
    bands : list of str, optional
        admon band names to read; all found bands by default.

    Raises
    ------
    ImageryError
        The metadata cannot be read or a requested band has no file.
    """
    meta, info = _metadata(directory)
    label = str(meta.path if meta is not None and meta.product_level else directory)
    assumptions: list[str] = []
    root = meta.path.parent if meta is not None else directory
    files = (_listed_files(root, meta) if meta is not None else {}) or _band_files(directory)
    time = _scene_time(directory, meta, info)
    baseline = (meta.baseline if meta is not None else None) or _baseline_from_names(
        directory, info
    )
    offsets = _offsets(label, meta, baseline, time, assumptions)
    quantification = meta.quantification if meta is not None and meta.quantification else None
    if quantification is None:
        quantification = 10000.0
        if meta is not None and meta.product_level:
            assume(assumptions, label, "no BOA_QUANTIFICATION_VALUE: 10000 assumed (ESA standard)")
    available = {S2_BANDS[b]: b for b in files if b in S2_BANDS}
    if not available:
        raise ImageryError(f"{label}: no Sentinel-2 band file found under {directory}")
    wanted = bands if bands is not None else [n for n in S2_BANDS.values() if n in available]
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ImageryError(
            f"{label}: band(s) {missing} not found (have {sorted(available)}); "
            "the product is incomplete or the band is not a Sentinel-2 band"
        )
    band_files = tuple(
        BandFile(
            name=name,
            path=str(files[available[name]]),
            scale=1.0 / quantification,
            offset=offsets.get(available[name], 0.0) / quantification,
            nodata=0,
        )
        for name in wanted
    )
    mask = MaskFile(str(files["SCL"]), "scl") if "SCL" in files else None
    if mask is None:
        assume(assumptions, label, "no SCL band: clouds and shadows are not masked, only DN 0")
    used = sorted({offsets.get(available[name], 0.0) for name in wanted})
    attrs = {
        "processing_baseline": baseline or "",
        "boa_add_offset_dn": used[0] if len(used) == 1 else str(offsets),
    }
    spacecraft = meta.spacecraft if meta is not None and meta.spacecraft else "sentinel-2"
    return SceneSpec(
        str(directory), spacecraft.lower(), time, band_files, mask, attrs, tuple(assumptions)
    )
