"""Pixel maths of quality bands: which pixels are clear.

Pure numpy, one function per mask kind, so the rules can be read and tested
without any file.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SCL_INVALID",
    "SCL_SNOW",
    "QA_PIXEL_INVALID_BITS",
    "QA_PIXEL_SNOW_BIT",
    "scl_clear",
    "qa_pixel_clear",
    "alpha_clear",
    "clear_from_mask",
]

SCL_INVALID = (0, 1, 3, 8, 9, 10)
"""Sentinel-2 scene classes masked out: no data, saturated/defective, cloud shadow,
cloud medium and high probability, thin cirrus."""
SCL_SNOW = 11
"""Sentinel-2 scene class for snow and ice (masked only on request)."""
QA_PIXEL_INVALID_BITS = (0, 1, 2, 3, 4)
"""Landsat C2 QA_PIXEL bits masked out: fill, dilated cloud, cirrus, cloud, cloud shadow."""
QA_PIXEL_SNOW_BIT = 5
"""Landsat C2 QA_PIXEL snow bit (masked only on request)."""


def scl_clear(scl: np.ndarray, *, mask_snow: bool = False) -> np.ndarray:
    """True where a Sentinel-2 SCL class is usable.

    Examples
    --------
    >>> scl_clear(np.array([0, 4, 9, 11])).tolist()
    [False, True, False, True]
    """
    invalid = SCL_INVALID + ((SCL_SNOW,) if mask_snow else ())
    return ~np.isin(scl, invalid)


def qa_pixel_clear(qa: np.ndarray, *, mask_snow: bool = False) -> np.ndarray:
    """True where no Landsat C2 QA_PIXEL fill/cloud/cirrus/shadow bit is set.

    Examples
    --------
    >>> qa_pixel_clear(np.array([21824, 1, 22280, 55052])).tolist()
    [True, False, False, False]
    """
    bits = QA_PIXEL_INVALID_BITS + ((QA_PIXEL_SNOW_BIT,) if mask_snow else ())
    invalid_mask = sum(1 << bit for bit in bits)
    return (qa.astype(np.uint32) & invalid_mask) == 0


def alpha_clear(alpha: np.ndarray, *, mask_snow: bool = False) -> np.ndarray:
    """True where an alpha band is not fully transparent."""
    return alpha > 0


_KINDS = {"scl": scl_clear, "qa_pixel": qa_pixel_clear, "alpha": alpha_clear}


def clear_from_mask(values: np.ndarray, kind: str, *, mask_snow: bool = False) -> np.ndarray:
    """Dispatch to the rule for ``kind`` (``scl``, ``qa_pixel`` or ``alpha``)."""
    try:
        rule = _KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown mask kind {kind!r}; expected one of {sorted(_KINDS)}") from None
    return rule(values, mask_snow=mask_snow)
