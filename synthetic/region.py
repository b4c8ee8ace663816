"""Write, load and use the synthetic demo region on disk.

``build_demo_region`` writes the layout of ``docs/contracts.md`` ("The demo
region") into a temporary sibling folder, writes a completion marker last and
renames the folder into place, so a killed build leaves nothing half-made. A
complete region with the same parameters is loaded instead of rebuilt.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from core.errors import InvalidInputError, NotFoundError
from core.io import atomic_path, atomic_write_json, atomic_write_text
from core.legend import LEGEND, NODATA
from synthetic.drone import SEGMENT_SIZE_M, draw_segment_sample, orthomosaic, segment_frame
from synthetic.feedback import household_survey_text
from synthetic.s2_files import SYNTHETIC_TAG, write_geotiff, write_scene
from synthetic.scenes import SceneSynth, season_dates
from synthetic.survey import draw_survey, kobo_export_text
from synthetic.truth import (
    PIXEL_SIZE_M,
    TruthRegion,
    generate_truth,
    resolve_shape,
    rng_for,
)

__all__ = ["DemoRegion", "build_demo_region", "GENERATOR_VERSION"]

logger = logging.getLogger(__name__)

GENERATOR_VERSION = "4"
"""Bumped whenever the same parameters would give different files."""
COMPLETE_MARKER = ".complete.json"
N_ORTHOMOSAICS = 5
STALE_STAGING_S = 24 * 3600


@dataclass(frozen=True)
class DemoRegion:
    """Paths of a built synthetic demo region."""

    root: Path
    """Folder of the region."""
    seed: int
    """Seed it was drawn from."""
    scale: int
    """Area multiplier (1 = 1200 x 900 pixels, 12 districts)."""
    years: tuple[int, ...]
    """Survey (harvest) years."""
    crs: str
    """CRS of the rasters and districts (``EPSG:32647``)."""
    districts: Path
    """``districts.gpkg`` (layer ``districts``)."""
    scenes: dict[int, list[Path]]
    """Year -> STAC item JSON of each acquisition, in time order."""
    plots: dict[int, Path]
    """Year -> ``survey_plots.geojson``."""
    kobo_exports: dict[int, Path]
    """Year -> ``kobo_export.csv``."""
    drone: dict[int, list[Path]]
    """Year -> orthomosaic GeoTIFFs."""
    segments: dict[int, Path]
    """Year -> ``segments.gpkg`` of the sampled segments."""
    programmes: Path
    """``programmes.csv``."""
    truth: Path
    """The ``truth/`` folder."""
    landcover: dict[int, Path]
    """Year -> ``truth/landcover_<year>.tif``."""
    feedback: dict[int, Path]
    """Year -> ``feedback/<year>/household_survey.csv``."""
    region_json: Path
    """``region.json`` (parameters, bounds, legend, drone frame)."""

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> DemoRegion:
        """Read back a complete region built by :func:`build_demo_region`.

        Raises
        ------
        NotFoundError
            ``root`` holds no complete demo region.
        """
        root = Path(root)
        marker = root / COMPLETE_MARKER
        if not marker.is_file():
            raise NotFoundError(
                f"{root}: no complete synthetic demo region ({COMPLETE_MARKER} missing); "
                "build one with synthetic.build_demo_region(root)"
            )
        meta = json.loads((root / "region.json").read_text(encoding="utf-8"))
        years = tuple(int(y) for y in meta["years"])
        return cls(
            root=root,
            seed=int(meta["seed"]),
            scale=int(meta["scale"]),
            years=years,
            crs=meta["crs"],
            districts=root / "districts.gpkg",
            scenes={y: _scene_items(root / "imagery" / str(y)) for y in years},
            plots={y: root / "plots" / str(y) / "survey_plots.geojson" for y in years},
            kobo_exports={y: root / "plots" / str(y) / "kobo_export.csv" for y in years},
            drone={y: sorted((root / "drone" / str(y)).glob("segment_*.tif")) for y in years},
            segments={y: root / "drone" / str(y) / "segments.gpkg" for y in years},
            programmes=root / "programmes.csv",
            truth=root / "truth",
            landcover={y: root / "truth" / f"landcover_{y}.tif" for y in years},
            feedback={y: root / "feedback" / str(y) / "household_survey.csv" for y in years},
            region_json=root / "region.json",
        )


def _scene_items(folder: Path) -> list[Path]:
    items = [p for p in folder.glob("*/*.json") if p.stem == p.parent.name]
    return sorted(items, key=lambda p: json.loads(p.read_text())["properties"]["datetime"])


def _parameters(seed: int, scale: int, years, size, n_districts) -> dict:
    width, height, n = resolve_shape(scale, size, n_districts)
    return {
        "seed": int(seed),
        "scale": int(scale),
        "years": [int(y) for y in years],
        "size": [width, height],
        "n_districts": n,
        "generator_version": GENERATOR_VERSION,
    }


def build_demo_region(
    root: str | os.PathLike[str],
    *,
    seed: int = 42,
    scale: int = 1,
    years: tuple[int, ...] = (2024, 2025),
    size: tuple[int, int] | None = None,
    n_districts: int | None = None,
) -> DemoRegion:
    """Build (or load, if already complete) the SYNTHETIC known-truth demo region.

    Parameters
    ----------
    root
        Folder to create. It must not exist, be empty, or hold a complete region
        built with the same parameters (which is then loaded, not rebuilt).
    seed, scale, years, size, n_districts
        As in :func:`synthetic.generate_truth`.

    Returns
    -------
    DemoRegion
        Paths of everything written.

    Raises
    ------
    InvalidInputError
        ``root`` holds something else: another region or unrelated files.

    Examples
    --------
    >>> region = build_demo_region("workspace/demo", size=(300, 240))  # doctest: +SKIP
    >>> region.scenes[2024][0].name  # doctest: +SKIP
    'S2B_47QNA_20231115_0_L2A.json'
    """
    root = Path(root)
    params = _parameters(seed, scale, years, size, n_districts)
    existing, outdated = _existing(root, params)
    if existing is not None:
        return existing
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(root)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{root.name}-", dir=root.parent))
    try:
        truth = generate_truth(
            seed, scale=scale, years=tuple(years), size=size, n_districts=n_districts
        )
        with threadpool_limits(limits=1, user_api="blas"):  # small products: threads contend
            _write_region(staging, truth, params)
        atomic_write_json(staging / COMPLETE_MARKER, params)
        if outdated:  # made by an older generator: swap the new one in, then drop the old
            old = Path(tempfile.mkdtemp(prefix=f".tmp-{root.name}-old-", dir=root.parent))
            os.replace(root, old / root.name)
            os.replace(staging, root)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if root.exists():
                root.rmdir()  # empty (checked by _existing); a non-empty one raises
            os.replace(staging, root)
    except OSError:
        if root.is_dir() and (root / COMPLETE_MARKER).is_file():
            shutil.rmtree(staging, ignore_errors=True)  # another process finished first
            return build_demo_region(
                root, seed=seed, scale=scale, years=years, size=size, n_districts=n_districts
            )
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("built synthetic demo region %s (seed %s, scale %s)", root, seed, scale)
    return DemoRegion.load(root)


def _remove_stale_staging(root: Path) -> None:
    """Remove staging folders of builds of ``root`` killed more than a day ago.

    Younger ones may belong to a build still running in another process.
    """
    for leftover in root.parent.glob(f".tmp-{root.name}-*"):
        if leftover.is_dir() and time.time() - leftover.stat().st_mtime > STALE_STAGING_S:
            logger.info("removing %s, left by a killed build", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def _existing(root: Path, params: dict) -> tuple[DemoRegion | None, bool]:
    """Return (the complete region at ``root`` built with ``params``, or None; outdated?).

    ``outdated`` is True for a region built with the same parameters by an older
    generator version: it is rebuilt and replaced. Anything else at ``root`` raises.
    """
    if not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return None, False
    marker = root / COMPLETE_MARKER
    if not marker.is_file():
        raise InvalidInputError(
            f"{root} exists and is not a complete synthetic demo region; "
            "remove it or choose another folder"
        )
    built = json.loads(marker.read_text(encoding="utf-8"))
    if built == params:
        return DemoRegion.load(root), False
    same_request = {k: v for k, v in built.items() if k != "generator_version"} == {
        k: v for k, v in params.items() if k != "generator_version"
    }
    if same_request:
        logger.info(
            "%s was built by generator version %s; rebuilding with version %s",
            root,
            built.get("generator_version"),
            params["generator_version"],
        )
        return None, True
    raise InvalidInputError(
        f"{root} holds a demo region built with {built}, not {params}; "
        "remove it or choose another folder"
    )


def _write_region(root: Path, truth: TruthRegion, params: dict) -> None:
    crs, epsg = truth.crs, int(truth.crs.split(":")[1])
    frame = segment_frame(truth)
    scene_ids: dict[str, list[str]] = {}
    sampled: dict[str, dict[str, int]] = {}
    truth_dir = root / "truth"
    with atomic_path(root / "districts.gpkg") as tmp:
        truth.districts[["district_id", "district_name", "geometry"]].to_file(
            tmp, layer="districts", driver="GPKG"
        )
    for year in truth.years:
        write_geotiff(
            truth_dir / f"landcover_{year}.tif",
            truth.landcover[year],
            truth.transform,
            crs,
            tags={"LEGEND": json.dumps({c.code: c.name for c in LEGEND}), "YEAR": str(year)},
        )
        scene_ids[str(year)] = []
        for index in range(len(season_dates(truth.seed, year))):
            scene = SceneSynth(truth, year, index)
            write_scene(
                scene, root / "imagery" / str(year) / scene.scene_id, truth.transform, crs, epsg
            )
            scene_ids[str(year)].append(scene.scene_id)
        survey = draw_survey(truth, year)
        plots_dir = root / "plots" / str(year)
        with atomic_path(plots_dir / "survey_plots.geojson") as tmp:
            survey.to_file(tmp, driver="GeoJSON", layer="survey_plots", COORDINATE_PRECISION=7)
        atomic_write_text(plots_dir / "kobo_export.csv", kobo_export_text(survey, truth, year))
        atomic_write_text(
            root / "feedback" / str(year) / "household_survey.csv",
            household_survey_text(truth, year),
        )
        sampled[str(year)] = _write_drone(root / "drone" / str(year), truth, frame, year)
    with atomic_path(root / "drone" / "frame.gpkg") as tmp:
        frame[["segment_id", "stratum", "geometry"]].to_file(tmp, layer="frame", driver="GPKG")
    _write_tables(root, truth)
    atomic_write_text(root / "SYNTHETIC.txt", _synthetic_text(params))
    height, width = truth.shape
    atomic_write_json(
        root / "region.json",
        {
            "synthetic": True,
            **params,
            "crs": crs,
            "bounds": list(truth.bounds),
            "pixel_size_m": PIXEL_SIZE_M,
            "width": width,
            "height": height,
            "transform": list(truth.transform)[:6],
            "class_legend": {str(c.code): c.name for c in LEGEND},
            "nodata": NODATA,
            "scenes": scene_ids,
            "drone_frame": {
                "segment_size_m": SEGMENT_SIZE_M,
                "strata": {s: {"N_h": int((frame.stratum == s).sum())} for s in ("high", "low")},
                "stratum_rule": "high = mean segment elevation in the top 40 %",
                "sampled_n_h": sampled,
            },
        },
    )


def _write_drone(folder: Path, truth: TruthRegion, frame, year: int) -> dict[str, int]:
    sample = draw_segment_sample(truth, frame, year)
    with_poppy = sample[sample.opium_poppy_ha > 0].index[:3].tolist()
    others = [i for i in sample.index if i not in with_poppy]
    flown = set(with_poppy + others[: N_ORTHOMOSAICS - len(with_poppy)])
    names, dates = [], []
    flight_rng = rng_for(truth.seed, 42, year)
    for idx, seg in sample.iterrows():
        if idx not in flown:
            names.append(None)
            dates.append(None)
            continue
        name = f"segment_{seg.segment_id.split('-')[1]}.tif"
        day = float(flight_rng.uniform(95, 115))  # mid-January, poppy in flower
        flight_date = (dt.date(year - 1, 10, 1) + dt.timedelta(days=int(day))).isoformat()
        rgba, transform = orthomosaic(truth, year, seg, day=day)
        write_geotiff(
            folder / name,
            rgba,
            transform,
            truth.crs,
            nodata=None,
            tags={"SEGMENT_ID": seg.segment_id, "YEAR": str(year), "FLIGHT_DATE": flight_date},
            rgba=True,
        )
        names.append(name)
        dates.append(flight_date)
    sample["orthomosaic"] = names
    sample["flight_date"] = dates
    columns = ["segment_id", "district_id", "stratum", "opium_poppy_ha", "cannabis_ha",
               "year", "orthomosaic", "flight_date", "geometry"]  # fmt: skip
    with atomic_path(folder / "segments.gpkg") as tmp:
        sample[columns].to_file(tmp, layer="segments", driver="GPKG")
    return {s: int((sample.stratum == s).sum()) for s in ("high", "low")}


def _write_tables(root: Path, truth: TruthRegion) -> None:
    def csv_text(table: pd.DataFrame) -> str:
        return table.to_csv(index=False, lineterminator="\n")

    atomic_write_text(root / "programmes.csv", csv_text(truth.programmes))
    atomic_write_text(root / "truth" / "district_truth.csv", csv_text(truth.district_truth))
    atomic_write_text(root / "truth" / "programme_effect.csv", csv_text(truth.programme_effect))
    atomic_write_text(root / "truth" / "eradication.csv", csv_text(truth.eradication))
    atomic_write_text(root / "truth" / "yield.csv", csv_text(truth.yields))
    fields = pd.concat(
        [pd.DataFrame(f.drop(columns="geometry")) for f in truth.fields.values()],
        ignore_index=True,
    )
    atomic_write_text(root / "truth" / "fields.csv", csv_text(fields))


def _synthetic_text(params: dict) -> str:
    return (
        "SYNTHETIC DATA - NOT A REAL PLACE, NOT A REAL SURVEY\n\n"
        "This folder was generated by admon (synthetic.build_demo_region) as a\n"
        "known-truth demo region: imagery, field survey, drone segments, programme\n"
        "baselines and household feedback are all drawn from the rasters in truth/.\n"
        "District, village and programme names are fictional.\n\n"
        f"seed: {params['seed']}\nscale: {params['scale']}\nyears: {params['years']}\n"
        f"size (10 m pixels): {params['size'][0]} x {params['size'][1]}\n"
        f"districts: {params['n_districts']}\ngenerator version: {params['generator_version']}\n"
        f"GeoTIFF tag SYNTHETIC: {SYNTHETIC_TAG}\n"
    )
