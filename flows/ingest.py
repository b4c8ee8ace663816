"""The field export the annual run reads, rebuilt from the store; and the ingest flow.

Survey teams upload plots through the service or ``admon upload``; the store
keeps every accepted row and is the only truth. ``<workspace>/field/<year>/survey_plots.gpkg``
(the file a run configuration points ``inputs.training_plots`` at) is derived
from it: rebuilt when the service starts, before every run that reads it, and
after each accepted upload (the ingest flow, which also publishes the upload's
report as a Prefect artifact). Each export is written to a temporary name and
renamed into place, so a process killed at any moment leaves the previous
complete export or the new one, never half of one; a sidecar
``survey_plots.json`` names the uploads it holds, so an unchanged year is not
rewritten (its checksum, and so the run id, stays the same).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from core.io import atomic_write_json, clean_partial, write_table
from flows.tasking import IO_RETRIES
from models.store import open_store

__all__ = [
    "ingest_upload",
    "export_field_plots",
    "rebuild_field_exports",
    "field_plots_path",
    "is_field_export",
    "upload_years",
]

log = logging.getLogger(__name__)


def field_plots_path(workspace: Path, year: int) -> Path:
    """Where the accepted plots of a survey year are exported for the annual run."""
    return Path(workspace) / "field" / str(year) / "survey_plots.gpkg"


def is_field_export(path: str | Path, workspace: str | Path, year: int) -> bool:
    """True when ``path`` is the store's field export of ``year`` in ``workspace``."""
    return Path(path).resolve() == field_plots_path(Path(workspace), year).resolve()


def _export_state(plots: Any) -> dict[str, Any]:
    uploads = sorted(str(u) for u in plots["upload_id"].dropna().unique()) if len(plots) else []
    return {"uploads": uploads, "plots": int(len(plots))}


def _as_survey_file(plots: Any) -> Any:
    """The stored plots as a survey file ``load_plots`` reads back: the row each plot had in
    its upload is ``upload_row`` (``source_row`` is the row in *this* file, added on reading)."""
    return plots.rename(columns={"source_row": "upload_row"})


def export_field_plots(store: Any, workspace: Path, years: list[int]) -> dict[int, str]:
    """Write every stored plot of each year to its field file, atomically; return the paths.

    A year whose export already holds exactly the stored uploads is left as it is.
    """
    written = {}
    for year in sorted(set(int(y) for y in years)):
        plots = store.get_plots(year=year)
        target = field_plots_path(workspace, year)
        sidecar = target.with_suffix(".json")
        state = _export_state(plots)
        if target.exists() and sidecar.exists() and _read_state(sidecar) == state:
            written[year] = str(target)
            continue
        write_table(_as_survey_file(plots), target, layer="survey_plots")
        atomic_write_json(sidecar, state)
        written[year] = str(target)
        log.info("%d plots of %d exported to %s", len(plots), year, target.name)
    return written


def upload_years(store: Any, upload_id: str) -> list[int]:
    """The survey years of the plots an upload stored (the store asks for them alone)."""
    return store.upload_years(upload_id)


def _read_state(sidecar: Path) -> dict[str, Any] | None:
    try:
        return json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def rebuild_field_exports(store: Any, workspace: Path) -> dict[int, str]:
    """Rebuild the field export of every year the store holds plots of (service start).

    Also removes what an export killed midway left under a temporary name.
    """
    if (Path(workspace) / "field").exists():
        clean_partial(Path(workspace) / "field")
    plots = store.get_plots()
    years = sorted(int(y) for y in plots["year"].dropna().unique()) if len(plots) else []
    return export_field_plots(store, Path(workspace), years)


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
    lines += [f"- field plots {year}: `{Path(path).name}`" for year, path in sorted(files.items())]
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
