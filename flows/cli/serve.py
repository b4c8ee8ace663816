"""``admon serve``: the web service and the scheduled deployments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.errors import AdmonError
from flows.cli.common import (
    StoreOption,
    WorkspaceOption,
    app,
    console,
    fail,
)


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
        fail(exc)
