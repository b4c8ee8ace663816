"""``admon check``: every input of a survey configuration checked up front, all problems at once.

Nothing heavy is computed: files are opened, headers and tables read, so a
misnamed column or a season with no scene shows in seconds instead of one
failed run at a time. Each finding names the key, the file and the fix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import rasterio
from rasterio.errors import RasterioError
from shapely.geometry import box

from core.errors import AdmonError, ConfigError
from flows.config import RunConfig, load_config
from flows.phases import interpretation_spec
from flows.plan import find_scenes
from geo.estimation import REFERENCE_CLASS_COLUMNS
from geo.imagery import describe_source
from geo.readers.base import FileInfo, inspect_file
from models.programme import load_programmes
from models.survey import load_plots

__all__ = ["Finding", "check_survey", "DESIGN_COLUMNS"]

log = logging.getLogger(__name__)

DESIGN_COLUMNS = ("stratum", "stratum_pixels")
"""Columns a labelled reference file needs for admon to know how its points were drawn."""


@dataclass(frozen=True)
class Finding:
    """One result of the check."""

    key: str
    """The configuration key (``inputs.districts``) or ``config``."""
    message: str
    """What was found, and for a problem what to do."""
    problem: bool = False
    """True when the run would fail or give wrong numbers; False for a note."""


def _ok(key: str, message: str) -> Finding:
    return Finding(key, message, False)


def _bad(key: str, message: str) -> Finding:
    return Finding(key, message, True)


def check_survey(config_path: str | Path) -> list[Finding]:
    """Check a survey configuration and every input it names, for every survey year.

    Parameters
    ----------
    config_path
        The run configuration (TOML).

    Returns
    -------
    list of Finding
        Notes and problems, in the order of the configuration; ``problem`` marks
        the ones to fix before ``admon run``.
    """
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return [_bad("config", str(exc))]
    findings = [_ok("config", f"{config_path}: valid; survey years {config.survey.years}")]
    districts = None
    for finding, frame in _districts(config):
        findings.append(finding)
        districts = frame if frame is not None else districts
    for year in config.survey.years:
        findings += list(_scenes(config, year, districts))
        findings += list(_training(config, year))
        findings += list(_reference(config, year))
        findings += list(_images(config, year))
        findings += list(_optional_files(config, year))
    findings += list(_programmes(config, districts))
    findings.append(_workspace(config))
    return findings


def _districts(config: RunConfig) -> Iterator[tuple[Finding, gpd.GeoDataFrame | None]]:
    key = "inputs.districts"
    path = config.path(config.inputs.districts)
    if not path.exists():
        yield _bad(key, f"{path} does not exist; put the districts (zones) file there"), None
        return
    try:
        districts = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the finding
        yield _bad(key, f"{path} cannot be read as a GIS file ({exc})"), None
        return
    wanted = {"inputs.district_id": config.inputs.district_id,
              "inputs.district_name": config.inputs.district_name}  # fmt: skip
    missing = {k: v for k, v in wanted.items() if v not in districts.columns}
    columns = [c for c in districts.columns if c != "geometry"]
    for setting, column in missing.items():
        yield _bad(setting, f"{path} has no column {column!r}; its columns are {columns}"), None
    if districts.crs is None:
        yield _bad(key, f"{path} has no CRS; set it (e.g. EPSG:4326) in QGIS"), None
    invalid = int((~districts.geometry.is_valid | districts.geometry.is_empty).sum())
    if invalid:
        yield _bad(key, f"{path}: {invalid} empty or invalid polygons; repair them "
                        "(QGIS: Fix geometries)"), None  # fmt: skip
    if config.inputs.district_id in districts.columns:
        ids = districts[config.inputs.district_id].astype(str)
        duplicated = sorted(set(ids[ids.duplicated()]))
        if duplicated:
            yield _bad("inputs.district_id", f"{path}: ids {duplicated[:5]} appear more than "
                                             "once; every district needs its own id"), None  # fmt: skip
    if missing or districts.crs is None or invalid:
        return
    yield (
        _ok(key, f"{path}: {len(districts)} districts, CRS {districts.crs.to_string()}"),
        districts,
    )


def _scenes(config: RunConfig, year: int, districts: gpd.GeoDataFrame | None) -> Iterator[Finding]:
    key = f"inputs.imagery ({year})"
    try:
        scenes = find_scenes(config, year)
    except (AdmonError, OSError) as exc:
        yield _bad(key, str(exc))
        return
    first, last = config.survey.season(year)
    in_season, area = 0, None
    if districts is not None:
        area = districts.to_crs(4326).union_all()
    for scene in scenes:
        try:
            spec = describe_source(scene)
        except AdmonError as exc:
            yield _bad(key, f"{scene}: {exc}")
            continue
        when = pd.Timestamp(spec.time).date() if spec.time is not None else None
        if when is None or not first <= when <= last:
            yield _ok(key, f"{scene}: acquired {when}, outside the season {first}..{last}; "
                           "the run skips it")  # fmt: skip
        else:
            in_season += 1
        band = spec.bands[0].path
        if area is not None and "://" not in band:
            try:
                footprint = _footprint(inspect_file(band))
            except AdmonError as exc:
                yield _bad(key, f"{scene}: {exc}")
                continue
            if not footprint.intersects(area):
                yield _bad(key, f"{scene}: covers no district; is it the right tile (or the "
                                "districts' CRS wrong)?")  # fmt: skip
    if in_season == 0:
        yield _bad(key, f"none of the {len(scenes)} scenes of {year} lies in the season "
                        f"{first}..{last}; check survey.season_start/season_end and the images")  # fmt: skip
    else:
        yield _ok(key, f"{in_season} scenes of {year} in the season {first}..{last}")


def _footprint(info: FileInfo):
    """A raster's footprint in WGS84, from its header (``inspect_file``)."""
    left, top = info.transform * (0, 0)
    right, bottom = info.transform * (info.width, info.height)
    outline = box(min(left, right), min(top, bottom), max(left, right), max(top, bottom))
    return gpd.GeoSeries([outline], crs=info.crs).to_crs(4326).iloc[0]


