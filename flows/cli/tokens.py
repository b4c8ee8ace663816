"""``admon token``: access tokens for survey teams, interpreters and reviewers, with a life.

``create`` prints a new token once; ``list`` shows every token by its id (never the
secret) with its team, role, expiry, last use and state; ``revoke`` stops one at
once; ``rotate`` replaces one with a new token for the same team and role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.errors import AdmonError
from flows.cli.common import (
    ConfigOption,
    StoreOption,
    WorkspaceOption,
    console,
    err_console,
    fail,
    token_app,
    workspace_for,
)

ExpiryOption = Annotated[
    float | None,  # noqa: UP007 - typer needs Optional here
    typer.Option("--expires-days", help="The token stops working after this many days."),
]


def _store(config: Path | None, workspace: Path | None, store: str | None):
    from models.store import open_store

    where = workspace_for(config, workspace, store)
    return open_store(where.store_url, workspace=where.root)


@token_app.command("create")
def token_create(
    team: Annotated[str, typer.Option(help="Team the token belongs to.")],
    role: Annotated[str, typer.Option(help="uploader, reviewer, admin or interpreter.")],
    expires_days: ExpiryOption = None,
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from models.store import ROLES

    if role not in ROLES:
        fail(ValueError(f"--role {role!r}: use {', '.join(ROLES)}"))
    try:
        with _store(config, workspace, store) as opened:
            token = opened.create_token(team, role, expires_in_days=expires_days)
    except AdmonError as exc:
        fail(exc)
    lasts = f", expires in {expires_days:g} days" if expires_days else ""
    err_console.print(f"Token for team {team!r} ({role}{lasts}); it is shown only this once:")
    print(token)


@token_app.command("list")
def token_list(
    team: Annotated[str | None, typer.Option(help="Only this team's tokens.")] = None,  # noqa: UP007
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """List tokens by id: team, role, created, expires, last used, state (never the secret)."""
    from rich.table import Table

    try:
        with _store(config, workspace, store) as opened:
            tokens = opened.list_tokens(team=team)
    except AdmonError as exc:
        fail(exc)
    table = Table("id", "team", "role", "created", "expires", "last used", "state")
    for row in tokens.itertuples(index=False):
        table.add_row(
            row.token_id,
            row.team,
            row.role,
            str(row.created_at)[:19],
            str(row.expires_at or "never")[:19],
            str(row.last_used_at or "never")[:19],
            row.state,
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id from 'admon token list'.")],
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """Revoke a token: it stops working at once, browser sessions made with it too."""
    try:
        with _store(config, workspace, store) as opened:
            who = opened.revoke_token(token_id)
    except AdmonError as exc:
        fail(exc)
    console.print(f"Revoked the {who.role} token {token_id} of team {who.team!r}.")


@token_app.command("rotate")
def token_rotate(
    token_id: Annotated[str, typer.Argument(help="Token id from 'admon token list'.")],
    expires_days: ExpiryOption = None,
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
    store: StoreOption = None,
) -> None:
    """Replace a token with a new one for the same team and role; print the new one once."""
    try:
        with _store(config, workspace, store) as opened:
            token = opened.rotate_token(token_id, expires_in_days=expires_days)
    except AdmonError as exc:
        fail(exc)
    err_console.print(f"Token {token_id} revoked; its replacement is shown only this once:")
    print(token)
