"""Landsat Collection 2 Level-2 scenes: TM (4/5), ETM+ (7) and OLI/TIRS (8/9).

A scene is a folder of ``*_SR_B<n>.TIF`` bands, ``*_QA_PIXEL.TIF`` and the MTL
(``.txt``, ``.json`` or ``.xml``; see :mod:`geo.readers.mtl`). Everything is
read from the MTL, group by group:

- which file holds which band: ``PRODUCT_CONTENTS/FILE_NAME_BAND_<n>``, numbered
  the sensor's way (``IMAGE_ATTRIBUTES/SENSOR_ID``: TM/ETM+ red is band 3, OLI
  red is band 4; :data:`~geo.readers.bands.LANDSAT_SENSOR_BANDS`);
- reflectance = DN x ``REFLECTANCE_MULT_BAND_<n>`` + ``REFLECTANCE_ADD_BAND_<n>``
  of ``LEVEL2_SURFACE_REFLECTANCE_PARAMETERS`` (2.75e-05, -0.2), never the
  top-of-atmosphere factors of ``LEVEL1_RADIOMETRIC_RESCALING`` that share the
  key names;
- the mask: ``FILE_NAME_QUALITY_L1_PIXEL`` (QA_PIXEL bits fill, dilated cloud,
  cirrus, cloud, cloud shadow; :mod:`geo.readers.masks`); DN 0 is fill. The
  scan-line gaps of Landsat 7 after May 2003 (``SENSOR_MODE_SLC = OFF``) are
  fill in C2 products and so end up masked.

A folder without MTL is read by the product id in its file names (``LT05_...``
is TM) with the USGS product-definition factors, and says so (a recorded
assumption, see :func:`geo.readers.spec.assume`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ImageryError
from geo.readers.bands import LANDSAT_SENSOR_BANDS, landsat_sensor
from geo.readers.mtl import MTL_SUFFIXES, mtl_float, mtl_value, read_mtl
from geo.readers.spec import BandFile, MaskFile, SceneSpec, assume

__all__ = ["SR_SCALE", "SR_OFFSET", "LandsatReader", "is_landsat", "landsat_spec"]

logger = logging.getLogger(__name__)

SR_SCALE = 2.75e-05
"""USGS C2 Level-2 surface reflectance scale (product definition)."""
SR_OFFSET = -0.2
"""USGS C2 Level-2 surface reflectance offset (product definition)."""

_SR_GROUP = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"
_SR_RE = re.compile(r"_SR_B(\d)\.TIF$", re.IGNORECASE)
_PRODUCT_RE = re.compile(r"^(L[CEOT]0\d)_(L\w{3})_\d{6}_(\d{8})_", re.IGNORECASE)
_SCENE_SUFFIX = re.compile(r"_(MTL\.(txt|json|xml)|SR_B\d\.TIF|QA_PIXEL\.TIF)$", re.IGNORECASE)


def _scene_files(source: Path) -> tuple[Path, str, dict[int, Path], Path | None, Path | None]:
    """(directory, product prefix, SR band files by number, QA_PIXEL, MTL) found by name."""
    directory = source if source.is_dir() else source.parent
    prefix = "" if source.is_dir() else _SCENE_SUFFIX.sub("", source.name)
    bands: dict[int, Path] = {}
    qa = None
    mtls: dict[str, Path] = {}
    for path in sorted(directory.iterdir()) if directory.is_dir() else ():
        name = path.name
        if prefix and not name.startswith(prefix):
            continue
        if match := _SR_RE.search(name):
            bands[int(match.group(1))] = path
        elif name.upper().endswith("_QA_PIXEL.TIF"):
            qa = path
        else:
            for suffix in MTL_SUFFIXES:
                if name.lower().endswith(suffix.lower()):
                    mtls[suffix] = path
    mtl = next((mtls[s] for s in MTL_SUFFIXES if s in mtls), None)
    if not prefix:
        named = mtl or qa or next(iter(bands.values()), None)
        prefix = _SCENE_SUFFIX.sub("", named.name) if named is not None else directory.name
    return directory, prefix, bands, qa, mtl


def is_landsat(source: Path) -> bool:
    """True if ``source`` (a folder or one of its files) is a Landsat C2 scene."""
    if not source.exists():
        return False
    _, _, bands, _, mtl = _scene_files(source)
    return bool(bands) or mtl is not None


def _listed_files(
    groups: dict, directory: Path, sensor: str
) -> tuple[dict[int, Path], Path | None]:
    """Band and QA_PIXEL files the MTL's PRODUCT_CONTENTS lists (present on disk or not)."""
    bands = {}
    for number in LANDSAT_SENSOR_BANDS[sensor]:
        name = mtl_value(groups, "PRODUCT_CONTENTS", f"FILE_NAME_BAND_{number}")
        if name:
            bands[number] = directory / Path(name).name
    qa = mtl_value(groups, "PRODUCT_CONTENTS", "FILE_NAME_QUALITY_L1_PIXEL")
    return bands, (directory / Path(qa).name) if qa else None