def _training(config: RunConfig, year: int) -> Iterator[Finding]:
    key = f"inputs.training_plots ({year})"
    path = config.path(config.inputs.training_plots, year)
    if not path.exists():
        yield _bad(key, f"{path} does not exist; upload the year's field data with "
                        "'admon upload FILE --team TEAM --config <survey.toml>' (it writes "
                        "<workspace>/field/<year>/survey_plots.gpkg) or point the key at a file")  # fmt: skip
        return
    try:
        plots, report = load_plots(path)
    except AdmonError as exc:
        yield _bad(key, f"{path}: {exc}")
        return
    if report.rejected:
        first = report.errors[0] if report.errors else {}
        yield _ok(key, f"{path}: {report.rejected} rows rejected, e.g. {first}")
    classes = sorted(set(plots.get("land_cover", pd.Series(dtype=str)).dropna()))
    if len(plots) == 0 or len(classes) < 2:
        yield _bad(key, f"{path}: {len(plots)} usable plots of classes {classes}; the classifier "
                        "needs plots of at least two land cover classes")  # fmt: skip
    else:
        yield _ok(key, f"{path}: {len(plots)} plots, classes {classes}")


def _reference(config: RunConfig, year: int) -> Iterator[Finding]:
    key = f"inputs.reference ({year})"
    if config.inputs.reference_interpreter != "file":
        return
    path = config.path(config.inputs.reference, year)
    if path is None or not path.exists():
        yield _ok(key, "no labelled file: the first run draws the sample and waits for "
                       "interpreters (/interpret or Collect Earth Online)")  # fmt: skip
        return
    try:
        labelled = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001
        yield _bad(key, f"{path} cannot be read ({exc})")
        return
    missing = [c for c in DESIGN_COLUMNS if c not in labelled.columns]
    if not any(c in labelled.columns for c in REFERENCE_CLASS_COLUMNS):
        yield _bad(key, f"{path}: no class column (one of {list(REFERENCE_CLASS_COLUMNS)})")
    if missing:
        yield _bad(key, f"{path}: no sampling design (missing {missing}); admon will not "
                        "estimate from points whose selection it cannot tell; label the run's "
                        "own reference_sample.gpkg instead")  # fmt: skip
    elif labelled.crs is None:
        yield _bad(key, f"{path}: no CRS")
    else:
        yield _ok(key, f"{path}: {len(labelled)} labelled points with their design")


def _images(config: RunConfig, year: int) -> Iterator[Finding]:
    spec = interpretation_spec(config, year)
    for key, patterns, files in (("inputs.orthomosaics", config.inputs.orthomosaics, spec.orthomosaics),
                                 ("inputs.vhr", config.inputs.vhr, spec.vhr)):  # fmt: skip
        if patterns and not files:
            other = spec.vhr if key == "inputs.orthomosaics" else spec.orthomosaics
            shown = (
                "the other images and the season composite"
                if other
                else "the season composite only"
            )
            yield _ok(
                f"{key} ({year})", f"no file matches {patterns}; interpreters will see {shown}"
            )
        for path in files:
            try:
                with rasterio.open(path) as src:
                    if src.crs is None:
                        yield _bad(f"{key} ({year})", f"{path}: no CRS; georeference it")
            except RasterioError as exc:
                yield _bad(f"{key} ({year})", f"{path}: not a readable GeoTIFF ({exc})")
        if files:
            yield _ok(f"{key} ({year})", f"{len(files)} images for the interpreters")


def _optional_files(config: RunConfig, year: int) -> Iterator[Finding]:
    for key, template in (("inputs.segments", config.inputs.segments),
                          ("inputs.feedback", config.inputs.feedback),
                          ("inputs.truth_landcover", config.inputs.truth_landcover)):  # fmt: skip
        path = config.path(template, year)
        if path is not None and not path.exists():
            yield _bad(f"{key} ({year})", f"{path} does not exist; fix the path or remove the key")
    if config.inputs.segments and config.path(config.inputs.segments, year).exists():
        segments = gpd.read_file(config.path(config.inputs.segments, year))
        if "stratum" not in segments.columns:
            yield _bad(f"inputs.segments ({year})", "segments have no 'stratum' column")


def _programmes(config: RunConfig, districts: gpd.GeoDataFrame | None) -> Iterator[Finding]:
    if config.inputs.programmes is None:
        return
    path = config.path(config.inputs.programmes)
    if not path.exists():
        yield _bad("inputs.programmes", f"{path} does not exist; fix the path or remove the key")
        return
    zones = None
    if districts is not None:
        zones = districts.rename(columns={config.inputs.district_id: "district_id"})
        zones["district_id"] = zones["district_id"].astype(str)
    try:
        programmes, report = load_programmes(path, districts=zones)
    except AdmonError as exc:
        yield _bad("inputs.programmes", f"{path}: {exc}")
        return
    if report.rejected:
        yield _bad("inputs.programmes", f"{path}: {report.rejected} rows rejected: "
                                        f"{report.errors[:3]}")  # fmt: skip
    yield _ok("inputs.programmes", f"{path}: {len(programmes)} programmes")


def _workspace(config: RunConfig) -> Finding:
    target = config.workspace
    existing = next(p for p in [target, *target.parents] if p.exists())
    if not os.access(existing, os.W_OK):
        return _bad("output.workspace", f"{target}: {existing} is not writable")
    return _ok("output.workspace", f"{target} (store {config.store_url})")
