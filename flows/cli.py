"""The ``admon`` command line.

admon demo [--workspace DIR]               the synthetic demo, end to end
admon run CONFIG.toml [--year Y] [--dask-address ADDR]
admon upload FILE --team TEAM              ingest a field data file into the store
admon estimate --map CLASSMAP.tif --reference PLOTS --zones DISTRICTS
admon serve                                web service + scheduled deployments
admon token create --team TEAM --role uploader|reviewer|admin
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import AdmonError

__all__ = ["app"]

app = typer.Typer(
    name="admon",
    help="Monitor illicit opium poppy and cannabis cultivation and Alternative Development programmes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(
    help="Create access tokens for survey teams and reviewers.", no_args_is_help=True
)
app.add_typer(token_app, name="token")

# Piped output (make demo in a log, CI) gets a wide table instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="ADMON_WORKSPACE",
        help="Workspace folder: store, runs and published gallery.",
    ),
]
StoreOption = Annotated[
    str | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(
        "--store", envvar="ADMON_STORE", help="Store: a postgresql:// URL or a GeoPackage path."
    ),
]


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def _store_url(workspace: Path, store: str | None) -> str:
    return store or str(Path(workspace) / "store.gpkg")


@app.command()
def demo(
    workspace: WorkspaceOption = Path("workspace"),
    scale: Annotated[int, typer.Option(min=1, help="Build a K-times larger synthetic region.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic region.")] = 42,
    serial: Annotated[bool, typer.Option(help="Run without a Dask cluster.")] = False,
    n_workers: Annotated[
        int | None,
        typer.Option(
            help="Local Dask workers, sharing the cores as threads (default: sized by Dask)."
        ),
    ] = None,  # noqa: UP007
) -> None:
    """Build the synthetic demo region, run the annual survey for its years, publish.

    Every number is compared with the region's known truth at the end.
    """
    from flows.runtime import configure_environment

    configure_environment(workspace)
    from flows.demo import compare_with_truth, prepare_demo
    from flows.progress import SurveyProgress
    from flows.runner import run_survey

    try:
        with console.status("Building the synthetic demo region (once per workspace)..."):
            config_path, region = prepare_demo(workspace, scale=scale, seed=seed)
        console.print(f"Demo region (SYNTHETIC): {region.root}")
        with SurveyProgress(workspace, list(region.years), console=console):
            results = run_survey(config_path, serial=serial, n_workers=n_workers)
    except AdmonError as exc:
        _fail(exc)
    import pandas as pd

    estimates = pd.concat(
        [pd.read_csv(r["district_estimates"], dtype={"district_id": str}) for r in results],
        ignore_index=True,
    )
    comparison = compare_with_truth(estimates, Path(region.truth))
    _print_estimates(comparison.table)
    console.print(
        f"95% intervals contain the true hectares for {comparison.covered} of {comparison.total} "
        f"district-year-crop estimates ({comparison.share:.0%}); truth: {region.truth}"
    )
    gallery = Path(workspace).resolve() / "published" / "index.html"
    console.print(f"\nPublished gallery: [bold]{gallery}[/]")


def _print_estimates(table) -> None:  # type: ignore[no-untyped-def]
    view = Table(title="Demo estimates vs. truth (SYNTHETIC)", show_lines=False)
    for column in (
        "year",
        "district",
        "crop",
        "estimate ha",
        "95% interval",
        "true ha",
        "inside",
        "method",
    ):
        view.add_column(column, justify="right" if column.endswith("ha") else "left")
    for row in table.sort_values(["year", "crop", "district_id"]).itertuples():
        view.add_row(
            str(row.year),
            f"{row.district_id} {row.district_name}",
            row.crop,
            f"{row.area_ha:,.1f}",
            f"{row.ci_low_ha:,.1f} to {row.ci_high_ha:,.1f}",
            f"{row.true_ha:,.1f}",
            "yes" if row.inside else "[red]no[/]",
            row.method,
        )
    console.print(view)


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
    serial: Annotated[bool, typer.Option(help="Run without a Dask cluster.")] = False,
    n_workers: Annotated[
        int | None,
        typer.Option(
            help="Local Dask workers, sharing the cores as threads (default: sized by Dask)."
        ),
    ] = None,  # noqa: UP007
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
        _fail(exc)
    for result in results:
        console.print(f"{result['run_id']}: {result['run_dir']}")
    console.print(
        f"Published gallery: [bold]{cfg.workspace.resolve() / 'published' / 'index.html'}[/]"
    )


@app.command()
def upload(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Field data file to ingest.")
    ],
    team: Annotated[str, typer.Option(help="Survey team that collected the data.")],
    workspace: WorkspaceOption = Path("workspace"),
    store: StoreOption = None,
    strict: Annotated[
        bool, typer.Option(help="Reject the whole file if any row is rejected.")
    ] = False,
) -> None:
    """Ingest a field data file into the store and print the row-by-row report."""
    from models.store import open_store

    try:
        result = open_store(_store_url(workspace, store)).ingest_upload(
            file.read_bytes(), file.name, team, strict=strict
        )
    except AdmonError as exc:
        _fail(exc)
    state = "already stored as" if result.duplicate else "stored as"
    console.print(
        f"{file.name}: {result.accepted} rows accepted, {result.rejected} rejected; {state} upload {result.upload_id}"
    )
    if result.errors:
        view = Table(title="Rejected rows")
        for column in ("row", "field", "reason"):
            view.add_column(column)
        for error in result.errors:
            view.add_row(str(error["row"]), str(error["field"]), str(error["message"]))
        console.print(view)
    if result.accepted == 0:
        raise typer.Exit(code=1)


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
        _fail(exc)
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


@app.command()
def serve(
    workspace: WorkspaceOption = Path("workspace"),
    store: StoreOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    config: Annotated[
        Path | None, typer.Option(help="Run configuration to schedule (default: the demo's).")  # noqa: UP007
    ] = None,
    cron: Annotated[str | None, typer.Option(help="Override the annual schedule (cron).")] = None,  # noqa: UP007
) -> None:
    """Serve uploads, the API and the published maps; register and run the scheduled deployments."""
    from flows.runtime import configure_environment

    configure_environment(workspace)
    from flows.deploy import serve_all

    try:
        serve_all(
            workspace=workspace,
            store_url=store,
            host=host,
            port=port,
            config=config,
            cron=cron,
            console=console,
        )
    except AdmonError as exc:
        _fail(exc)


@token_app.command("create")
def token_create(
    team: Annotated[str, typer.Option(help="Team the token belongs to.")],
    role: Annotated[str, typer.Option(help="uploader, reviewer or admin.")],
    workspace: WorkspaceOption = Path("workspace"),
    store: StoreOption = None,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from models.store import open_store

    if role not in ("uploader", "reviewer", "admin"):
        _fail(ValueError(f"--role {role!r}: use uploader, reviewer or admin"))
    try:
        token = open_store(_store_url(workspace, store)).create_token(team, role)
    except AdmonError as exc:
        _fail(exc)
    err_console.print(f"Token for team {team!r} ({role}); it is shown only this once:")
    print(token)


if __name__ == "__main__":  # pragma: no cover
    app()
