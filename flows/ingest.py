"""The ingest flow: after an upload is accepted, refresh the field data the annual run reads.

Survey teams upload plots through the service or ``admon upload``; the store
keeps every accepted row. This flow, triggered for each accepted upload, writes
the plots of the years the upload touched to ``<workspace>/field/<year>/survey_plots.gpkg``
(the file a run configuration points ``inputs.training_plots`` at) and publishes
the upload's report as a Prefect artifact.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from core.io import write_table
from flows.tasking import IO_RETRIES
from models.store import open_store

__all__ = ["ingest_upload", "export_field_plots", "field_plots_path", "upload_years"]

log = logging.getLogger(__name__)


def field_plots_path(workspace: Path, year: int) -> Path:
    """Where the accepted plots of a survey year are exported for the annual run."""
    return Path(workspace) / "field" / str(year) / "survey_plots.gpkg"


def export_field_plots(store: Any, workspace: Path, years: list[int]) -> dict[int, str]:
    """Write every stored plot of each year to its field file, atomically; return the paths."""
    written = {}
    for year in sorted(set(int(y) for y in years)):
        plots = store.get_plots(year=year)
        target = field_plots_path(workspace, year)
        write_table(plots, target, layer="survey_plots")
        written[year] = str(target)
        log.info("%d plots of %d exported to %s", len(plots), year, target)
    return written


def upload_years(store: Any, upload_id: str) -> list[int]:
    """The survey years of the plots an upload stored."""
    plots = store.get_plots()
    years = plots.loc[plots["upload_id"] == upload_id, "year"].dropna().astype(int)
    return sorted(years.unique().tolist())


@task(name="export-field-plots", **IO_RETRIES)
def _export(store_url: str, workspace: str, upload_id: str) -> dict[str, Any]:
    store = open_store(store_url, workspace=workspace)
    upload = store.get_upload(upload_id)
    years = upload_years(store, upload_id)
    return {"upload": upload, "files": export_field_plots(store, Path(workspace), years)}


def _report_markdown(upload: dict[str, Any], files: dict[int, str]) -> str:
    lines = [
        f"# Upload {upload.get('upload_id', '')}",
        "",
        f"- file: `{upload.get('filename', '')}` from team **{upload.get('team', '')}**",
        f"- accepted rows: {upload.get('accepted', 0)}, rejected rows: {upload.get('rejected', 0)}",
    ]
    lines += [f"- field plots {year}: `{path}`" for year, path in sorted(files.items())]
    errors = upload.get("errors") or []
    if errors:
        lines += ["", "| row | field | reason |", "|---|---|---|"]
        lines += [f"| {e['row']} | {e['field']} | {e['message']} |" for e in errors[:200]]
    return "\n".join(lines)


@flow(name="ingest-upload", log_prints=True)
def ingest_upload(upload_id: str, workspace: str, store_url: str | None = None) -> dict[str, Any]:
    """Export the field plots touched by an accepted upload and report it."""
    store_url = store_url or str(Path(workspace) / "store.gpkg")
    exported = _export(store_url, workspace, upload_id)
    create_markdown_artifact(
        key="upload-report", markdown=_report_markdown(exported["upload"], exported["files"])
    )
    return {"upload_id": upload_id, "files": {str(k): v for k, v in exported["files"].items()}}
