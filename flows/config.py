"""The run configuration: what an annual survey run reads, how it computes, where it writes.

A run is described by a TOML file (``admon run CONFIG.toml``); every key is
documented in ``data/example_run.toml``. Paths in the file are relative to the
file's own folder, and may contain ``{year}``, filled in per survey year.
Validation errors name the key and say what to put there.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigError
from core.strata import RECOMMENDED_ALLOCATION, RECOMMENDED_BUFFER_PX, stratum_code

__all__ = [
    "RunConfig",
    "SurveyConfig",
    "InputsConfig",
    "StacSearchConfig",
    "GridConfig",
    "ClassificationConfig",
    "EstimationConfig",
    "InterpretationConfig",
    "OutputConfig",
    "PublishConfig",
    "ScheduleConfig",
    "DaskConfig",
    "load_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurveyConfig(_Section):
    name: str = "Annual survey"
    """Name printed on maps and reports."""
    years: list[int] = Field(min_length=1)
    """Survey (harvest) years to run; a year's season starts in the previous calendar year."""
    season_start: str = "10-01"
    """Month-day the season starts, in the calendar year before the survey year."""
    season_end: str = "04-15"
    """Month-day the season ends, in the survey year."""
    synthetic: bool = False
    """True for the built-in demo: every output is labelled SYNTHETIC."""

    @field_validator("season_start", "season_end")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            date.fromisoformat(f"2001-{value}")
        except ValueError:
            raise ValueError(f"{value!r} is not a month-day like '10-01'") from None
        return value

    @field_validator("years")
    @classmethod
    def _plausible_years(cls, years: list[int]) -> list[int]:
        for year in years:
            if not 1984 <= year <= 2100:
                raise ValueError(f"{year} is not a plausible survey year (1984-2100)")
        return sorted(set(years))

    def season(self, year: int) -> tuple[date, date]:
        """Return the (first, last) day of the season harvested in ``year``."""
        start = date.fromisoformat(f"{year - 1}-{self.season_start}")
        end = date.fromisoformat(f"{year}-{self.season_end}")
        return start, end


class StacSearchConfig(_Section):
    catalog: str
    """STAC API root URL (e.g. https://earth-search.aws.element84.com/v1) or the path of a
    static catalogue's catalog.json."""
    collections: list[str] | None = None
    """Collection ids to search (e.g. ["sentinel-2-l2a"]); default every collection."""
    max_cloud_cover: float | None = Field(None, ge=0, le=100)
    """Leave out items whose eo:cloud_cover (percent) is above this."""
    limit: int = Field(500, ge=1)
    """Most items used per survey year."""


class InputsConfig(_Section):
    districts: Path
    """Districts (zones) file: GeoPackage, GeoJSON or Shapefile with ids and names."""
    district_id: str = "district_id"
    """Column of the district identifier."""
    district_name: str = "district_name"
    """Column of the district name."""
    imagery: list[str] = Field(default_factory=list)
    """Glob patterns of scenes (STAC item JSON, S2 product folders, Landsat MTL), may contain {year}."""
    stac: StacSearchConfig | None = None
    """Search a STAC API or catalogue for the season's scenes over the districts (with or
    instead of ``imagery``)."""
    training_plots: str
    """Field survey plots used to train the classifier, may contain {year}."""
    reference: str | None = None
    """A labelled reference sample file (points with reference_class and the design columns),
    may contain {year}; without it, the labels interpreters make on ``/interpret`` (or import
    from Collect Earth Online) for the run's own sample are used."""
    reference_interpreter: Literal["file", "synthetic_truth"] = "file"
    """Who labels the sample: people (``file``: the store's labels or ``reference``), or (demo
    only) the generator's truth."""
    orthomosaics: list[str] = Field(default_factory=list)
    """Drone orthomosaic GeoTIFFs (glob patterns, may contain {year}) shown to interpreters
    where they cover a sample point."""
    vhr: list[str] = Field(default_factory=list)
    """Very-high-resolution GeoTIFFs (glob patterns, may contain {year}) shown to interpreters."""
    truth_landcover: str | None = None
    """Demo only: the true land cover raster that stands in for photo-interpreters."""
    programmes: Path | None = None
    """AD programme baseline table (CSV, xlsx, GeoPackage, GeoJSON)."""
    segments: str | None = None
    """Area-frame sample segments (stratum, <crop>_ha interpreted on drone/VHR imagery), may contain {year}."""
    segment_frame_sizes: dict[str, int] | None = None
    """Segments in the whole area frame per stratum (N_h), needed with ``segments``."""
    segment_frame: str | None = None
    """Every segment of the area frame (``stratum`` and footprint), optional: with it the
    segment estimates' variance uses the class map over the whole frame (Isaki's ratio)."""
    feedback: str | None = None
    """Farmer feedback survey export, may contain {year}."""

    @model_validator(mode="after")
    def _some_imagery(self) -> InputsConfig:
        if not self.imagery and self.stac is None:
            raise ValueError(
                "no imagery: give inputs.imagery (glob patterns of scenes) or an "
                "[inputs.stac] section (catalog = STAC API URL or catalog.json)"
            )
        return self


