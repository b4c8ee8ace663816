"""``admon serve``: the web service and the scheduled deployments."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import AdmonError
from flows.cli.common import (
    ConfigOption,
    StoreOption,
    WorkspaceOption,
    app,
    console,
    fail,
    workspace_for,
)


@app.command()
def serve(
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    cron: Annotated[str | None, typer.Option(help="Override the annual schedule (cron).")] = None,  # noqa: UP007
) -> None:
    """Serve uploads, interpretation, the API and the maps (and the schedules).

    With --config and a reachable Prefect server (PREFECT_API_URL) the survey's
    annual run is scheduled too; without --config nothing is scheduled.
    """
    from flows.runtime import configure_environment

    where = workspace_for(config, workspace, store)
    configure_environment(where.root)
    from flows.deploy import serve_all

    try:
        serve_all(
            workspace=where.root,
            store_url=where.store_url,
            host=host,
            port=port,
            config=where.config_path,
            cron=cron,
            console=console,
        )
    except AdmonError as exc:
        fail(exc)
