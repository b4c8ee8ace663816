"""``admon run`` and ``admon estimate``: the annual survey, and estimates straight from files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import AdmonError
from flows.cli.common import (
    ConfigOption,
    SerialOption,
    WorkersOption,
    YearOption,
    app,
    console,
    fail,
    workspace_for,
)


@app.command()
def run(
    config_file: Annotated[
        Path | None,  # noqa: UP007
        typer.Argument(
            metavar="CONFIG", help="Survey configuration (TOML); see data/example_run.toml."
        ),
    ] = None,
    config: ConfigOption = None,
    year: Annotated[
        list[int] | None, typer.Option(help="Survey year(s); default all in the config.")
    ] = None,  # noqa: UP007
    dask_address: Annotated[
        str | None, typer.Option(help="Existing Dask scheduler, e.g. tcp://10.0.0.5:8786.")  # noqa: UP007
    ] = None,
    serial: SerialOption = None,
    n_workers: WorkersOption = None,
) -> None:
    """Run the annual survey flow on real inputs described by a configuration file.

    A year whose reference sample is not labelled yet stops after drawing it
    (awaiting_reference, exit 0) and says how to label it; run again afterwards.
    """
    from flows.config import load_config
    from flows.phases import next_steps
    from flows.runtime import configure_environment

    config_path = config_file or config
    if config_path is None:
        fail(ValueError("give the survey configuration: admon run survey.toml"))
    try:
        cfg = load_config(config_path)
        configure_environment(cfg.workspace)
        from flows.progress import SurveyProgress
        from flows.runner import run_survey

        with SurveyProgress(cfg.workspace, year or cfg.survey.years, console=console):
            results = run_survey(
                config_path,
                years=year,
                dask_address=dask_address,
                serial=serial,
                n_workers=n_workers,
            )
    except AdmonError as exc:
        fail(exc)
    for result in results:
        console.print(f"{result['run_id']}: {result['run_dir']} ({result['outcome']})")
    for result in results:
        if result["outcome"] == "awaiting_reference":
            console.print(
                next_steps(config_path, result["year"], result["reference"]), highlight=False
            )
    if any(r["outcome"] == "completed" for r in results):
        published = cfg.workspace.resolve() / "published"
        console.print(f"Published gallery: [bold]{published / 'restricted' / 'index.html'}[/]")
        console.print(
            f"Public site: [bold]{published / 'public' / 'index.html'}[/] (aggregates only)"
        )


@app.command()
def estimate(
    map_path: Annotated[
        Path | None,  # noqa: UP007
        typer.Option("--map", exists=True, help="Class map GeoTIFF (legend codes)."),
    ] = None,
    reference: Annotated[
        Path | None,  # noqa: UP007
        typer.Option(exists=True, help="Labelled reference points or plots."),
    ] = None,
    zones: Annotated[
        Path | None,  # noqa: UP007
        typer.Option(exists=True, help="Districts (zones) file."),
    ] = None,
    zone_id: Annotated[str | None, typer.Option(help="Zone identifier column.")] = None,  # noqa: UP007
    config: ConfigOption = None,
    year: YearOption = None,
    out: Annotated[Path, typer.Option(help="CSV to write the table to.")] = Path(
        "district_estimates.csv"
    ),
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
) -> None:
    """Area estimates with confidence intervals from a class map and a reference sample.

    With --config (and --year), the map, districts and labelled sample default to
    those of the year's newest run in the survey's workspace.
    """
    from core.io import write_table
    from geo.estimation import estimate_from_files

    if config is not None:
        from flows.runs import run_inputs

        where = workspace_for(config, None, None)
        try:
            found = run_inputs(where.root, year)
        except AdmonError as exc:
            fail(exc)
        map_path, zones = map_path or found["classes"], zones or found["districts"]
        reference = reference or found["reference"]
        zone_id = zone_id or "district_id"
    if map_path is None or reference is None or zones is None:
        fail(ValueError("give --map, --reference and --zones, or --config survey.toml"))
    try:
        table = estimate_from_files(
            map_path, reference, zones, zone_id=zone_id, confidence=confidence
        )
    except AdmonError as exc:
        fail(exc)
    write_table(table, out)
    view = Table(title=f"Area estimates ({confidence:.0%} intervals)")
    columns = [
        c
        for c in (
            "district_id",
            "crop",
            "area_ha",
            "ci_low_ha",
            "ci_high_ha",
            "method",
            "n_reference",
        )
        if c in table
    ]
    for column in columns:
        view.add_column(column)
    for row in table[columns].itertuples(index=False):
        view.add_row(*[f"{v:,.1f}" if isinstance(v, float) else str(v) for v in row])
    console.print(view)
    console.print(f"written: {out}")