class GridConfig(_Section):
    crs: str | None = None
    """Analysis CRS, projected in metres (e.g. 'EPSG:32647'). Default: the districts' own
    CRS when it is projected in metres, the UTM zone of their area when they are in degrees."""
    resolution_m: float = Field(10.0, gt=0)
    """Pixel size of the analysis grid in metres (a grid of fewer than 100 pixels is refused)."""
    equal_area: bool = False
    """Use the equal-area CRS EPSG:6933 instead when crs is not given."""


class ClassificationConfig(_Section):
    seed: int = 0
    """Random seed of the classifier and the training/validation split."""
    holdout_fraction: float = Field(0.3, gt=0, lt=1)
    """Share of field plots held out (by plot) for the confusion matrix."""


class EstimationConfig(_Section):
    confidence: float = Field(0.95, gt=0.5, lt=1)
    """Confidence level of every interval."""
    n_per_stratum: dict[str, int] = Field(default_factory=lambda: dict(RECOMMENDED_ALLOCATION))
    """Reference points per stratum in each district (stratified random sampling).

    Strata are the map classes and, with ``buffer_px``, ``<class>_near_crops`` rings of
    pixels next to mapped poppy and cannabis, where omitted fields hide.
    """
    buffer_px: int = Field(RECOMMENDED_BUFFER_PX, ge=0)
    """Width in pixels of the ``*_near_crops`` strata (0: map classes only)."""
    min_per_stratum: int = Field(2, ge=2)
    """Below this many samples in a stratum, a district falls back to the regional estimate."""
    sample_seed: int = 1
    """Seed of the reference sample draw."""


class InterpretationConfig(_Section):
    overlap_share: float = Field(0.1, ge=0, le=1)
    """Share of sample points a second interpreter labels, blind (agreement is measured on them)."""
    min_labelled_share: float = Field(1.0, gt=0, le=1)
    """Share of the sample that must be labelled before the next run estimates from it."""
    detail_chip_m: float = Field(30.0, gt=0)
    """Edge on the ground (m) of the drone and VHR chips centred on each point."""


class OutputConfig(_Section):
    workspace: Path = Path("workspace")
    """Workspace folder: store, runs and published gallery."""
    store: str | None = None
    """Store URL (postgresql://...) or GeoPackage path; default <workspace>/store.gpkg."""


class PublishConfig(_Section):
    """What the public publication shows (the restricted one shows everything)."""

    public: list[Literal["estimates", "programmes", "density", "charts", "report"]] = Field(
        default_factory=lambda: ["estimates", "programmes", "density", "charts", "report"]
    )
    """Parts of the public site besides its district map: district estimate downloads and
    maps, programme change, the generalised density map, charts, the printable report."""
    min_households: int = Field(5, ge=1)
    """Household feedback of fewer households than this is withheld from a public cell."""
    density_cell_km2: float = Field(1.0, gt=0)
    """Cell area of the public cultivation density map; no finer raster is published."""
    min_plots: int = Field(3, ge=2)
    """Eradication figures of a district resting on fewer field plots are withheld in public."""


