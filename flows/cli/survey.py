"""``admon run`` and ``admon estimate``: the annual survey, and estimates straight from files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import AdmonError
from flows.cli.common import (
    SerialOption,
    WorkersOption,
    app,
    console,
    fail,
)


@app.command()
def run(
    config: Annotated[
        Path, typer.Argument(help="Run configuration (TOML); see data/example_run.toml.")
    ],
    year: Annotated[
        list[int] | None, typer.Option(help="Survey year(s); default all in the config.")
    ] = None,  # noqa: UP007
    dask_address: Annotated[
        str | None, typer.Option(help="Existing Dask scheduler, e.g. tcp://10.0.0.5:8786.")  # noqa: UP007
    ] = None,
    serial: SerialOption = False,
    n_workers: WorkersOption = None,
) -> None:
    """Run the annual survey flow on real inputs described by a configuration file."""
    from flows.config import load_config
    from flows.runtime import configure_environment

    try:
        cfg = load_config(config)
        configure_environment(cfg.workspace)
        from flows.progress import SurveyProgress
        from flows.runner import run_survey

        with SurveyProgress(cfg.workspace, year or cfg.survey.years, console=console):
            results = run_survey(
                config, years=year, dask_address=dask_address, serial=serial, n_workers=n_workers
            )
    except AdmonError as exc:
        fail(exc)
    for result in results:
        console.print(f"{result['run_id']}: {result['run_dir']}")
    published = cfg.workspace.resolve() / "published"
    console.print(f"Published gallery: [bold]{published / 'restricted' / 'index.html'}[/]")
    console.print(f"Public site: [bold]{published / 'public' / 'index.html'}[/] (aggregates only)")


@app.command()
def estimate(
    map_path: Annotated[
        Path, typer.Option("--map", exists=True, help="Class map GeoTIFF (legend codes).")
    ],
    reference: Annotated[
        Path, typer.Option(exists=True, help="Labelled reference points or plots.")
    ],
    zones: Annotated[Path, typer.Option(exists=True, help="Districts (zones) file.")],
    zone_id: Annotated[str | None, typer.Option(help="Zone identifier column.")] = None,  # noqa: UP007
    out: Annotated[Path, typer.Option(help="CSV to write the table to.")] = Path(
        "district_estimates.csv"
    ),
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
) -> None:
    """Area estimates with confidence intervals from a class map and a reference sample."""
    from core.io import write_table
    from geo.estimation import estimate_from_files

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
