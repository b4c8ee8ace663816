"""What every ``admon`` command shares: the Typer app, the consoles, common options, errors.

Commands live in their own modules of ``flows.cli`` and register on ``app``. They
import the heavy parts of admon (Prefect, Dask, GDAL) inside the command, so that
``admon --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

__all__ = [
    "app",
    "token_app",
    "console",
    "err_console",
    "WorkspaceOption",
    "StoreOption",
    "ConfigOption",
    "YearOption",
    "SerialOption",
    "WorkersOption",
    "fail",
    "store_url_for",
    "workspace_for",
    "Workspace",
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
    help="Access tokens for survey teams, interpreters and reviewers: create, list, revoke, rotate.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(token_app, name="token")

# Piped output (make demo in a log, CI) gets a wide table instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

WorkspaceOption = Annotated[
    Path | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(
        "--workspace",
        "-w",
        envvar="ADMON_WORKSPACE",
        help="Workspace folder: store, runs and published gallery (default ./workspace, or "
        "the one of --config).",
    ),
]
StoreOption = Annotated[
    str | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(
        "--store", envvar="ADMON_STORE", help="Store: a postgresql:// URL or a GeoPackage path."
    ),
]
ConfigOption = Annotated[
    Path | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(
        "--config",
        "-c",
        envvar="ADMON_CONFIG",
        help="Survey configuration (TOML): its workspace and store are used.",
    ),
]
YearOption = Annotated[
    int | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(help="Survey year (default: the newest one with a reference sample)."),
]

SerialOption = Annotated[
    bool | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(
        "--serial/--no-serial",
        help="Run without a Dask cluster, the tasks one at a time in this process (default: "
        "dask.serial of the configuration, else off).",
    ),
]
"""None unless given, so ``dask.serial`` of the configuration decides."""
WorkersOption = Annotated[
    int | None,  # noqa: UP007 - typer needs Optional here
    typer.Option(
        help="Start a local Dask cluster of this many workers, sharing the cores as threads "
        "(default: compute in this process on a small machine, every core used)."
    ),
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


def fail(exc: Exception) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def store_url_for(workspace: Path, store: str | None) -> str:
    return store or str(Path(workspace) / "store.gpkg")


@dataclass(frozen=True)
class Workspace:
    """The workspace a command works in, and the configuration it came from."""

    root: Path
    """The workspace folder."""
    store_url: str
    """Its store (GeoPackage path or postgresql:// URL)."""
    config_path: Path | None
    """The survey configuration, when one was given."""
    config: Any
    """Its :class:`~flows.config.RunConfig`, or None."""


def workspace_for(config: Path | None, workspace: Path | None, store: str | None) -> Workspace:
    """The workspace of a command: the configuration's, or ``--workspace``/``--store``.

    Giving both a configuration and a different workspace or store is an error:
    the commands of one survey must all see the same files.
    """
    if config is None:
        root = Path(workspace) if workspace is not None else Path("workspace")
        return Workspace(root, store_url_for(root, store), None, None)
    from core.errors import ConfigError
    from flows.config import load_config

    try:
        loaded = load_config(config)
        if workspace is not None and Path(workspace).resolve() != loaded.workspace.resolve():
            raise ConfigError(
                f"--workspace {workspace} is not the workspace of {config} ({loaded.workspace}); "
                "give one or the other (ADMON_WORKSPACE counts as --workspace)"
            )
        if store is not None and store != loaded.store_url:
            raise ConfigError(
                f"--store {store} is not the store of {config} ({loaded.store_url}); "
                "give one or the other (ADMON_STORE counts as --store)"
            )
    except ConfigError as exc:
        fail(exc)
    return Workspace(loaded.workspace, loaded.store_url, Path(config), loaded)
