"""Offline web assets: ship Leaflet and its plugins next to a published map.

folium renders ``<script src>`` and ``<link href>`` tags pointing at CDNs, so a
map opened without internet is blank. At publish time every resource a map
needs is copied from an installed package (``folium-offline`` embeds the exact
files folium 0.20 links to) into ``<run_dir>/static/`` and the elements are
re-pointed at those relative paths. Resources only folium's markers need
(jQuery, Bootstrap, Font Awesome, awesome-markers) are dropped: admon draws
circle markers and its own legends.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

from branca.element import Element

from core.errors import AdmonError
from core.io import atomic_write_text

__all__ = ["STATIC_DIRNAME", "DROPPED_RESOURCES", "localise_assets", "remote_references"]

logger = logging.getLogger(__name__)

STATIC_DIRNAME = "static"
"""Folder (next to ``map.html``) that holds the shipped JavaScript and CSS."""

DROPPED_RESOURCES: frozenset[str] = frozenset(
    {"jquery", "bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers"}
    | {"awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css"}
)
"""folium resource names admon's maps do not use and therefore do not ship."""


@cache
def _embedded_resources() -> dict[str, str]:
    """Map CDN URL -> file text, as embedded in the installed ``folium-offline``."""
    try:
        from offlinefolium.elements import _res  # the package's URL -> content table
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise AdmonError(
            "offline map assets need the 'folium-offline' package; "
            "install the project dependencies (make test / uv pip install -e .)"
        ) from exc
    return dict(_res)


_VERSION = re.compile(r"@[^/]+")


def _resolve(url: str, resources: dict[str, str]) -> str | None:
    """The embedded URL for ``url``: exact, else the same file of another version.

    folium may move to a newer Leaflet or plugin before folium-offline does; the
    nearest embedded version keeps maps working (with a warning) rather than
    failing the publish.
    """
    if url in resources:
        return url
    unversioned = _VERSION.sub("", url)
    candidates = sorted(k for k in resources if _VERSION.sub("", k) == unversioned)
    if candidates:
        logger.warning("map resource %s not embedded; using %s", url, candidates[-1])
        return candidates[-1]
    return None


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _local_name(url: str) -> str:
    """A stable, collision-free file name for a CDN URL (``leaflet@1.9.3/leaflet.js``)."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    basename = parts[-1] if parts else "resource"
    versioned = next((p for p in reversed(parts[:-1]) if re.search(r"\d", p)), "")
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", f"{versioned}-{basename}" if versioned else basename)
    return stem


def localise_assets(root: Element, static_dir: Path) -> list[Path]:
    """Re-point every JS/CSS resource of a folium map at files in ``static_dir``.

    Walks the element tree (map, plugins, layers), copies each resource from
    the installed ``folium-offline`` package into ``static_dir`` and replaces
    the element's ``default_js`` / ``default_css`` with relative links
    ``static/<file>``. Call before rendering the map.

    Parameters
    ----------
    root
        The ``folium.Map`` (or its Figure).
    static_dir
        Destination folder, normally ``<run_dir>/static``; created if absent.

    Returns
    -------
    list of Path
        The asset files written.

    Raises
    ------
    AdmonError
        When a resource is neither shipped by ``folium-offline`` nor in
        :data:`DROPPED_RESOURCES`; the message names the URL.
    """
    resources = _embedded_resources()
    static_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local: list[tuple[str, str]] = []
            for name, url in links:
                if name in DROPPED_RESOURCES:
                    continue
                if not url.startswith(("http://", "https://")):
                    local.append((name, url))
                    continue
                embedded = _resolve(url, resources)
                if embedded is None:
                    raise AdmonError(
                        f"map resource {name!r} ({url}) is not available offline: "
                        "it is not embedded in the installed folium-offline; use another "
                        "plugin or add the file to maps/ and ship it"
                    )
                filename = _local_name(embedded)
                if filename not in written:
                    written[filename] = atomic_write_text(
                        static_dir / filename, resources[embedded]
                    )
                local.append((name, f"{STATIC_DIRNAME}/{filename}"))
            # instance attribute: never mutate folium's class-level lists
            setattr(element, attr, local)
    logger.debug("shipped %d map assets into %s", len(written), static_dir)
    return sorted(written.values())


_REMOTE_REF = re.compile(
    r"""<(?:script|link|img)\b[^>]*?(?:src|href)\s*=\s*["'](https?:)?//""", re.I
)


def remote_references(html: str) -> list[str]:
    """Return the tags of ``html`` that would load a script, style or image from the network."""
    return [m.group(0) for m in _REMOTE_REF.finditer(html)]
