"""Deployments: the annual survey on a schedule, the ingest flow on demand, served with the web service.

``admon serve`` registers both deployments with the Prefect server named by
``PREFECT_API_URL`` and runs them, while the HTTP service answers uploads. With
no reachable server it still serves uploads, the API and the maps, and says
plainly that schedules need a server and how to start one.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "ANNUAL_DEPLOYMENT",
    "INGEST_DEPLOYMENT",
    "build_deployments",
    "register_deployments",
    "prefect_server_reachable",
    "serve_all",
]

log = logging.getLogger(__name__)

ANNUAL_DEPLOYMENT = "annual-survey/annual-survey"
INGEST_DEPLOYMENT = "ingest-upload/ingest-upload"

NO_SERVER_HELP = (
    "Schedules need a Prefect server. Start one in another terminal with\n"
    "    .venv/bin/prefect server start --host 127.0.0.1 --port 4200\n"
    "then run\n"
    "    PREFECT_API_URL=http://127.0.0.1:4200/api admon serve --config survey.toml\n"
    "Until then uploads, the API and the maps are served, but nothing runs on a schedule."
)


def prefect_server_reachable(api_url: str | None = None, timeout_s: float = 3.0) -> bool:
    """True when a Prefect server answers at ``api_url`` (default ``PREFECT_API_URL``)."""
    api_url = api_url or os.environ.get("PREFECT_API_URL")
    if not api_url:
        return False
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def build_deployments(
    config_path: Path | None,
    workspace: Path,
    *,
    cron: str | None = None,
    store_url: str | None = None,
) -> list[Any]:
    """The annual survey deployment (on its cron) and the ingest deployment (on demand).

    Without a configuration there is no survey to schedule: the ingest deployment only.
    """
    from flows.ingest import ingest_upload

    ingest = ingest_upload.to_deployment(
        name="ingest-upload",
        parameters={"workspace": str(Path(workspace).resolve()), "store_url": store_url},
        description="Exports the field plots of an accepted upload for the annual run.",
        tags=["admon", "ingest"],
    )
    if config_path is None:
        return [ingest]
    from prefect.schedules import Cron

    from flows.annual import annual_survey
    from flows.config import load_config

    config = load_config(config_path)
    schedule = cron or config.schedule.cron
    annual = annual_survey.to_deployment(
        name="annual-survey",
        schedules=[Cron(schedule, timezone=config.schedule.timezone)],
        parameters={"config_path": str(Path(config_path).resolve())},
        description=f"Annual survey of {config.survey.name}, every year at '{schedule}' ({config.schedule.timezone}).",
        tags=["admon", "annual"],
    )
    return [annual, ingest]


def register_deployments(
    config_path: Path, workspace: Path, *, cron: str | None = None, store_url: str | None = None
) -> list[str]:
    """Register (create or update) the deployments with the Prefect server; return their ids."""
    return [
        str(d.apply())
        for d in build_deployments(config_path, workspace, cron=cron, store_url=store_url)
    ]


def _trigger_ingest(workspace: Path, store_url: str | None, with_server: bool) -> Any:
    """The upload callback: run the ingest deployment, or export directly with no server."""

    def on_upload(result: Any) -> None:
        if with_server:
            from prefect.deployments import run_deployment

            run_deployment(
                INGEST_DEPLOYMENT,
                parameters={
                    "upload_id": result.upload_id,
                    "workspace": str(workspace),
                    "store_url": store_url,
                },
                timeout=0,
            )
            return
        from flows.ingest import export_field_plots, upload_years
        from models.store import open_store

        store = open_store(store_url or workspace / "store.gpkg", workspace=workspace)
        export_field_plots(store, workspace, upload_years(store, result.upload_id))

    return on_upload


def _rebuild_exports(workspace: Path, store_url: str | None, console: Any) -> None:
    """The field exports, rebuilt from the store: whatever a killed export left is repaired."""
    from flows.ingest import rebuild_field_exports
    from models.store import open_store

    with open_store(store_url or workspace / "store.gpkg", workspace=workspace) as store:
        files = rebuild_field_exports(store, workspace)
    if files:
        console.print(f"field exports rebuilt from the store for {', '.join(map(str, files))}")


def serve_all(
    *,
    workspace: Path,
    store_url: str | None,
    host: str,
    port: int,
    config: Path | None,
    cron: str | None,
    console: Any,
) -> None:
    """Serve the web service, and the deployments when a Prefect server is reachable."""
    import prefect
    import uvicorn

    from web.app import create_app

    workspace = Path(workspace).resolve()
    with_server = prefect_server_reachable()
    _rebuild_exports(workspace, store_url, console)
    app = create_app(
        workspace=workspace,
        store_url=store_url,
        on_upload=_trigger_ingest(workspace, store_url, with_server),
    )
    web = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    console.print(
        f"admon service on http://{host}:{port}/ (gallery), /upload, /interpret, /api/v1, /docs"
    )
    if not with_server:
        console.print(f"[yellow]{NO_SERVER_HELP}[/]")
        web.run()
        return
    deployments = build_deployments(config, workspace, cron=cron, store_url=store_url)
    thread = threading.Thread(target=web.run, name="admon-web", daemon=True)
    thread.start()
    if config is None:
        console.print(
            f"Prefect server {os.environ['PREFECT_API_URL']}: serving {INGEST_DEPLOYMENT} only; "
            "no survey is scheduled without --config survey.toml"
        )
    else:
        console.print(
            f"Prefect server {os.environ['PREFECT_API_URL']}: serving deployments "
            f"{ANNUAL_DEPLOYMENT} (cron '{cron or 'from config'}') and {INGEST_DEPLOYMENT}"
        )
    try:
        prefect.serve(*deployments)
    finally:
        web.should_exit = True
        thread.join(timeout=10)
