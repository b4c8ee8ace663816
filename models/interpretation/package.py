"""The interpretation package: everything interpreters need to label a run's reference sample.

Phase 1 of a survey year writes it next to ``reference_sample.gpkg``::

    runs/<year>/<run_id>/interpretation/
      package.json        run, classes and their keys, imagery sources, the blind overlap
      points.csv          sample_id, order, lon, lat, x, y, sources (no map class: labels stay blind)
      ndvi_profiles.csv   sample_id, date, ndvi (each scene of the season)
      ceo_plots.csv ceo_samples.csv ceo_project.txt   the same points for Collect Earth Online
      README.txt          what this folder is and how to label it

``/interpret`` of ``admon serve`` reads it; labels go to the store as they are made.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from core.errors import InvalidInputError, NotFoundError
from core.io import atomic_write_json, atomic_write_text, read_csv_table, write_table
from core.legend import LEGEND
from models.interpretation.ceo import write_ceo_project

__all__ = [
    "PACKAGE_DIR",
    "PACKAGE_FORMAT",
    "ChipSource",
    "InterpretationPackage",
    "write_package",
    "load_package",
    "find_packages",
    "class_keys",
]

logger = logging.getLogger(__name__)

PACKAGE_DIR = "interpretation"
"""Folder of the package inside the run folder."""

PACKAGE_FORMAT = "admon-interpretation/1"

README = """Interpretation package of run {run_id} (survey year {year})

{n_points} reference sample points, drawn at random within strata of the class map.
Label each point with the land cover of its pixel ({pixel_size_m:g} m square) in the
season, on the drone or very-high-resolution imagery where there is some.

- In admon: `admon serve --config <survey.toml>`, open http://127.0.0.1:8000/interpret
  with an interpreter token (`admon token create --role interpreter --team <name>`).
  {overlap_n} points ({overlap_pct:.0f}%) go to a second interpreter, blind.
- In Collect Earth Online: create a project from ceo_plots.csv and ceo_samples.csv as
  ceo_project.txt says, then `admon interpret import-ceo <exported sample data.csv>`.

