"""``admon init``: a survey folder a newcomer can fill in, with a commented ``survey.toml``.

Every path of the configuration resolves inside the folder, so ``admon upload``,
``run``, ``serve`` and ``estimate`` given ``--config survey.toml`` all see one
workspace.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

from core.errors import ConfigError
from core.io import atomic_write_text

__all__ = ["init_survey_folder", "SURVEY_FOLDERS"]

log = logging.getLogger(__name__)

SURVEY_FOLDERS = {
    "districts": "the districts (zones): districts.gpkg, or a GeoJSON/Shapefile named in survey.toml",
    "imagery/{year}": "one scene per entry: a STAC item .json, a Sentinel-2 L2A .SAFE folder (or a "
    "folder of its band files with MTD_MSIL2A.xml), or a Landsat C2 L2 scene folder",
    "field": "raw field exports as the teams send them (load them with admon upload)",
    "drone/{year}": "drone orthomosaics (GeoTIFF) of the sample segments, shown to interpreters",
    "vhr/{year}": "very-high-resolution images (GeoTIFF), shown to interpreters",
    "reference/{year}": "only if the sample is labelled outside admon and returned as a file",
    "programmes": "AD programme baselines (programmes.csv), optional",
    "workspace": "made by admon: store.gpkg, field/<year>/ exports, runs/, published/",
}
"""Folders of a survey folder and what goes in each (also written to its README.md)."""

SURVEY_TOML = """# admon survey configuration, written by `admon init`. Paths are relative to this file.
# "{{year}}" in a path is replaced by each survey (harvest) year. Every key is documented
# in admon's data/example_run.toml; `admon check survey.toml` checks all inputs at once.

[survey]
name = {name}
years = {years}                      # survey (harvest) years; the season starts the year before
season_start = "10-01"               # month-day the season starts (previous calendar year)
season_end = "04-15"                 # month-day the season ends (survey year)

[inputs]
districts = "districts/districts.gpkg"
district_id = "district_id"          # the id column of your districts file
district_name = "district_name"      # the name column
# One scene per entry of imagery/<year>/ (STAC item JSON, .SAFE or band folder, Landsat folder).
imagery = ["imagery/{{year}}/*"]
# Field plots: `admon upload FILE --team TEAM --config survey.toml` writes this file.
training_plots = "workspace/field/{{year}}/survey_plots.gpkg"
# Reference labels: by default the interpreters' labels in the store (/interpret, or a
# Collect Earth Online import). Name a file only if the sample comes back labelled as a file.
# reference = "reference/{{year}}/reference_labelled.gpkg"
reference_interpreter = "file"
orthomosaics = ["drone/{{year}}/*.tif"]  # drone orthomosaics shown to interpreters
vhr = ["vhr/{{year}}/*.tif"]             # very-high-resolution images shown to interpreters
# programmes = "programmes/programmes.csv"             # AD programme baselines (optional)
# segments = "drone/{{year}}/segments.gpkg"             # area-frame segments (optional)
# segment_frame_sizes = {{ high = 690, low = 1040 }}    # segments per stratum in the frame
# segment_frame = "drone/frame.gpkg"                   # every frame segment (optional)

[estimation]
confidence = 0.95
# Reference points per stratum in each district; see data/example_run.toml.
# n_per_stratum = {{ opium_poppy = 20, cannabis = 15, other_crops = 15, forest = 35, fallow_bare = 20, water = 2, other_crops_near_crops = 6, forest_near_crops = 6, fallow_bare_near_crops = 4, water_near_crops = 2 }}

[interpretation]
overlap_share = 0.1                  # share of points a second interpreter labels, blind
min_labelled_share = 1.0             # share that must be labelled before estimating

[output]
workspace = "workspace"
"""

README = """# {name}

A survey folder for admon. Fill it in, check it, run it:

```
admon check survey.toml
admon upload field/<export>.csv --team <team> --config survey.toml
admon run survey.toml                 # phase 1: map, draw the reference sample, wait for labels
admon token create --config survey.toml --team <interpreter> --role interpreter
admon serve --config survey.toml      # interpreters label at http://127.0.0.1:8000/interpret
admon run survey.toml                 # phase 2: estimates from the labels, published
```

What goes where:

{folders}
"""


def init_survey_folder(
    folder: str | Path, *, name: str = "Annual survey", years: list[int] | None = None
) -> list[Path]:
    """Write a survey folder: ``survey.toml``, ``README.md`` and the empty folders.

    Parameters
    ----------
    folder
        Where to make it; may exist, but must not already hold a ``survey.toml``.
    name
        The survey's name, printed on maps and reports.
    years
        Survey (harvest) years; default the year whose season ended last.

    Returns
    -------
    list of Path
        The files and folders written.

    Raises
    ------
    ConfigError
        ``folder/survey.toml`` exists (nothing is overwritten).
    """
    folder = Path(folder)
    config = folder / "survey.toml"
    if config.exists():
        raise ConfigError(f"{config} exists; admon init never overwrites a survey")
    if years is None:
        today = date.today()
        years = [today.year if today >= date(today.year, 4, 15) else today.year - 1]
    written = []
    for sub in SURVEY_FOLDERS:
        for year in years if "{year}" in sub else [None]:
            path = folder / (sub.replace("{year}", str(year)) if year else sub)
            path.mkdir(parents=True, exist_ok=True)
            written.append(path)
    # a JSON string is a TOML basic string (same escapes), but for DEL, which TOML forbids
    quoted = json.dumps(name, ensure_ascii=False).replace("\x7f", "\\u007f")
    atomic_write_text(config, SURVEY_TOML.format(name=quoted, years=sorted(set(years))))
    lines = "\n".join(
        f"- `{sub.replace('{year}', '<year>')}/`: {what}" for sub, what in SURVEY_FOLDERS.items()
    )
    atomic_write_text(folder / "README.md", README.format(name=name, folders=lines))
    log.info("survey folder written in %s", folder)
    return [config, folder / "README.md", *written]
