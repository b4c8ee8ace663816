"""Spectral indices from reflectance, by name, from the Awesome Spectral Indices catalogue.

Formulas and default constants are those of the catalogue (Montero et al.
2023, Scientific Data 10: 197) as shipped by ``spyndex``; nothing is re-typed
here. admon's band names map to the catalogue's symbols (``red`` -> ``R``,
``nir`` -> ``N``, ``swir1`` -> ``S1``...). Each index is evaluated block by
block (``xarray.apply_ufunc`` with dask), so it stays lazy and never holds more
than one chunk per band.

Defaults worth knowing (catalogue values): ``L = 1`` (EVI, EVI2 and SAVI
alike; pass ``L=0.5`` for Huete's original SAVI), ``g = 2.5``, ``C1 = 6``,
``C2 = 7.5``. ``NDRE`` is an alias of the catalogue's ``NDREI``
(``(N - RE1) / (N + RE1)``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import spyndex
import xarray as xr

from core.errors import InvalidInputError

__all__ = ["compute", "BAND_SYMBOLS", "ALIASES", "required_bands", "catalogue_name"]

logger = logging.getLogger(__name__)

BAND_SYMBOLS = {
    "coastal": "A",
    "blue": "B",
    "green": "G",
    "red": "R",
    "rededge1": "RE1",
    "rededge2": "RE2",
    "rededge3": "RE3",
    "nir": "N",
    "nir08": "N2",
    "swir1": "S1",
    "swir2": "S2",
}
"""admon band name -> Awesome Spectral Indices band symbol."""

ALIASES = {"NDRE": "NDREI"}
"""Common index names that the catalogue files under another name."""

_SYMBOL_TO_BAND = {symbol: band for band, symbol in BAND_SYMBOLS.items()}


def catalogue_name(index: str) -> str:
    """The catalogue's spelling of ``index`` (case-insensitive, aliases resolved).

    Raises
    ------
    InvalidInputError
        No such index in the catalogue.

    Examples
    --------
    >>> catalogue_name("ndvi"), catalogue_name("exg"), catalogue_name("NDRE")
    ('NDVI', 'ExG', 'NDREI')
    """
    wanted = ALIASES.get(index.upper(), index)
    if wanted in spyndex.indices:
        return wanted
    by_upper = {name.upper(): name for name in spyndex.indices}
    try:
        return by_upper[wanted.upper()]
    except KeyError:
        raise InvalidInputError(
            f"spectral index {index!r} is not in the Awesome Spectral Indices catalogue "
            f"({len(by_upper)} indices, e.g. NDVI, EVI, SAVI, NDMI, VARI); check the spelling"
        ) from None


def required_bands(index: str) -> list[str]:
    """admon band names an index needs (constants excluded).

    Examples
    --------
    >>> required_bands("EVI")
    ['nir', 'red', 'blue']
    """
    symbols = spyndex.indices[catalogue_name(index)].bands
    return [_SYMBOL_TO_BAND.get(s, s) for s in symbols if s in spyndex.bands]


def _constants_for(name: str, given: dict[str, Any]) -> dict[str, float]:
    values = {}
    for symbol in spyndex.indices[name].bands:
        if symbol in spyndex.bands:
            continue
        if symbol in given:
            values[symbol] = given[symbol]
        elif symbol in spyndex.constants and spyndex.constants[symbol].default is not None:
            values[symbol] = spyndex.constants[symbol].default
        else:
            raise InvalidInputError(
                f"index {name}: constant {symbol!r} has no default in the catalogue; "
                f"pass it, e.g. compute(bands, [{name!r}], {symbol}=...)"
            )
    return values


def _evaluate(name: str, symbols: tuple[str, ...], constants: dict[str, float]) -> Any:
    """A numpy function of the band arrays (in ``symbols`` order) for one index.

    The catalogue formula is compiled once and evaluated on each block the way
    ``spyndex.computeIndex`` does (``eval`` of the formula with the bands and
    constants as names), without computeIndex's per-call Earth Engine import
    probe, which is slow and not safe from several dask threads at once.
    """
    formula = compile(spyndex.indices[name].formula, f"<{name} formula>", "eval")

    def index_block(*arrays: np.ndarray) -> np.ndarray:
        params: dict[str, Any] = dict(
            zip(symbols, (a.astype(np.float32, copy=False) for a in arrays), strict=True)
        )
        params.update(constants)
        with np.errstate(all="ignore"):
            value = np.asarray(eval(formula, {}, params), dtype=np.float32)
            inputs_ok = np.logical_and.reduce([np.isfinite(a) for a in arrays])
        return np.where(inputs_ok & np.isfinite(value), value, np.float32(np.nan))

    return index_block


def compute(bands: xr.Dataset, indices: Sequence[str], **constants: Any) -> xr.Dataset:
    """Compute spectral indices from a reflectance Dataset.

    Parameters
    ----------
    bands : xarray.Dataset
        Reflectance (0-1) named by admon's band names (``blue``, ``red``,
        ``nir``, ``swir1``...), any dimensions (e.g. ``(y, x)`` or ``(time, y, x)``),
        numpy- or dask-backed.
    indices : sequence of str
        Catalogue index names (case-insensitive): ``NDVI``, ``EVI``, ``EVI2``,
        ``SAVI``, ``MSAVI``, ``NDMI``, ``NBR``, ``GNDVI``, ``NDRE``, ``VARI``,
        ``ExG``, ``GLI`` or any other of the catalogue.
    **constants
        Catalogue constants overriding the defaults (``L``, ``g``, ``C1``, ``C2``...).

    Returns
    -------
    xarray.Dataset
        One float32 variable per index, named as requested, on the same grid;
        NaN where any input is NaN or the formula is undefined (0/0, sqrt of a
        negative). Lazy when ``bands`` is.

    Raises
    ------
    InvalidInputError
        Unknown index, a band it needs is missing, or a constant has no default.

    Examples
    --------
    >>> import xarray as xr
    >>> refl = xr.Dataset({"red": ("x", [0.1, 0.2]), "nir": ("x", [0.5, 0.2])})
    >>> [round(float(v), 4) for v in compute(refl, ["NDVI"])["NDVI"].values]
    [0.6667, 0.0]
    """
    results = {}
    for requested in indices:
        name = catalogue_name(requested)
        needed = required_bands(name)
        missing = [band for band in needed if band not in bands]
        if missing:
            raise InvalidInputError(
                f"index {requested}: needs band(s) {missing} which the input lacks "
                f"(has {sorted(v for v in bands.data_vars if v in BAND_SYMBOLS)}); "
                "choose an index these bands support"
            )
        symbols = tuple(BAND_SYMBOLS[band] for band in needed)
        inputs = [bands[band] for band in needed]
        value = xr.apply_ufunc(
            _evaluate(name, symbols, _constants_for(name, constants)),
            *inputs,
            dask="parallelized",
            output_dtypes=[np.float32],
            keep_attrs=False,
        )
        spec = spyndex.indices[name]
        value.attrs.update(
            {"long_name": spec.long_name, "formula": spec.formula, "reference": spec.reference}
        )
        results[requested] = value
        logger.debug("index %s (%s) from bands %s", requested, name, needed)
    out = xr.Dataset(results)
    out.attrs = {k: v for k, v in bands.attrs.items() if k in ("sensor",)}
    if "spatial_ref" in bands.coords:
        out = out.assign_coords(spatial_ref=bands["spatial_ref"])
    return out
