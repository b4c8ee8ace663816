"""admon publishing: interactive map, static maps and charts, run report, gallery.

``publish_run`` writes every output of one run folder (restricted) and its
public set (``public/``); ``build_gallery`` writes the two sites,
``published/public/`` and ``published/restricted/``, listing all runs. Pages work offline: their
JavaScript and CSS are shipped next to them.
"""

from __future__ import annotations

from maps.gallery import build_gallery, list_runs
from maps.publish import programme_areas, publish_run

__all__ = ["publish_run", "build_gallery", "list_runs", "programme_areas"]
