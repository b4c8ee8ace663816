"""``admon upload``: a field data file into the store, with its row-by-row report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
def upload(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Field data file to ingest.")
    ],
    team: Annotated[str, typer.Option(help="Survey team that collected the data.")],
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
    strict: Annotated[
        bool, typer.Option(help="Reject the whole file if any row is rejected.")
    ] = False,
    form: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Form profile (.toml) or the form's XLSForm (.xlsx): which question is which. "
            "Stored for the team; its later uploads use it without this option.",
        ),
    ] = None,
) -> None:
    """Ingest a field data file into the store and print the row-by-row report.

    The accepted plots of each year the file touches are then exported to
    <workspace>/field/<year>/survey_plots.gpkg, the file a survey's
    inputs.training_plots reads (as after an upload on the web page).
    """
    from flows.ingest import export_field_plots, upload_years
    from models.field.profile_files import form_files
    from models.store import open_store

    where = workspace_for(config, workspace, store)
    try:
        with open_store(where.store_url, workspace=where.root) as opened:
            result = opened.ingest_upload(
                file.read_bytes(),
                file.name,
                team,
                strict=strict,
                form_files=form_files(form) if form is not None else None,
            )
            exported = (
                export_field_plots(opened, where.root, upload_years(opened, result.upload_id))
                if result.accepted
                else {}
            )
    except AdmonError as exc:
        fail(exc)
    state = "already stored as" if result.duplicate else "stored as"
    console.print(
        f"{file.name}: {result.accepted} rows accepted, {result.rejected} rejected; {state} upload {result.upload_id}"
    )
    for year, path in sorted(exported.items()):
        console.print(f"field plots {year}: {path}")
    if result.errors:
        view = Table(title="Rejected rows")
        for column in ("row", "field", "reason"):
            view.add_column(column)
        for error in result.errors:
            view.add_row(str(error["row"]), str(error["field"]), str(error["message"]))
        console.print(view)
    if result.accepted == 0:
        raise typer.Exit(code=1)
