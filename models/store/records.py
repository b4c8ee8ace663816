"""Small typed records the store returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["UploadResult", "TokenInfo", "ROLES", "UPLOAD_ROLES", "INTERPRET_ROLES"]

#: Roles a token may carry. ``reviewer`` reads; ``uploader`` and ``admin`` may upload;
#: ``interpreter`` labels the reference sample (and nothing else).
ROLES: tuple[str, ...] = ("uploader", "reviewer", "admin", "interpreter")
UPLOAD_ROLES: frozenset[str] = frozenset({"uploader", "admin"})
INTERPRET_ROLES: frozenset[str] = frozenset({"interpreter", "reviewer", "admin"})


@dataclass(frozen=True)
class UploadResult:
    """What happened to one upload."""

    upload_id: str
    """Id of the stored upload (the first upload's id when ``duplicate``)."""
    accepted: int
    """Plots stored from this file."""
    rejected: int
    """Rows refused by validation."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    """One ``{"row", "field", "message"}`` per refused row or field."""
    duplicate: bool = False
    """True when the same content had been uploaded before; nothing new was stored."""
    report: dict[str, Any] = field(default_factory=dict)
    """The validation report (``ValidationReport.to_dict()``)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form used by the HTTP API."""
        return {
            "upload_id": self.upload_id,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": self.errors,
            "duplicate": self.duplicate,
        }


@dataclass(frozen=True)
class TokenInfo:
    """Who a verified token belongs to."""

    team: str
    """Survey team (or person) the token was issued to."""
    role: str
    """One of :data:`ROLES`."""

    @property
    def may_upload(self) -> bool:
        """True for roles allowed to upload field data."""
        return self.role in UPLOAD_ROLES

    @property
    def may_interpret(self) -> bool:
        """True for roles allowed to label reference sample points."""
        return self.role in INTERPRET_ROLES
