"""Deprecated alias of :mod:`geo.estimation`, kept importable for one release.

``geo.area.stratified_area_estimate`` and ``geo.area.zonal_class_area`` are public
contracts; new code imports from ``geo.estimation``.
"""

from __future__ import annotations

from geo.estimation import *  # noqa: F403
from geo.estimation import __all__  # noqa: F401
