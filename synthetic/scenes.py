"""Sentinel-2 L2A-like surface reflectance of the synthetic region, strip by strip.

Each pixel is a linear mixture of a green-vegetation spectrum and a background
(soil, crop stubble or dry grass) spectrum, weighted by the fractional green
cover of its surface type on the acquisition date; poppy adds petals while it
flowers, water has its own spectrum. Cover follows a per-type seasonal curve
(days since 1 October), shifted and scaled per field, with smooth and
per-pixel noise, terrain shading and a slight blur that mixes field edges.
Clouds (SCL 8/9), thin cirrus (10) and their shadows (3) are blobs of smooth
noise on the 20 m grid; one scene per year has a nodata strip (SCL 0) at the
swath edge.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from synthetic.sky_and_terrain import clouds, terrain_shading
from synthetic.truth import SURFACE, TruthRegion, rng_for, smooth_noise

__all__ = [
    "BANDS_10M",
    "BANDS_20M",
    "COMMON_NAMES",
    "SceneArrays",
    "SceneSynth",
    "STRIP_ROWS",
    "season_dates",
    "scene_arrays",
    "green_cover",
    "reflectance_to_dn",
]

logger = logging.getLogger(__name__)

BANDS_10M = ("B02", "B03", "B04", "B08")
BANDS_20M = ("B11", "B12")
COMMON_NAMES = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B08": "nir",
    "B11": "swir16",
    "B12": "swir22",
}
_BANDS = BANDS_10M + BANDS_20M

# spectra in band order B02 B03 B04 B08 B11 B12
_GREEN = np.array([0.030, 0.075, 0.040, 0.440, 0.210, 0.100], dtype=np.float32)
_CANOPY = np.array([0.025, 0.050, 0.030, 0.330, 0.160, 0.075], dtype=np.float32)
_SOIL = np.array([0.090, 0.125, 0.170, 0.250, 0.330, 0.270], dtype=np.float32)
_STUBBLE = np.array([0.075, 0.100, 0.130, 0.230, 0.330, 0.250], dtype=np.float32)
_DRY_GRASS = np.array([0.070, 0.095, 0.115, 0.260, 0.300, 0.210], dtype=np.float32)
_WATER = np.array([0.045, 0.060, 0.040, 0.025, 0.012, 0.008], dtype=np.float32)
_PETALS = np.array([0.140, 0.110, 0.300, 0.420, 0.240, 0.140], dtype=np.float32)
_CLOUD = np.array([0.420, 0.410, 0.420, 0.460, 0.330, 0.240], dtype=np.float32)

_KNOT_DAYS = np.array([0, 30, 60, 90, 120, 150, 180], dtype=np.float32)
_COVER_CURVES = {
    # fraction of green cover on 1 Oct, 31 Oct, 30 Nov, 30 Dec, 29 Jan, 28 Feb, 30 Mar
    "opium_poppy": (0.00, 0.06, 0.40, 0.74, 0.68, 0.25, 0.05),
    "cannabis": (0.00, 0.02, 0.18, 0.45, 0.66, 0.72, 0.58),
    "dry_crop": (0.05, 0.10, 0.28, 0.55, 0.70, 0.58, 0.30),
    "paddy": (0.60, 0.42, 0.22, 0.12, 0.10, 0.10, 0.12),
    "forest": (0.92, 0.92, 0.90, 0.87, 0.82, 0.77, 0.74),
    "fallow_bare": (0.38, 0.32, 0.25, 0.18, 0.13, 0.10, 0.10),
    "water": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
}
_BACKGROUND = {
    "opium_poppy": _SOIL,
    "cannabis": _SOIL,
    "dry_crop": _SOIL,
    "paddy": _STUBBLE,
    "forest": _DRY_GRASS,
    "fallow_bare": _DRY_GRASS,
    "water": _WATER,
}
_PATCHY = (SURFACE["forest"], SURFACE["fallow_bare"])
_SCENE_DAYS = ((11, 15), (12, 15), (1, 14), (2, 13), (3, 15))
"""Month and day of the five acquisitions of a season (Nov..Mar)."""


def season_dates(seed: int, year: int) -> list[dt.datetime]:
    """Return the acquisition times (UTC) of the season harvested in ``year``."""
    rng = rng_for(seed, 20, year)
    dates = []
    for month, day in _SCENE_DAYS:
        start = dt.datetime(year - 1 if month >= 10 else year, month, day, 4, 0, 0)
        shift = dt.timedelta(days=int(rng.choice([-5, 0, 5])), seconds=int(rng.integers(0, 900)))
        dates.append(start + shift)
    return dates


def season_day(when: dt.datetime) -> float:
    """Days since 1 October of the season ``when`` belongs to."""
    start_year = when.year if when.month >= 10 else when.year - 1
    return (when - dt.datetime(start_year, 10, 1)).total_seconds() / 86400.0


def green_cover(surface_name: str, day: float | np.ndarray) -> np.ndarray:
    """Nominal fraction of green cover of a surface type ``day`` days after 1 October."""
    curve = np.asarray(_COVER_CURVES[surface_name], dtype=np.float32)
    return np.interp(np.asarray(day, dtype=np.float32), _KNOT_DAYS, curve).astype(np.float32)


@dataclass(frozen=True)
class SceneArrays:
    """One synthetic acquisition: reflectance, scene classification and masks."""

    scene_id: str
    """Earth Search style id, e.g. ``S2A_47QNA_20240114_0_L2A``."""
    platform: str
    """``sentinel-2a`` or ``sentinel-2b``."""
    datetime: dt.datetime
    """Acquisition time (UTC)."""
    reflectance: dict[str, np.ndarray]
    """Band -> float32 surface reflectance as encoded (10 m or 20 m grid)."""
    scl: np.ndarray
    """uint8 scene classification on the 20 m grid (0 no data ... 10 cirrus)."""
    nodata_10m: np.ndarray
    """bool, pixels outside the swath on the 10 m grid."""
    nodata_20m: np.ndarray
    """bool, pixels outside the swath on the 20 m grid."""
    cloud_cover: float
    """Percentage of valid 20 m pixels classed 8, 9 or 10."""


def reflectance_to_dn(reflectance: np.ndarray, nodata: np.ndarray) -> np.ndarray:
    """Encode reflectance as L2A DN (baseline >= 04.00): ``round((r + 0.1) * 10000)``.

    DN 0 marks no data; valid pixels are clipped to 1..65535.
    """
    dn = np.rint((reflectance.astype(np.float64) + 0.1) * 10_000.0)
    dn = np.clip(dn, 1, 65_535).astype(np.uint16)
    dn[nodata] = 0
    return dn


def _block_mean(array: np.ndarray) -> np.ndarray:
    """2 x 2 block mean (10 m -> 20 m); odd edges are padded by repetition."""
    height, width = array.shape
    padded = np.pad(array, ((0, height % 2), (0, width % 2)), mode="edge")
    h2, w2 = padded.shape[0] // 2, padded.shape[1] // 2
    return padded.reshape(h2, 2, w2, 2).mean(axis=(1, 3), dtype=np.float32)


def _up2(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.repeat(np.repeat(array, 2, axis=0), 2, axis=1)[: shape[0], : shape[1]]


_HALO = 2
"""Rows of context each side of a strip: the blur's radius (sigma 0.5 px, truncated at 4 sd)."""
STRIP_ROWS = 512
"""Rows of the 10 m grid synthesised at a time (even, a multiple of the GeoTIFF tiles)."""


