"""Landsat 8/9 Collection 2 Level-2 scenes (``*_SR_B*.TIF``, ``*_QA_PIXEL.TIF``, MTL).

Surface reflectance = DN x 0.0000275 - 0.2 (the MTL's
``REFLECTANCE_MULT_BAND_n``/``REFLECTANCE_ADD_BAND_n`` are used when present);
fill DN 0 is no data. QA_PIXEL bits fill, dilated cloud, cirrus, cloud and
cloud shadow mask a pixel (snow on request).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from core.errors import ImageryError
from geo.readers.base import BandFile, MaskFile, SceneSpec

__all__ = ["OLI_BANDS", "is_landsat", "read_mtl", "landsat_spec"]

logger = logging.getLogger(__name__)

OLI_BANDS = {1: "coastal", 2: "blue", 3: "green", 4: "red", 5: "nir", 6: "swir1", 7: "swir2"}
"""Landsat 8/9 OLI band number to admon common band name."""

SR_SCALE = 0.0000275
SR_OFFSET = -0.2
_SR_RE = re.compile(r"_SR_B(\d)\.TIF$", re.IGNORECASE)
_MTL_LINE = re.compile(r'^\s*(\w+)\s*=\s*"?([^"]*)"?\s*$')


def _scene_files(source: Path) -> tuple[Path, dict[int, Path], Path | None, Path | None]:
    """(directory, SR band files by number, QA_PIXEL file, MTL file)."""
    directory = source if source.is_dir() else source.parent
    prefix = (
        ""
        if source.is_dir()
        else re.sub(r"_(MTL\.txt|SR_B\d\.TIF|QA_PIXEL\.TIF)$", "", source.name, flags=re.I)
    )
    bands: dict[int, Path] = {}
    qa = mtl = None
    for path in sorted(directory.iterdir()):
        if prefix and not path.name.startswith(prefix):
            continue
        if match := _SR_RE.search(path.name):
            bands[int(match.group(1))] = path
        elif path.name.upper().endswith("_QA_PIXEL.TIF"):
            qa = path
        elif path.name.upper().endswith("_MTL.TXT"):
            mtl = path
    return directory, bands, qa, mtl


def is_landsat(source: Path) -> bool:
    """True if ``source`` (a folder or one of its files) is a Landsat C2 L2 scene."""
    return bool(_scene_files(source)[1]) if source.exists() else False


def read_mtl(path: Path) -> dict[str, str]:
    """Key/value pairs of a Landsat ``*_MTL.txt`` (groups flattened; later keys win)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ImageryError(f"{path}: cannot read Landsat metadata ({exc})") from exc
    values = {}
    for line in text.splitlines():
        if match := _MTL_LINE.match(line):
            values[match.group(1)] = match.group(2).strip()
    return values


def _acquisition_time(mtl: dict[str, str], directory: Path) -> np.datetime64 | None:
    date = mtl.get("DATE_ACQUIRED")
    if date:
        clock = mtl.get("SCENE_CENTER_TIME", "00:00:00").rstrip("Z")[:15]
        return np.datetime64(f"{date}T{clock}", "ns")
    # Product id: LC09_L2SP_PPPRRR_YYYYMMDD_...; the first date is the acquisition.
    if match := re.search(r"_\d{6}_(\d{8})_", directory.name):
        day = match.group(1)
        return np.datetime64(f"{day[:4]}-{day[4:6]}-{day[6:]}", "ns")
    return None


def landsat_spec(source: Path, bands: list[str] | None = None) -> SceneSpec:
    """Describe a Landsat 8/9 C2 L2 scene folder (or its MTL/band file) as a :class:`SceneSpec`.

    Raises
    ------
    ImageryError
        A requested band has no ``*_SR_B<n>.TIF``.
    """
    directory, files, qa, mtl_path = _scene_files(source)
    mtl = read_mtl(mtl_path) if mtl_path is not None else {}
    available = {OLI_BANDS[n]: n for n in files if n in OLI_BANDS}
    wanted = bands if bands is not None else [n for n in OLI_BANDS.values() if n in available]
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ImageryError(
            f"{source}: band(s) {missing} not found (have {sorted(available)}); "
            "expected files named *_SR_B<n>.TIF"
        )
    band_files = []
    for name in wanted:
        number = available[name]
        scale = float(mtl.get(f"REFLECTANCE_MULT_BAND_{number}", SR_SCALE))
        offset = float(mtl.get(f"REFLECTANCE_ADD_BAND_{number}", SR_OFFSET))
        band_files.append(BandFile(name, str(files[number]), 1, scale, offset, nodata=0))
    if qa is None:
        logger.warning("%s: no QA_PIXEL file; only fill pixels are masked", source)
    mask = MaskFile(str(qa), "qa_pixel") if qa is not None else None
    sensor = mtl.get("SPACECRAFT_ID", "landsat").lower().replace("_", "-")
    return SceneSpec(
        str(source), sensor, _acquisition_time(mtl, directory), tuple(band_files), mask, {}
    )
