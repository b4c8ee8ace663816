"""Fonts of the PNG maps and charts: every script the region's district names are written in.

DejaVu Sans (matplotlib's own) covers Latin and Vietnamese; Myanmar, Thai, Khmer
and Lao come from Debian's Noto fonts (``fonts-noto-core``, installed by
``scripts/system-deps.sh``). matplotlib draws each character with the first
family of ``font.family`` that has it. Families that are not installed are left
out of the list, so a machine without Noto draws with DejaVu alone and says
nothing (those names then show as boxes).

Text is drawn as written: a ``$`` in a district or programme name is a dollar
sign, not the start of TeX (``text.parse_math`` off), so a name from a user's
file can neither change how it reads nor stop a map from being drawn.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib
from matplotlib import font_manager

__all__ = ["FALLBACK_FAMILIES", "configure_fonts", "installed_families"]

logger = logging.getLogger(__name__)

FALLBACK_FAMILIES: tuple[str, ...] = (
    "DejaVu Sans",
    "Noto Sans Myanmar",
    "Noto Sans Thai",
    "Noto Sans Khmer",
    "Noto Sans Lao",
)
"""Font families in the order matplotlib tries them for each character."""


def _register_system_fonts(wanted: set[str]) -> None:
    """Add installed font files of ``wanted`` families matplotlib's cached list predates."""
    for path in font_manager.findSystemFonts(fontext="ttf"):
        stem = Path(path).stem.split("-")[0]  # NotoSansMyanmar-Regular -> NotoSansMyanmar
        if any(stem == family.replace(" ", "") for family in wanted):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # unreadable file: leave it out
                logger.debug("font file %s not readable", path)


def installed_families() -> list[str]:
    """The families of :data:`FALLBACK_FAMILIES` that are installed, in order."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    missing = set(FALLBACK_FAMILIES) - known
    if missing:
        _register_system_fonts(missing)
        known = {f.name for f in font_manager.fontManager.ttflist}
    return [family for family in FALLBACK_FAMILIES if family in known]


def configure_fonts() -> list[str]:
    """Set matplotlib's ``font.family`` to the installed fallback list; return it.

    Also turns mathtext off (``text.parse_math``): every label of admon's figures is
    plain text, and names come from users' files.
    """
    families = installed_families() or ["DejaVu Sans"]
    matplotlib.rcParams["font.family"] = families
    matplotlib.rcParams["text.parse_math"] = False
    logger.debug("map fonts: %s", ", ".join(families))
    return families
