"""``admon token``: access tokens for survey teams, interpreters and reviewers."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import AdmonError
from flows.cli.common import (
    ConfigOption,
    StoreOption,
    WorkspaceOption,
    err_console,
    fail,
    token_app,
    workspace_for,
)


@token_app.command("create")
def token_create(
    team: Annotated[str, typer.Option(help="Team (or person) the token belongs to.")],
    role: Annotated[str, typer.Option(help="uploader, reviewer, admin or interpreter.")],
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from models.store import ROLES, open_store

    if role not in ROLES:
        fail(ValueError(f"--role {role!r}: use {', '.join(ROLES)}"))
    where = workspace_for(config, workspace, store)
    try:
        with open_store(where.store_url, workspace=where.root) as opened:
            token = opened.create_token(team, role)
    except AdmonError as exc:
        fail(exc)
    err_console.print(f"Token for team {team!r} ({role}); it is shown only this once:")
    print(token)