def _acquisition_time(groups: dict, prefix: str) -> np.datetime64 | None:
    date = mtl_value(groups, "IMAGE_ATTRIBUTES", "DATE_ACQUIRED")
    clock = (mtl_value(groups, "IMAGE_ATTRIBUTES", "SCENE_CENTER_TIME") or "00:00:00").strip('"')
    if date:
        try:
            return np.datetime64(f"{date}T{clock.rstrip('Z')[:15]}", "ns")
        except ValueError:
            raise ImageryError(
                f"{prefix}: IMAGE_ATTRIBUTES/DATE_ACQUIRED {date!r} SCENE_CENTER_TIME {clock!r} "
                "is not a date and time; the metadata file is damaged"
            ) from None
    if match := _PRODUCT_RE.match(prefix):
        day = match.group(3)
        return np.datetime64(f"{day[:4]}-{day[4:6]}-{day[6:]}", "ns")
    return None


class LandsatReader:
    """Adapter for Landsat C2 L2 scene folders (or one of their files)."""

    name = "landsat-c2-l2"

    def accepts(self, source: Any) -> bool:
        return isinstance(source, str | Path) and is_landsat(Path(source))

    def describe(self, source: Any, bands: list[str] | None) -> SceneSpec:
        return landsat_spec(Path(source), bands)


def _sensor_of(groups: dict, prefix: str, label: str) -> str:
    sensor_id = mtl_value(groups, "IMAGE_ATTRIBUTES", "SENSOR_ID")
    sensor = landsat_sensor(sensor_id, prefix)
    if sensor is None:
        raise ImageryError(
            f"{label}: cannot tell the sensor (IMAGE_ATTRIBUTES/SENSOR_ID = {sensor_id!r}, "
            f"product id {prefix!r}); admon reads TM, ETM+ and OLI Level-2 scenes (MSS has "
            "no surface reflectance)"
        )
    return sensor


def _check_level(groups: dict, prefix: str, label: str) -> None:
    level = mtl_value(groups, "PRODUCT_CONTENTS", "PROCESSING_LEVEL")
    if level is None and (match := _PRODUCT_RE.match(prefix)):
        level = match.group(2).upper()
    if level is not None and not level.upper().startswith("L2"):
        raise ImageryError(
            f"{label}: processing level {level} is top-of-atmosphere (Level-1); admon needs "
            "Collection 2 Level-2 surface reflectance: download the L2SP or L2SR product"
        )


