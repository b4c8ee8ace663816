"""Every raster product of a season, as lazy arrays sharing one graph.

The season composite, its valid count, the NDVI composites and metrics and the
classifier's features are all views of the same few computations: per-date NDVI,
per-pixel medians and percentiles. :func:`season_layers` builds each of them
once (the band medians and the NDVI median and 90th percentile are bands of the
features, the NDVI metrics those the features' peak date comes from), so that
:func:`geo.cog.write_cogs` reads every scene block once and computes every
product from it.
"""

from __future__ import annotations

import xarray as xr

from geo.composite import band_variables, season_composite, valid_count
from geo.features import season_features

__all__ = ["SEASON_LAYERS", "season_layers"]

SEASON_LAYERS: tuple[str, ...] = (
    "composite_median",
    "valid_count",
    "ndvi_median",
    "ndvi_p90",
    "ndvi_peak_value",
    "ndvi_peak_doy",
    "ndvi_peak_day",
    "ndvi_min_value",
    "ndvi_amplitude",
    "ndvi_mean_value",
    "ndvi_valid_count",
    "features",
)
"""The products of :func:`season_layers`, in order."""


def season_layers(
    season: xr.Dataset, *, chunk_px: int = 512
) -> dict[str, xr.DataArray | xr.Dataset]:
    """The season's products as lazy arrays, keyed as :data:`SEASON_LAYERS`.

    Parameters
    ----------
    season : xarray.Dataset
        A season stack from ``geo.imagery.read_season``.
    chunk_px : int, default 512
        Side of the ``(y, x)`` blocks (:func:`geo.features.build_features`).

    Returns
    -------
    dict
        ``composite_median`` (Dataset: the median of every band of the season, in
        the season's band order), ``valid_count`` (int16 valid dates), ``ndvi_median``
        and ``ndvi_p90`` (named ``ndvi``), the :func:`geo.composite.seasonal_metrics`
        of NDVI as ``ndvi_<metric>``, and ``features`` (``(feature, y, x)``).
        The same numbers as computing each product on its own.
    """
    built = season_features(season, chunk_px=chunk_px)
    features = built.features
    in_features = set(features["feature"].values.tolist())
    bands = band_variables(season)
    others = [band for band in bands if f"{band}_median" not in in_features]
    # bands the features leave out (e.g. coastal) get their own median
    extra = season_composite(season[[*others, "valid"]], "median") if others else {}
    medians = {
        band: extra[band] if band in others else _feature(features, f"{band}_median", band)
        for band in bands
    }
    layers: dict[str, xr.DataArray | xr.Dataset] = {
        "composite_median": xr.Dataset(medians).rio.write_crs(season.rio.crs),
        "valid_count": valid_count(season),
        "ndvi_median": _feature(features, "ndvi_median", "ndvi"),
        "ndvi_p90": _feature(features, "ndvi_p90", "ndvi"),
    }
    for name in built.ndvi_metrics.data_vars:
        layers[f"ndvi_{name}"] = built.ndvi_metrics[name]
    layers["features"] = features
    return layers


def _feature(features: xr.DataArray, feature: str, name: str) -> xr.DataArray:
    """One band of the features as a ``(y, x)`` raster called ``name``."""
    return features.sel(feature=feature, drop=True).rename(name)
