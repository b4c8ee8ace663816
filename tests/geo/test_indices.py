"""geo.indices: catalogue indices against values worked out by hand."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from core.errors import InvalidInputError
from geo.indices import catalogue_name, compute, required_bands

# pixel 0: vegetation; 1: red = nir = 0 and green + red - blue = 0 (0/0); 2: red missing
REFLECTANCE = {
    "blue": [0.05, 0.10, 0.05],
    "green": [0.08, 0.10, 0.08],
    "red": [0.06, 0.00, np.nan],
    "rededge1": [0.15, 0.10, 0.15],
    "nir": [0.40, 0.00, 0.40],
    "swir1": [0.20, 0.10, 0.20],
    "swir2": [0.10, 0.10, 0.10],
}

# Worked by hand from the catalogue formulas with its defaults (g 2.5, C1 6, C2 7.5, L 1)
HAND = {
    "NDVI": 0.34 / 0.46,
    "EVI": 2.5 * 0.34 / (0.40 + 6 * 0.06 - 7.5 * 0.05 + 1),
    "EVI2": 2.5 * 0.34 / (0.40 + 2.4 * 0.06 + 1),
    "SAVI": 2 * 0.34 / (0.46 + 1),
    "MSAVI": 0.5 * (1.8 - np.sqrt(1.8**2 - 8 * 0.34)),
    "NDMI": 0.2 / 0.6,
    "NBR": 0.3 / 0.5,
    "GNDVI": 0.32 / 0.48,
    "NDRE": 0.25 / 0.55,
    "VARI": 0.02 / 0.09,
    "ExG": 2 * 0.08 - 0.06 - 0.05,
    "GLI": 0.05 / 0.27,
}


@pytest.fixture
def reflectance() -> xr.Dataset:
    data = {
        name: (("y", "x"), da.from_array(np.array([values], dtype=np.float32), chunks=(1, 2)))
        for name, values in REFLECTANCE.items()
    }
    return xr.Dataset(data, coords={"y": [0.5], "x": [0.5, 1.5, 2.5]})


def test_required_indices_match_hand_values(reflectance):
    result = compute(reflectance, list(HAND))
    for name, expected in HAND.items():
        assert isinstance(result[name].data, da.Array), name  # still lazy
        values = result[name].values[0]
        assert values.dtype == np.float32
        assert values[0] == pytest.approx(expected, abs=1e-5), name
        if "red" in required_bands(name):
            assert np.isnan(values[2]), f"{name}: NaN input must give NaN"
        else:
            assert values[2] == pytest.approx(expected, abs=1e-5), name


def test_undefined_formula_gives_nan_not_inf(reflectance):
    result = compute(reflectance, ["NDVI", "VARI", "GNDVI"])
    assert np.isnan(result["NDVI"].values[0, 1])  # 0 / 0
    assert np.isnan(result["VARI"].values[0, 1])  # 0.1 / (0.1 + 0 - 0.1): infinite
    assert result["GNDVI"].values[0, 1] == pytest.approx(-1.0)  # defined: (0 - .1)/(0 + .1)


def test_constants_override_catalogue_defaults(reflectance):
    savi_half = compute(reflectance, ["SAVI"], L=0.5)["SAVI"].values[0, 0]
    assert savi_half == pytest.approx(1.5 * 0.34 / 0.96, abs=1e-5)


def test_names_are_case_insensitive_and_kept_as_requested(reflectance):
    result = compute(reflectance, ["ndvi", "exg"])
    assert list(result.data_vars) == ["ndvi", "exg"]
    assert result["ndvi"].values[0, 0] == pytest.approx(HAND["NDVI"], abs=1e-5)
    assert catalogue_name("ndre") == "NDREI"


def test_any_catalogue_index_by_name(reflectance):
    # NDWI (McFeeters 1996) = (G - N) / (G + N)
    assert compute(reflectance, ["NDWI"])["NDWI"].values[0, 0] == pytest.approx(
        -0.32 / 0.48, abs=1e-5
    )
    # an index needing wavelengths has no default for them: clear error, then works when given
    with pytest.raises(InvalidInputError, match="lambdaN"):
        compute(reflectance, ["DVIplus"])
    dvi_plus = compute(reflectance, ["DVIplus"], lambdaN=842.0, lambdaR=665.0, lambdaG=560.0)
    w = (842.0 - 665.0) / (842.0 - 560.0)
    assert dvi_plus["DVIplus"].values[0, 0] == pytest.approx(
        w * 0.08 + (1 - w) * 0.40 - 0.06, abs=1e-5
    )


def test_rgb_only_drone_input_gets_rgb_indices():
    rgb = xr.Dataset(
        {"red": ("x", [0.2]), "green": ("x", [1.0]), "blue": ("x", [0.4])}, coords={"x": [0]}
    )
    result = compute(rgb, ["VARI", "ExG", "GLI"])
    assert result["VARI"].values[0] == pytest.approx(0.8 / 0.8)
    assert result["ExG"].values[0] == pytest.approx(2.0 - 0.6)
    assert result["GLI"].values[0] == pytest.approx(1.4 / 2.6)
    with pytest.raises(InvalidInputError, match=r"NDVI: needs band\(s\) \['nir'\]"):
        compute(rgb, ["NDVI"])


def test_unknown_index_and_time_stack(reflectance):
    with pytest.raises(InvalidInputError, match="not in the Awesome Spectral Indices"):
        compute(reflectance, ["NOTANINDEX"])
    stack = xr.concat([reflectance, reflectance * 0.5], dim="time")
    ndvi = compute(stack, ["NDVI"])["NDVI"]
    assert ndvi.dims == ("time", "y", "x")
    np.testing.assert_allclose(ndvi.values[:, 0, 0], [HAND["NDVI"]] * 2, atol=1e-5)
    assert required_bands("EVI") == ["nir", "red", "blue"]