class ScheduleConfig(_Section):
    cron: str = "0 2 1 5 *"
    """When the scheduled annual run starts (default 1 May 02:00, after the harvest and imagery are in)."""
    timezone: str = "Asia/Yangon"
    """Time zone of the cron schedule."""


class DaskConfig(_Section):
    address: str | None = None
    """Address of an existing Dask scheduler (tcp://host:8786); empty for a local cluster."""
    n_workers: int | None = Field(None, ge=1)
    """Workers of the local cluster (the cores shared among them as threads); default sized by Dask."""
    serial: bool = False
    """Run tasks in the flow's own process, without Dask (small runs, debugging)."""


class RunConfig(_Section):
    """A whole run configuration, as read from TOML."""

    survey: SurveyConfig
    inputs: InputsConfig
    grid: GridConfig = GridConfig()
    classification: ClassificationConfig = ClassificationConfig()
    estimation: EstimationConfig = EstimationConfig()
    interpretation: InterpretationConfig = InterpretationConfig()
    output: OutputConfig = OutputConfig()
    publish: PublishConfig = PublishConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    dask: DaskConfig = DaskConfig()
    base_dir: Path = Path(".")
    """Folder the relative paths are resolved against (the config file's folder)."""

    @field_validator("estimation", mode="after")
    @classmethod
    def _known_strata(cls, estimation: EstimationConfig) -> EstimationConfig:
        for name in estimation.n_per_stratum:
            try:
                stratum_code(name)
            except (KeyError, ValueError):
                raise ValueError(
                    f"n_per_stratum: {name!r} is not a class or '<class>_near_crops' stratum"
                ) from None
        return estimation

    @model_validator(mode="after")
    def _segments_need_frame(self) -> RunConfig:
        if self.inputs.segments and not self.inputs.segment_frame_sizes:
            raise ValueError(
                "inputs.segments needs inputs.segment_frame_sizes ({stratum = N_h, ...})"
            )
        return self

    @model_validator(mode="after")
    def _interpreter_needs_source(self) -> RunConfig:
        if (
            self.inputs.reference_interpreter == "synthetic_truth"
            and not self.inputs.truth_landcover
        ):
            raise ValueError(
                "inputs.reference_interpreter = 'synthetic_truth' needs inputs.truth_landcover"
            )
        return self

    def path(self, template: str | Path | None, year: int | None = None) -> Path | None:
        """Resolve a configured path (with ``{year}`` filled) against the config folder."""
        if template is None:
            return None
        text = str(template)
        if year is not None:
            text = text.replace("{year}", str(year))
        candidate = Path(text).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)

    @property
    def workspace(self) -> Path:
        return self.path(self.output.workspace)  # type: ignore[return-value]

    @property
    def store_url(self) -> str:
        if self.output.store:
            if "://" in self.output.store:
                return self.output.store
            return str(self.path(self.output.store))
        return str(self.workspace / "store.gpkg")


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: the run configuration is not valid"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "missing":
            message = "is required but missing; see data/example_run.toml for what it means"
        elif item["type"] == "extra_forbidden":
            message = "is not a known key (typo?); data/example_run.toml lists every key"
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)


def load_config(source: str | Path | dict[str, Any], *, base_dir: Path | None = None) -> RunConfig:
    """Read and validate a run configuration.

    Parameters
    ----------
    source
        Path of a TOML file, or an already parsed mapping.
    base_dir
        Folder relative paths are resolved against; defaults to the TOML file's folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        The file is missing, is not TOML, or a key is missing, unknown or invalid; the
        message lists every problem with its key.
    """
    if isinstance(source, dict):
        raw, name = dict(source), "configuration"
        folder = base_dir or Path.cwd()
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such configuration file")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        folder = base_dir or path.resolve().parent
    raw.setdefault("base_dir", str(folder))
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, name)) from None
