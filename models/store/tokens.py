"""Access tokens with a life: made once, stored as hashes, expiring, revocable, rotated.

A token is shown once when it is made; the store keeps its sha256 only. Its
public name is ``token_id``, the first 12 hex digits of that hash, which is what
``admon token list`` shows and ``revoke``/``rotate`` take: knowing it does not let
anyone call the service.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import select, update

from core.errors import InvalidInputError, NotFoundError, StoreBusyError
from models.store.frames import utc_now
from models.store.records import ROLES, TokenInfo

__all__ = ["TokenStore", "TOKEN_ID_LENGTH", "token_id_of"]

logger = logging.getLogger(__name__)

TOKEN_ID_LENGTH = 12
"""Hex digits of the token's sha256 that name it in lists and commands."""

_LAST_USED_EVERY_S = 60
"""``last_used_at`` is refreshed at most this often per token: every request is not a write."""

_TOKEN_COLUMNS = ("token_id", "team", "role", "created_at", "expires_at", "last_used_at", "state")


def token_id_of(token: str) -> str:
    """The public id of ``token`` (the start of its sha256)."""
    return _token_hash(token)[:TOKEN_ID_LENGTH]


class TokenStore:
    """The token half of a store over its ``tokens`` table.

    Mixed into :class:`~models.store.base.Store`, which provides ``tables``, ``engine``
    and ``_write()``.
    """

    def create_token(self, team: str, role: str, *, expires_in_days: float | None = None) -> str:
        """Create an API token for ``team`` with ``role``; return it (only its sha256 is stored).

        The token is shown once: it cannot be recovered from the store.

        Parameters
        ----------
        team : str
            The survey team (or person) the token speaks for: every upload made with it
            is recorded for this team.
        role : str
            ``uploader``, ``reviewer`` or ``admin``.
        expires_in_days : float, optional
            The token stops working this many days from now; default never.

        Raises
        ------
        InvalidInputError
            If ``role`` is not one of ``uploader``, ``reviewer``, ``admin``, the team is
            empty or the expiry is not a positive number of days.
        """
        if role not in ROLES:
            raise InvalidInputError(f"token role {role!r} is not one of {', '.join(ROLES)}")
        if not team or not team.strip():
            raise InvalidInputError("a token needs a team name (--team)")
        expires_at = None
        if expires_in_days is not None:
            if not expires_in_days > 0:
                raise InvalidInputError(
                    f"--expires-days {expires_in_days!r}: give a positive number of days"
                )
            expires_at = _iso(datetime.now(UTC) + timedelta(days=float(expires_in_days)))
        token = "admon_" + secrets.token_urlsafe(32)
        row = {
            "token_sha256": _token_hash(token),
            "team": team,
            "role": role,
            "created_at": utc_now(),
            "expires_at": expires_at,
        }
        with self._write() as conn:
            conn.execute(self.tables["tokens"].insert(), [row])
        logger.info("created a %s token %s for team %s", role, token_id_of(token), team)
        return token

    def verify_token(self, token: str | None) -> TokenInfo | None:
        """Return who a token belongs to, or None when it is unknown, revoked, expired or empty.

        Records when the token was last used (at most once a minute, and never by
        waiting for another writer: a busy store skips the note, not the request).
        """
        if not token:
            return None
        tokens = self.tables["tokens"]
        digest = _token_hash(token)
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens).where(tokens.c.token_sha256 == digest)).first()
        if row is None or row.revoked_at is not None:
            return None
        now = datetime.now(UTC)
        if row.expires_at is not None and _parse(row.expires_at) <= now:
            return None
        if row.last_used_at is None or (now - _parse(row.last_used_at)).total_seconds() > (
            _LAST_USED_EVERY_S
        ):
            self._note_use(digest, now)
        return TokenInfo(team=row.team, role=row.role)

    def _note_use(self, digest: str, when: datetime) -> None:
        tokens = self.tables["tokens"]
        try:
            with self._write(timeout_s=0) as conn:
                conn.execute(
                    update(tokens)
                    .where(tokens.c.token_sha256 == digest)
                    .values(last_used_at=_iso(when))
                )
        except StoreBusyError:
            logger.debug("store busy: last use of token %s not recorded", digest[:TOKEN_ID_LENGTH])

    def list_tokens(self, team: str | None = None) -> pd.DataFrame:
        """Every token (never the secret): id, team, role, created, expires, last used, state.

        ``state`` is ``active``, ``expired`` or ``revoked``.
        """
        tokens = self.tables["tokens"]
        query = select(tokens).order_by(tokens.c.created_at)
        if team is not None:
            query = query.where(tokens.c.team == team)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        now = datetime.now(UTC)
        records = [
            {
                "token_id": row.token_sha256[:TOKEN_ID_LENGTH],
                "team": row.team,
                "role": row.role,
                "created_at": row.created_at,
                "expires_at": row.expires_at,
                "last_used_at": row.last_used_at,
                "state": "revoked"
                if row.revoked_at is not None
                else "expired"
                if row.expires_at is not None and _parse(row.expires_at) <= now
                else "active",
            }
            for row in rows
        ]
        return pd.DataFrame.from_records(records, columns=list(_TOKEN_COLUMNS))

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke the token whose id (or a unique start of it) is ``token_id``; return whose it was.

        Raises
        ------
        NotFoundError
            No token, or more than one, has an id starting with ``token_id``.
        """
        digest, row = self._find_token(token_id)
        tokens = self.tables["tokens"]
        with self._write() as conn:
            conn.execute(
                update(tokens).where(tokens.c.token_sha256 == digest).values(revoked_at=utc_now())
            )
        logger.info("revoked token %s of team %s", digest[:TOKEN_ID_LENGTH], row.team)
        return TokenInfo(team=row.team, role=row.role)

    def rotate_token(self, token_id: str, *, expires_in_days: float | None = None) -> str:
        """Revoke a token and make a new one for the same team and role; return the new one.

        The new token keeps the old one's remaining lifetime unless ``expires_in_days``.
        """
        digest, row = self._find_token(token_id)
        if expires_in_days is None and row.expires_at is not None:
            left = (_parse(row.expires_at) - datetime.now(UTC)).total_seconds() / 86400
            expires_in_days = max(left, 1 / 86400)
        token = self.create_token(row.team, row.role, expires_in_days=expires_in_days)
        self.revoke_token(digest)
        return token

    def _find_token(self, token_id: str):
        tokens = self.tables["tokens"]
        prefix = (token_id or "").strip().lower()
        if len(prefix) < 6 or any(c not in "0123456789abcdef" for c in prefix):
            raise NotFoundError(
                f"token id {token_id!r}: give at least 6 hex digits of an id from 'admon token list'"
            )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(tokens).where(tokens.c.token_sha256.like(prefix + "%"))
            ).all()
        if len(rows) != 1:
            found = "no token" if not rows else f"{len(rows)} tokens"
            raise NotFoundError(
                f"token id {token_id!r}: {found} with that id; see 'admon token list'"
            )
        return rows[0].token_sha256, rows[0]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _parse(text: str) -> datetime:
    when = datetime.fromisoformat(str(text))
    return when if when.tzinfo else when.replace(tzinfo=UTC)