def landsat_spec(source: Path, bands: list[str] | None = None) -> SceneSpec:
    """Describe a Landsat C2 L2 scene folder (or its MTL/band file) as a :class:`SceneSpec`.

    Parameters
    ----------
    source : Path
        The scene folder, its ``*_MTL.txt|json|xml`` or one of its ``*_SR_B<n>.TIF``.
    bands : list of str, optional
        admon band names to read; every reflective band present by default.

    Raises
    ------
    ImageryError
        The metadata cannot be read, the product is Level-1, the sensor is unknown,
        or a requested band has no file.
    """
    directory, prefix, found, qa, mtl_path = _scene_files(source)
    label = str(mtl_path or source)
    groups = read_mtl(mtl_path) if mtl_path is not None else {}
    assumptions: list[str] = []
    sensor = _sensor_of(groups, prefix, label)
    _check_level(groups, prefix, label)
    numbering = LANDSAT_SENSOR_BANDS[sensor]
    if groups:
        listed, qa_listed = _listed_files(groups, directory, sensor)
        files = {n: p for n, p in listed.items() if p.exists()} or found
        qa = qa_listed if qa_listed is not None and qa_listed.exists() else qa
    else:
        files = found
        assume(
            assumptions,
            label,
            f"no *_MTL file next to the bands: read as {sensor} by the product id {prefix!r} "
            f"with the USGS C2 L2 factors DN x {SR_SCALE:g} {SR_OFFSET:+g}",
        )
    available = {numbering[n]: n for n in sorted(files) if n in numbering}
    if not available:
        raise ImageryError(
            f"{label}: no {sensor} surface reflectance band file (*_SR_B<n>.TIF) in {directory}; "
            "the download is incomplete"
        )
    wanted = bands if bands is not None else [n for n in numbering.values() if n in available]
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ImageryError(
            f"{label}: band(s) {missing} not found (have {sorted(available)}); {sensor} numbers "
            f"them {dict((v, k) for k, v in numbering.items() if v in missing)}: expected "
            "files named *_SR_B<n>.TIF"
        )
    band_files = [
        _band_file(name, available[name], files, groups, label, assumptions) for name in wanted
    ]
    if qa is None:
        assume(
            assumptions,
            label,
            "no QA_PIXEL file: clouds and shadows are not masked, only fill (DN 0)",
        )
    attrs: dict[str, Any] = {"sensor_bands": sensor, "product_id": prefix}
    slc = mtl_value(groups, "IMAGE_ATTRIBUTES", "SENSOR_MODE_SLC")
    if slc is not None:
        attrs["slc"] = slc.lower()
    if sensor == "ETM" and (slc or "").upper() == "OFF":
        assume(
            assumptions,
            label,
            "Landsat 7 SLC-off: scan-line gaps are read as fill (DN 0, QA_PIXEL fill bit) "
            "and masked; C2 L2 ships no separate gap mask",
        )
    spacecraft = mtl_value(groups, "IMAGE_ATTRIBUTES", "SPACECRAFT_ID") or prefix[:4]
    return SceneSpec(
        source=str(source),
        sensor=spacecraft.lower().replace("_", "-"),
        time=_acquisition_time(groups, prefix),
        bands=tuple(band_files),
        mask=MaskFile(str(qa), "qa_pixel") if qa is not None else None,
        attrs=attrs,
        assumptions=tuple(assumptions),
    )


def _band_file(
    name: str, number: int, files: dict, groups: dict, label: str, assumptions: list[str]
) -> BandFile:
    """One band with the Level-2 factors of its MTL group (or the product definition)."""
    scale = mtl_float(groups, _SR_GROUP, f"REFLECTANCE_MULT_BAND_{number}", Path(label))
    offset = mtl_float(groups, _SR_GROUP, f"REFLECTANCE_ADD_BAND_{number}", Path(label))
    if groups and (scale is None or offset is None):
        assume(
            assumptions,
            label,
            f"{_SR_GROUP} has no REFLECTANCE_MULT/ADD_BAND_{number}: band {number} ({name}) "
            f"read with the USGS C2 L2 factors DN x {SR_SCALE:g} {SR_OFFSET:+g}",
        )
    return BandFile(
        name,
        str(files[number]),
        1,
        SR_SCALE if scale is None else scale,
        SR_OFFSET if offset is None else offset,
        nodata=0,
    )
