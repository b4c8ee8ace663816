"""Bearer tokens on the HTTP service: who is calling, and may they do this?"""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request, status

from models.store import Store, TokenInfo

__all__ = ["caller", "require_uploader"]

logger = logging.getLogger(__name__)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def caller(request: Request, store: Store) -> TokenInfo:
    """Return the verified caller of ``request``.

    Raises
    ------
    HTTPException
        401 when the ``Authorization: Bearer <token>`` header is missing or the
        token is unknown.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing token: send 'Authorization: Bearer <token>' "
            "(an admin creates one with 'admon token create --team T --role uploader')",
            headers=_CHALLENGE,
        )
    info = store.verify_token(token.strip())
    if info is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="unknown or revoked token; ask an admin for a new one",
            headers=_CHALLENGE,
        )
    return info


def require_uploader(info: TokenInfo) -> TokenInfo:
    """Return ``info`` if its role may upload; 403 otherwise."""
    if not info.may_upload:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"a {info.role} token cannot upload; uploads need an uploader or admin token",
        )
    return info
