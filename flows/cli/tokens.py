"""``admon token``: access tokens for survey teams and reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.errors import AdmonError
from flows.cli.common import (
    StoreOption,
    WorkspaceOption,
    err_console,
    fail,
    store_url_for,
    token_app,
)


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
        fail(ValueError(f"--role {role!r}: use uploader, reviewer or admin"))
    try:
        token = open_store(store_url_for(workspace, store)).create_token(team, role)
    except AdmonError as exc:
        fail(exc)
    err_console.print(f"Token for team {team!r} ({role}); it is shown only this once:")
    print(token)
