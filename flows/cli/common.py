"""What every ``admon`` command shares: the Typer app, the consoles, common options, errors.

Commands live in their own modules of ``flows.cli`` and register on ``app``. They
import the heavy parts of admon (Prefect, Dask, GDAL) inside the command, so that
``admon --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = [
    "app",
    "token_app",
    "console",
    "err_console",
    "WorkspaceOption",
    "StoreOption",
    "SerialOption",
    "WorkersOption",
    "fail",
    "store_url_for",
]

app = typer.Typer(
    name="admon",
    help="Monitor illicit opium poppy and cannabis cultivation and Alternative Development programmes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's own help layout: rich's panels print a "<bool>" type after every flag.
    rich_markup_mode=None,
)
token_app = typer.Typer(
    help="Access tokens for survey teams and reviewers: create, list, revoke, rotate.",
    no_args_is_help=True,
    rich_markup_mode=None,
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

SerialOption = Annotated[bool, typer.Option(help="Run without a Dask cluster.")]
WorkersOption = Annotated[
    int | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(help="Local Dask workers, sharing the cores as threads (default: sized by Dask)."),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("admon")
        except PackageNotFoundError:  # a source tree that was never installed
            number = "unknown (not installed)"
        console.print(f"admon {number}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print admon's version and exit."
        ),
    ] = False,
) -> None:
    """Monitor illicit opium poppy and cannabis cultivation and Alternative Development programmes."""
    from flows.runtime import quiet_libraries

    quiet_libraries()


def fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def store_url_for(workspace: Path, store: str | None) -> str:
    return store or str(Path(workspace) / "store.gpkg")
