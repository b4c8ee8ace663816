"""Sentinel-2 L2A product directories: the SAFE layout or a flat folder of band files.

Reflectance = (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE. From processing
baseline 04.00 (January 2022) on, ESA adds BOA_ADD_OFFSET = -1000, declared
per band in ``MTD_MSIL2A.xml``; it is read from there when present. The SCL
band masks no data, saturated/defective pixels, cloud shadow, medium/high
probability cloud and thin cirrus.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np
from defusedxml import ElementTree

from core.errors import ImageryError
from geo.readers.base import BandFile, MaskFile, SceneSpec

__all__ = ["S2_BANDS", "S2Metadata", "read_mtd", "is_sentinel2_dir", "sentinel2_spec"]

logger = logging.getLogger(__name__)

S2_BANDS = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir1",
    "B12": "swir2",
}
"""Sentinel-2 MSI band id to admon common band name (B09, B10 are atmospheric, not read)."""

_BAND_ID_ORDER = (
    "B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12".split()
)  # band_id="k" in MTD_MSIL2A.xml indexes this list
_FILE_RE = re.compile(
    r"(?:^|_)(?P<band>B\d[\dA]|SCL)(?:_(?P<res>\d+)m)?\.(?:tif|tiff|jp2)$", re.IGNORECASE
)
_TIME_RE = re.compile(r"(\d{8}T\d{6})")
_BASELINE_04_START = np.datetime64("2022-01-25")


class S2Metadata:
    """What admon needs from ``MTD_MSIL2A.xml``."""

    def __init__(
        self,
        quantification: float,
        offsets: dict[str, float],
        baseline: str | None,
        time: np.datetime64 | None,
    ) -> None:
        self.quantification = quantification
        self.offsets = offsets
        self.baseline = baseline
        self.time = time


def read_mtd(path: Path) -> S2Metadata:
    """Parse quantification, per-band BOA_ADD_OFFSET, baseline and start time.

    Element names are matched without namespaces, so both ESA's file and the
    simplified files of test fixtures read the same way.
    """
    try:
        root = ElementTree.parse(str(path)).getroot()
    except (ElementTree.ParseError, OSError) as exc:
        raise ImageryError(f"{path}: cannot parse Sentinel-2 metadata ({exc})") from exc
    quantification = 10000.0
    offsets: dict[str, float] = {}
    baseline = None
    time = None
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        text = (element.text or "").strip()
        if tag in ("BOA_QUANTIFICATION_VALUE", "QUANTIFICATION_VALUE") and text:
            quantification = float(text)
        elif tag == "BOA_ADD_OFFSET" and text:
            band_id = int(element.get("band_id", "-1"))
            if 0 <= band_id < len(_BAND_ID_ORDER):
                offsets[_BAND_ID_ORDER[band_id]] = float(text)
        elif tag == "PROCESSING_BASELINE" and text:
            baseline = text
        elif tag in ("PRODUCT_START_TIME", "DATATAKE_SENSING_START") and text and time is None:
            time = np.datetime64(text.rstrip("Z"), "ns")
    return S2Metadata(quantification, offsets, baseline, time)


def _band_files(directory: Path) -> dict[str, Path]:
    """Finest-resolution file per band id (and SCL) found under ``directory``."""
    found: dict[str, tuple[int, Path]] = {}
    for path in sorted(directory.rglob("*")):
        match = _FILE_RE.search(path.name)
        if not match or not path.is_file():
            continue
        band = match["band"].upper()
        res = int(match["res"]) if match["res"] else 0
        if band not in found or res < found[band][0]:
            found[band] = (res, path)
    return {band: path for band, (_, path) in found.items()}


def is_sentinel2_dir(directory: Path) -> bool:
    """True if ``directory`` holds Sentinel-2 band files (``*_B04_10m.jp2``, ``B04.tif``...)."""
    return directory.is_dir() and any(b in S2_BANDS for b in _band_files(directory))


def _scene_time(directory: Path, meta: S2Metadata | None) -> np.datetime64 | None:
    if meta is not None and meta.time is not None:
        return meta.time
    match = _TIME_RE.search(directory.name) or next(
        (m for p in directory.rglob("*B0*") if (m := _TIME_RE.search(p.name))), None
    )
    if match:
        stamp = match.group(1)
        return np.datetime64(
            f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}",
            "ns",
        )
    return None


def _offsets(directory: Path, meta: S2Metadata | None, time: np.datetime64 | None) -> dict:
    """Per-band additive offset in DN, from the MTD or, failing that, from the date."""
    if meta is not None and meta.offsets:
        return meta.offsets
    if meta is not None and meta.baseline is not None:
        major = int(meta.baseline.split(".")[0])
        if major >= 4:
            warnings.warn(
                f"{directory}: baseline {meta.baseline} but MTD_MSIL2A.xml lists no "
                "BOA_ADD_OFFSET; using the standard -1000",
                stacklevel=4,
            )
            return dict.fromkeys(S2_BANDS, -1000.0)
        return {}
    late = time is not None and time >= _BASELINE_04_START
    warnings.warn(
        f"{directory}: no MTD_MSIL2A.xml; assuming BOA_ADD_OFFSET "
        f"{'-1000 (acquired after 2022-01-25)' if late else '0'}; keep the MTD next to the bands",
        stacklevel=4,
    )
    return dict.fromkeys(S2_BANDS, -1000.0) if late else {}


def sentinel2_spec(directory: Path, bands: list[str] | None = None) -> SceneSpec:
    """Describe a Sentinel-2 L2A product directory as a :class:`SceneSpec`.

    Parameters
    ----------
    directory : Path
        ``*.SAFE`` product or a folder of band files (``<id>_B04_10m.tif``, ``B04.tif``...).
    bands : list of str, optional
        Common band names to read; all found bands by default.

    Raises
    ------
    ImageryError
        A requested band has no file.
    """
    files = _band_files(directory)
    mtd_path = next(iter(sorted(directory.rglob("MTD_MSIL2A.xml"))), None)
    meta = read_mtd(mtd_path) if mtd_path is not None else None
    time = _scene_time(directory, meta)
    offsets = _offsets(directory, meta, time)
    quantification = meta.quantification if meta is not None else 10000.0
    available = {S2_BANDS[b]: b for b in files if b in S2_BANDS}
    wanted = bands if bands is not None else [n for n in S2_BANDS.values() if n in available]
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ImageryError(
            f"{directory}: band(s) {missing} not found (have {sorted(available)}); "
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
        logger.warning("%s: no SCL band; only no-data pixels are masked", directory)
    used = sorted({offsets.get(available[name], 0.0) for name in wanted})
    attrs = {
        "processing_baseline": meta.baseline if meta and meta.baseline else "",
        "boa_add_offset_dn": used[0] if len(used) == 1 else str(offsets),
    }
    return SceneSpec(str(directory), "sentinel-2", time, band_files, mask, attrs)