def _row_noise(parts: tuple[int, ...], row0: int, row1: int, n: int) -> np.ndarray:
    """Standard normal noise, ``n`` values per row, drawn row by row from the seed.

    A row's noise depends only on the seed parts and the row number, so any strip
    of rows is the same whether made alone or as part of the whole scene.
    """
    out = np.empty((row1 - row0, n), dtype=np.float32)
    for k, row in enumerate(range(row0, row1)):
        out[k] = rng_for(*parts, row).standard_normal(n, dtype=np.float32)
    return out


class SceneSynth:
    """One synthetic acquisition, synthesised strip by strip (memory bounded).

    The clouds, shadows and nodata strip are drawn on the whole 20 m grid at
    construction (a quarter of the pixels, one byte or float each); surface
    reflectance is made for any range of rows on demand.
    """

    def __init__(self, truth: TruthRegion, year: int, index: int) -> None:
        self.truth, self.year, self.index = truth, year, index
        self.datetime = season_dates(truth.seed, year)[index]
        self.day = season_day(self.datetime)
        rng = rng_for(truth.seed, 21, year, index)
        self.platform = "sentinel-2a" if rng.random() < 0.5 else "sentinel-2b"
        mission = "S2A" if self.platform.endswith("a") else "S2B"
        self.scene_id = f"{mission}_47QNA_{self.datetime:%Y%m%d}_0_L2A"
        height, width = truth.shape
        self.shape10 = (height, width)
        self.shape20 = ((height + 1) // 2, (width + 1) // 2)
        fraction = 0.0 if index == 1 else float(rng.uniform(0.0, 0.33))
        self.opacity20, self.cirrus20, self.shadow20 = clouds(rng, self.shape20, fraction)
        strip_scene = int(rng_for(truth.seed, 22, year).integers(0, len(_SCENE_DAYS)))
        self.nodata20 = np.zeros(self.shape20, dtype=bool)
        if index == strip_scene:
            start, slope = rng.uniform(3, 10), rng.uniform(0.0, 0.02)
            cols = np.arange(self.shape20[1])[None, :]
            self.nodata20 = cols < (start + slope * np.arange(self.shape20[0])[:, None])
        self._luts = _lookup_tables(self.day)
        self._field_cover = _field_cover(truth.fields[year], self.day)

    @property
    def cloud_cover(self) -> float:
        """Percentage of valid 20 m pixels classed cloud (8, 9) or thin cirrus (10)."""
        valid = ~self.nodata20
        cloudy = (self.opacity20 > 0) | (self.cirrus20 > 0.01)
        return round(100.0 * float(cloudy[valid].mean()), 2) if valid.any() else 0.0

    @property
    def nodata_pct(self) -> float:
        """Percentage of the 20 m grid outside the swath."""
        return 100.0 * float(self.nodata20.mean())

    def strips(self, strip_rows: int = STRIP_ROWS):
        """Yield ``(row0, row1, reflectance by band, scl rows)`` over the 10 m grid."""
        for row0 in range(0, self.shape10[0], strip_rows):
            row1 = min(row0 + strip_rows, self.shape10[0])
            yield (row0, row1, *self.strip(row0, row1))

    def strip(self, row0: int, row1: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Reflectance of 10 m rows ``row0:row1`` (20 m bands: ``row0 // 2`` on) and their SCL."""
        if row0 % 2:
            raise ValueError(f"a strip starts on an even row (20 m grid), got {row0}")
        height = self.shape10[0]
        ext0, ext1 = max(row0 - _HALO, 0), min(row1 + _HALO, height)
        surface10 = self._surface_reflectance(ext0, ext1)[:, row0 - ext0 : row1 - ext0]
        r20 = slice(row0 // 2, (row1 + 1) // 2)
        opacity20, cirrus20 = self.opacity20[r20], self.cirrus20[r20]
        shadow20, nodata20 = self.shadow20[r20], self.nodata20[r20]
        shape10 = surface10.shape[1:]
        reflectance: dict[str, np.ndarray] = {}
        for b, band in enumerate(_BANDS):
            if band in BANDS_10M:
                clear = surface10[b]
                o, c = _up2(opacity20, shape10), _up2(cirrus20, shape10)
                s = _up2(shadow20, shape10)
            else:
                clear, o, c, s = _block_mean(surface10[b]), opacity20, cirrus20, shadow20
            value = (1 - o) * clear + o * _CLOUD[b] + c
            value = np.where(s, value * 0.35, value)
            reflectance[band] = np.clip(value, -0.0999, 1.6).astype(np.float32)
        red20, nir20 = _block_mean(reflectance["B04"]), _block_mean(reflectance["B08"])
        ndvi = (nir20 - red20) / np.maximum(nir20 + red20, 1e-6)
        water = self.truth.surface[self.year][row0:row1] == SURFACE["water"]
        water20 = _block_mean(water.astype(np.float32)) >= 0.5
        scl = np.where(ndvi > 0.35, 4, 5).astype(np.uint8)
        scl[water20 | (nir20 < 0.04)] = 6
        scl[shadow20] = 3
        scl[cirrus20 > 0.01] = 10
        scl[opacity20 > 0] = 8
        scl[opacity20 > 0.6] = 9
        scl[nodata20] = 0
        return reflectance, scl

    def _surface_reflectance(self, row0: int, row1: int) -> np.ndarray:
        """Cloud-free reflectance (6, rows, W) of 10 m rows ``row0:row1``, blurred."""
        truth, year, day = self.truth, self.year, self.day
        rows = slice(row0, row1)
        surface = truth.surface[year][rows]
        field_raster = truth.field_raster[year][rows]
        width = surface.shape[1]
        cover_lut, green_lut, background_lut = self._luts
        cover = cover_lut[surface]
        in_field = field_raster > 0
        cover[in_field] = self._field_cover[field_raster[in_field]]
        noise = _row_noise((truth.seed, 25, year, self.index), row0, row1, 8 * width)
        noise = noise.reshape(row1 - row0, 8, width).transpose(1, 0, 2)
        # canopy density and regrowth vary most in forest and fallow (degraded forest, scrub)
        patchiness = np.where(np.isin(surface, _PATCHY), 0.13, 0.06).astype(np.float32)
        scene_rng = rng_for(truth.seed, 24, year, self.index)
        cover += patchiness * smooth_noise(scene_rng, truth.shape, 6, rows=rows)
        cover += 0.05 * noise[0]
        cover += _open_canopy_and_regrowth(truth, surface, rows)
        water = surface == SURFACE["water"]
        np.clip(cover, 0.0, 0.97, out=cover)
        cover[water] = 0.0
        reflectance = cover * green_lut[:, surface] + (1.0 - cover) * background_lut[:, surface]
        if 75 <= day <= 125:  # poppy flowering: petals over the green canopy
            petals = 0.16 * np.exp(-(((day - 100) / 16) ** 2))
            poppy = surface == SURFACE["opium_poppy"]
            share = petals * cover[poppy] * np.clip(1 + 0.3 * noise[1][poppy], 0.5, 1.5)
            reflectance[:, poppy] = (1 - share) * reflectance[:, poppy] + share * _PETALS[:, None]
        reflectance *= terrain_shading(truth.elevation, rows, water)
        # sensor and residual atmospheric noise: relative 4 % plus 0.004 absolute
        reflectance += (0.04 * reflectance + 0.004) * noise[2:]
        for band in reflectance:  # the sensor's point spread: mixed edge pixels
            band[:] = ndimage.gaussian_filter(band, 0.5, mode="nearest")
        return reflectance


def _lookup_tables(day: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Green cover, green spectrum and background spectrum per surface code on ``day``."""
    cover_lut = np.zeros(256, dtype=np.float32)
    background_lut = np.zeros((6, 256), dtype=np.float32)
    green_lut = np.tile(_GREEN[:, None], (1, 256))
    green_lut[:, SURFACE["forest"]] = _CANOPY
    for name, code in SURFACE.items():
        cover_lut[code] = green_cover(name, day)
        background_lut[:, code] = _BACKGROUND[name]
    return cover_lut, green_lut, background_lut


def _field_cover(fields, day: float) -> np.ndarray:
    """Green cover of each field (index = 1-based field raster value; 0 unused) on ``day``.

    Each field has its own sowing shift and vigour; eradicated poppy is slashed to residue.
    """
    cover = np.zeros(len(fields) + 1, dtype=np.float32)
    if len(fields) == 0:
        return cover
    shift = fields.sow_shift_days.to_numpy(np.float32)
    vigour = fields.vigour.to_numpy(np.float32)
    kind = fields.surface.to_numpy(str)
    for name in ("opium_poppy", "cannabis", "dry_crop"):
        rows = kind == name
        cover[1:][rows] = green_cover(name, day - shift[rows]) * vigour[rows]
    cover[1:][(fields.eradication_day < day).to_numpy(bool)] = 0.04
    return cover


def _open_canopy_and_regrowth(truth: TruthRegion, surface: np.ndarray, rows: slice) -> np.ndarray:
    """Static cover offsets: open (degraded) forest and fallow with regrowth.

    The same in every scene of a region (drawn from the seed alone), so that
    degraded forest and old fallow look alike all season, as they do.
    """
    field = smooth_noise(rng_for(truth.seed, 23), truth.shape, 10, rows=rows)
    open_forest = 0.45 / (1 + np.exp((field + 1.0) / 0.3))
    regrowth = 0.30 / (1 + np.exp(-(field - 1.0) / 0.3))
    offset = np.zeros(surface.shape, dtype=np.float32)
    forest = surface == SURFACE["forest"]
    fallow = surface == SURFACE["fallow_bare"]
    offset[forest] = -open_forest[forest]
    offset[fallow] = regrowth[fallow]
    return offset


def scene_arrays(truth: TruthRegion, year: int, index: int) -> SceneArrays:
    """Generate acquisition ``index`` (0-4) of the season harvested in ``year``, whole.

    The same numbers :class:`SceneSynth` writes strip by strip; for small regions
    and tests.

    Parameters
    ----------
    truth
        The region's truth (``generate_truth``).
    year
        Harvest year (one of ``truth.years``).
    index
        Which of the season's acquisitions (0 = mid-November ... 4 = mid-March).

    Returns
    -------
    SceneArrays
        Reflectance per band (the value the DN encodes), SCL and masks.
    """
    synth = SceneSynth(truth, year, index)
    reflectance, scl = synth.strip(0, synth.shape10[0])
    return SceneArrays(
        scene_id=synth.scene_id,
        platform=synth.platform,
        datetime=synth.datetime,
        reflectance=reflectance,
        scl=scl,
        nodata_10m=_up2(synth.nodata20, synth.shape10),
        nodata_20m=synth.nodata20,
        cloud_cover=synth.cloud_cover,
    )
