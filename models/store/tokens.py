"""Access tokens: made once, stored as hashes, checked on every request."""

from __future__ import annotations

import hashlib
import logging
import secrets

from sqlalchemy import select

from core.errors import InvalidInputError
from models.store.frames import utc_now
from models.store.records import ROLES, TokenInfo

__all__ = ["TokenStore"]

logger = logging.getLogger(__name__)


class TokenStore:
    """The token half of a store: ``create_token`` and ``verify_token`` over its ``tokens`` table.

    Mixed into :class:`~models.store.base.Store`, which provides ``tables``, ``engine``
    and ``_write()``.
    """

    def create_token(self, team: str, role: str) -> str:
        """Create an API token for ``team`` with ``role``; return it (only its sha256 is stored).

        The token is shown once: it cannot be recovered from the store.

        Raises
        ------
        InvalidInputError
            If ``role`` is not one of ``uploader``, ``reviewer``, ``admin`` or team is empty.
        """
        if role not in ROLES:
            raise InvalidInputError(f"token role {role!r} is not one of {', '.join(ROLES)}")
        if not team or not team.strip():
            raise InvalidInputError("a token needs a team name (--team)")
        token = "admon_" + secrets.token_urlsafe(32)
        row = {
            "token_sha256": _token_hash(token),
            "team": team,
            "role": role,
            "created_at": utc_now(),
        }
        with self._write() as conn:
            conn.execute(self.tables["tokens"].insert(), [row])
        logger.info("created a %s token for team %s", role, team)
        return token

    def verify_token(self, token: str | None) -> TokenInfo | None:
        """Return who a token belongs to, or None when it is unknown or empty."""
        if not token:
            return None
        tokens = self.tables["tokens"]
        query = select(tokens.c.team, tokens.c.role).where(
            tokens.c.token_sha256 == _token_hash(token)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return TokenInfo(team=row.team, role=row.role) if row else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
