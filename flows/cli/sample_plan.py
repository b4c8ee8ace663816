"""``admon plan``: reference points per stratum for the precision the working group needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import AdmonError, InvalidInputError
from core.io import read_csv_table
from flows.cli.common import app, console, fail


def _accuracies(pairs: list[str]) -> dict[str, float]:
    accuracy = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            accuracy[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise InvalidInputError(
                f"--users-accuracy {pair!r}: write STRATUM=VALUE, e.g. opium_poppy=0.75"
            )
    return accuracy


def _inputs(run_dir, sample, map_area_path, class_map, zones, zone_id, users_accuracy):
    """Stratum areas and anticipated proportions from a run, or a map and user's accuracies."""
    import geopandas as gpd
    import pandas as pd

    from core.legend import code_of
    from geo.estimation import zonal_class_area
    from geo.estimation.allocation import anticipated_from_accuracy, plan_inputs_from_sample

    if users_accuracy:
        if map_area_path is None and run_dir is not None:
            map_area_path = Path(run_dir) / "map_area.csv"
        if map_area_path is not None:
            map_area = read_csv_table(map_area_path, dtype={zone_id: str})
        elif class_map is not None and zones is not None:
            map_area = zonal_class_area(class_map, zones, zone_id)
        else:
            raise InvalidInputError(
                "with --users-accuracy give the mapped areas: --map-area MAP_AREA.csv, "
                "--map CLASSMAP.tif --zones DISTRICTS, or a run folder"
            )
        column = zone_id if zone_id in map_area.columns else "zone_id"
        area = map_area.rename(columns={column: "district_id", "class": "stratum"})
        area = area[["district_id", "stratum", "area_ha"]]
        strata = sorted(set(area.loc[area["area_ha"] > 0, "stratum"].astype(int)))
        # a first year plans for the crops the map shows; commission is counted against each
        crops = [c for c in ("opium_poppy", "cannabis") if code_of(c) in strata]
        table = anticipated_from_accuracy(strata, _accuracies(users_accuracy), crops)
        return area, pd.DataFrame(table, index=strata, columns=crops)
    if run_dir is None:
        raise InvalidInputError(
            "give a run folder (runs/<year>/<run_id>) with a labelled sample, or "
            "--users-accuracy for a first year"
        )
    sample_path = Path(sample) if sample else Path(run_dir) / "reference_sample.gpkg"
    map_area_path = Path(map_area_path) if map_area_path else Path(run_dir) / "map_area.csv"
    for path in (sample_path, map_area_path):
        if not path.exists():
            raise InvalidInputError(
                f"{path} does not exist; plan from a run estimated in phase 2, or pass --sample "
                "and --map-area"
            )
    map_area = read_csv_table(map_area_path, dtype={zone_id: str})
    labelled = gpd.read_file(sample_path)
    if zone_id in labelled.columns:
        labelled[zone_id] = labelled[zone_id].astype(str)
    return plan_inputs_from_sample(map_area, labelled, zone_id=zone_id)


def _crops(area, anticipated, wanted: list[str]) -> list[str]:
    """The crops to plan for: those asked for that the map shows (a relative target needs one)."""
    from core.legend import code_of

    mapped = set(area.loc[area["area_ha"] > 0, "stratum"].astype(int))
    crops = [c for c in wanted or ("opium_poppy", "cannabis")
             if c in anticipated.columns and code_of(c) in mapped]  # fmt: skip
    if not crops:
        raise InvalidInputError(
            f"no crop to plan for: {wanted or 'opium_poppy, cannabis'} not mapped in any district"
        )
    return crops


def allocation_toml(n_per_stratum: dict[str, int], district: float, region: float) -> str:
    """The ``[estimation]`` table of the next year's survey.toml."""
    body = ", ".join(f"{name} = {n}" for name, n in n_per_stratum.items())
    return (
        f"# admon plan: Neyman allocation for ±{district:.0%} per district, ±{region:.0%} for "
        "the region\n[estimation]\n"
        f"n_per_stratum = {{ {body} }}\n"
    )


@app.command()
def plan(
    run_dir: Annotated[
        Path | None,  # noqa: UP007
        typer.Argument(
            help="Run folder (runs/<year>/<run_id>) with map_area.csv and a labelled "
            "reference_sample.gpkg."
        ),  # fmt: skip
    ] = None,
    district_half_width: Annotated[
        float, typer.Option(help="Target half-width per district, relative (0.25 = ±25%).")
    ] = 0.25,
    region_half_width: Annotated[
        float, typer.Option(help="Target half-width for the region, relative.")
    ] = 0.10,
    sample: Annotated[
        Path | None, typer.Option(exists=True, help="Labelled sample (default: the run's).")  # noqa: UP007
    ] = None,
    map_area: Annotated[
        Path | None, typer.Option(exists=True, help="map_area.csv (default: the run's).")  # noqa: UP007
    ] = None,
    class_map: Annotated[
        Path | None,  # noqa: UP007
        typer.Option("--map", exists=True, help="First year: class map GeoTIFF."),
    ] = None,
    zones: Annotated[
        Path | None, typer.Option(exists=True, help="First year: districts file.")  # noqa: UP007
    ] = None,
    users_accuracy: Annotated[
        list[str] | None,  # noqa: UP007
        typer.Option(help="First year: anticipated user's accuracy, STRATUM=VALUE (repeat)."),
    ] = None,
    crop: Annotated[
        list[str] | None,  # noqa: UP007
        typer.Option(help="Crop the targets apply to (repeat; default opium_poppy and cannabis)."),
    ] = None,
    zone_id: Annotated[str, typer.Option(help="District id column.")] = "district_id",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: the run folder, or .).")  # noqa: UP007
    ] = None,
) -> None:
    """Reference points per stratum per district (Neyman) for target half-widths.

    Writes sample_plan.csv (points per district and stratum), sample_plan_expected.csv
    (expected half-widths) and sample_plan.toml (an [estimation] n_per_stratum table).
    """
    from core.io import atomic_write_text, write_table
    from geo.estimation.allocation import neyman_plan

    try:
        area, anticipated = _inputs(run_dir, sample, map_area, class_map, zones, zone_id,
                                    users_accuracy or [])  # fmt: skip
        result = neyman_plan(area, anticipated, district_half_width=district_half_width,
                             region_half_width=region_half_width, crops=_crops(area, anticipated, crop or []))  # fmt: skip
        folder = out or run_dir or Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        write_table(result.points, folder / "sample_plan.csv")
        write_table(result.expected, folder / "sample_plan_expected.csv")
        toml = allocation_toml(result.n_per_stratum, district_half_width, region_half_width)
        atomic_write_text(folder / "sample_plan.toml", toml)
    except AdmonError as exc:
        fail(exc)
    view = Table(title="expected half-width (relative to the anticipated estimate)")
    for column in ("district", "crop", "estimate ha", "target", "expected"):
        view.add_column(column)
    for row in result.expected.itertuples(index=False):
        expected = "no target" if row.note else f"±{row.expected_half_width:.1%}"
        view.add_row(str(row.district_id), row.crop, f"{row.estimate_ha:,.1f}",
                     f"±{row.target_half_width:.0%}", expected)  # fmt: skip
    console.print(view, highlight=False)
    console.print(toml, highlight=False, markup=False)
    console.print(f"Points per district: {sum(result.n_per_stratum.values())}. Written to {folder}: "
                  "sample_plan.csv, sample_plan_expected.csv, sample_plan.toml", highlight=False)  # fmt: skip
