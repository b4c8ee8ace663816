"""``admon upload``: a field data file into the store, with its row-by-row report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import AdmonError
from flows.cli.common import (
    StoreOption,
    WorkspaceOption,
    app,
    console,
    fail,
    store_url_for,
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
    """Ingest a field data file into the store and print the row-by-row report."""
    from models.field.profile_files import form_files
    from models.store import open_store

    try:
        result = open_store(store_url_for(workspace, store)).ingest_upload(
            file.read_bytes(),
            file.name,
            team,
            strict=strict,
            form_files=form_files(form) if form is not None else None,
        )
    except AdmonError as exc:
        fail(exc)
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