points.csv holds no map class on purpose: interpreters must not see what the map says.
"""


def class_keys() -> list[dict[str, str]]:
    """The legend as the interpreter sees it: name, label and keyboard key (1, 2, ...)."""
    return [{"name": c.name, "label": c.label, "key": str(i)} for i, c in enumerate(LEGEND, 1)]


@dataclass(frozen=True)
class ChipSource:
    """One raster interpreters can look at (the composite, an orthomosaic, a VHR scene)."""

    name: str
    """Short unique name (``composite_true``, ``drone_segment_3`` ...)."""
    kind: str
    """``composite``, ``drone`` or ``vhr``."""
    path: str
    """The GeoTIFF."""
    caption: str
    """What the chip shows, for people."""
    bands: tuple[int, int, int] = (1, 2, 3)
    """Bands shown as red, green, blue."""
    half_width_m: float = 25.0
    """Half the chip's edge on the ground (m)."""
    size_px: int = 256
    """Rendered chip edge (px)."""
    stretch: tuple[float, float] | None = None
    """Reflectance mapped to 0..255, or None for 8-bit images."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "caption": self.caption,
            "bands": list(self.bands),
            "half_width_m": self.half_width_m,
            "size_px": self.size_px,
            "stretch": list(self.stretch) if self.stretch else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChipSource:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            path=str(data["path"]),
            caption=str(data.get("caption", data["name"])),
            bands=tuple(int(b) for b in data.get("bands", (1, 2, 3))),  # type: ignore[arg-type]
            half_width_m=float(data.get("half_width_m", 25.0)),
            size_px=int(data.get("size_px", 256)),
            stretch=tuple(data["stretch"]) if data.get("stretch") else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class InterpretationPackage:
    """A package as read back (:func:`load_package`)."""

    folder: Path
    run_id: str
    year: int
    crs: str
    """CRS of ``x``/``y`` in ``points`` (the class map's)."""
    pixel_size_m: float
    """Edge of the sample unit (one map pixel)."""
    classes: list[dict[str, str]]
    overlap: frozenset[int]
    """Points that go to a second interpreter, blind."""
    overlap_share: float
    points: pd.DataFrame
    """``sample_id, order, lon, lat, x, y, sources`` indexed by sample_id."""
    sources: dict[str, ChipSource]
    profiles: pd.DataFrame = field(repr=False)
    """``sample_id, date, ndvi``."""

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def order(self) -> list[int]:
        """Sample ids in the (seeded, random) order interpreters see them."""
        return self.points.sort_values("order").index.tolist()

    def chip_names(self, sample_id: int) -> list[str]:
        """The chips of one point: the composite's, then every drone/VHR image covering it."""
        row = self._row(sample_id)
        own = [s for s in str(row["sources"] or "").split(";") if s]
        return [n for n, s in self.sources.items() if s.kind == "composite"] + own

    def profile(self, sample_id: int) -> list[dict[str, Any]]:
        """The point's NDVI through the season, ``[{date, ndvi}]`` (``ndvi`` None when masked)."""
        self._row(sample_id)
        rows = self.profiles[self.profiles["sample_id"] == int(sample_id)]
        return [
            {"date": str(r.date), "ndvi": None if pd.isna(r.ndvi) else float(r.ndvi)}
            for r in rows.itertuples(index=False)
        ]

    def _row(self, sample_id: int) -> pd.Series:
        try:
            return self.points.loc[int(sample_id)]
        except (KeyError, ValueError):
            raise NotFoundError(f"run {self.run_id}: no sample point {sample_id!r}") from None


def write_package(
    folder: str | Path,
    *,
    run_id: str,
    year: int,
    sample: gpd.GeoDataFrame,
    sources: list[ChipSource],
    coverage: dict[str, np.ndarray],
    profiles: pd.DataFrame | None,
    pixel_size_m: float,
    overlap_share: float,
    seed: int,
) -> Path:
    """Write the interpretation package of a drawn reference sample.

    Parameters
    ----------
    folder
        ``<run_dir>/interpretation``.
    run_id, year
        The run that drew the sample.
    sample
        ``reference_sample.gpkg`` (``sample_id`` and point geometry in the map's CRS).
    sources
        Composite chips first, then drone and VHR images.
    coverage
        ``{source name: boolean array over sample rows}`` for drone/VHR sources.
    profiles
        ``sample_id, date, ndvi`` (``geo.chips.point_profiles``), or None.
    pixel_size_m
        The map pixel (the sample unit).
    overlap_share
        Share of points (0..1) given to a second interpreter, blind.
    seed
        Seed of the viewing order and of the overlap draw.

    Returns
    -------
    Path
        ``folder/package.json``.
    """
    if not 0 <= overlap_share <= 1:
        raise InvalidInputError(f"overlap share {overlap_share} must be within 0..1")
    if sample.crs is None or not len(sample):
        raise InvalidInputError("the reference sample is empty or has no CRS")
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    ids = sample["sample_id"].astype("int64").to_numpy()
    n_overlap = min(len(ids), math.ceil(overlap_share * len(ids)))
    overlap = sorted(int(i) for i in rng.choice(ids, size=n_overlap, replace=False))
    lonlat = sample.geometry.to_crs(4326)
    names_by_row = [[] for _ in ids]
    for name, inside in coverage.items():
        for row in np.flatnonzero(inside):
            names_by_row[row].append(name)
    points = pd.DataFrame(
        {
            "sample_id": ids,
            "order": rng.permutation(len(ids)),
            "lon": lonlat.x.round(7).to_numpy(),
            "lat": lonlat.y.round(7).to_numpy(),
            "x": sample.geometry.x.round(3).to_numpy(),
            "y": sample.geometry.y.round(3).to_numpy(),
            "sources": [";".join(n) for n in names_by_row],
        }
    )
    write_table(points, folder / "points.csv")
    if profiles is None:
        profiles = pd.DataFrame(columns=["sample_id", "date", "ndvi"])
    write_table(profiles, folder / "ndvi_profiles.csv")
    write_ceo_project(folder, points, pixel_size_m=pixel_size_m)
    manifest = {
        "format": PACKAGE_FORMAT,
        "run_id": run_id,
        "year": int(year),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "crs": sample.crs.to_string(),
        "pixel_size_m": float(pixel_size_m),
        "n_points": int(len(ids)),
        "classes": class_keys(),
        "overlap_share": float(overlap_share),
        "overlap": overlap,
        "sources": [s.to_dict() for s in sources],
    }
    atomic_write_text(
        folder / "README.txt",
        README.format(
            run_id=run_id,
            year=year,
            n_points=len(ids),
            pixel_size_m=pixel_size_m,
            overlap_n=n_overlap,
            overlap_pct=100 * overlap_share,
        ),
    )
    logger.info("interpretation package of %s: %d points in %s", run_id, len(ids), folder)
    return atomic_write_json(folder / "package.json", manifest)


def load_package(folder: str | Path) -> InterpretationPackage:
    """Read a package written by :func:`write_package` (the folder or its ``package.json``).

    Raises
    ------
    NotFoundError
        No package there.
    InvalidInputError
        Not an admon interpretation package, a file of it is missing, or a field of
        ``package.json`` or a column of ``points.csv`` is.
    """
    folder = Path(folder)
    if folder.name == "package.json":
        folder = folder.parent
    path = folder / "package.json"
    if not path.is_file():
        raise NotFoundError(f"{folder}: no interpretation package (package.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}: not valid JSON ({exc})") from None
    if data.get("format") != PACKAGE_FORMAT:
        raise InvalidInputError(f"{path}: format {data.get('format')!r} is not {PACKAGE_FORMAT}")
    try:
        points = read_csv_table(
            folder / "points.csv", dtype={"sources": str}, keep_default_na=False
        )
        profiles = read_csv_table(folder / "ndvi_profiles.csv")
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{folder}: {Path(exc.filename).name} is missing") from None
    missing = [c for c in ("sample_id", "order", "x", "y", "sources") if c not in points.columns]
    if missing:
        raise InvalidInputError(
            f"{folder / 'points.csv'}: no column {missing[0]!r}; rerun phase 1 of the run "
            "to write the package again"
        )
    points = points.set_index("sample_id", drop=False)
    try:
        return InterpretationPackage(
            folder=folder,
            run_id=str(data["run_id"]),
            year=int(data["year"]),
            crs=str(data["crs"]),
            pixel_size_m=float(data["pixel_size_m"]),
            classes=list(data["classes"]),
            overlap=frozenset(int(i) for i in data["overlap"]),
            overlap_share=float(data["overlap_share"]),
            points=points,
            sources={s["name"]: ChipSource.from_dict(s) for s in data["sources"]},
            profiles=profiles,
        )
    except KeyError as exc:
        raise InvalidInputError(
            f"{path}: no {exc.args[0]!r}; the file is not as write_package writes it "
            "(edited by hand?): rerun phase 1 of the run to write it again"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{path}: a field has the wrong type ({exc})") from None


def find_packages(workspace: str | Path) -> list[Path]:
    """Package folders of every run in a workspace, newest first."""
    found = Path(workspace).glob(f"runs/*/*/{PACKAGE_DIR}/package.json")
    return [p.parent for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]
