"""A team's form profile, kept with the team so that its uploads need no ``--form``.

The ``team_forms`` table holds, per team, the files the profile is made of (a
``.toml`` profile and the XLSForm it names, or the XLSForm alone; see
:func:`models.field.profile.form_files`) as JSON ``{file name: base64}``, with
their sha256 and when they were stored. A new profile replaces the old one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping

from sqlalchemy import select

from core.errors import InvalidInputError
from models.field.profile import FormProfile
from models.field.profile_files import load_form_files
from models.store.frames import utc_now

__all__ = ["TeamForms"]

logger = logging.getLogger(__name__)

MAX_FORM_BYTES = 5 * 1024**2
"""Largest profile accepted (an XLSForm is a few tens of kB)."""


class TeamForms:
    """The form-profile half of a store (mixed into :class:`~models.store.base.Store`)."""

    def save_team_form(self, team: str, files: Mapping[str, bytes]) -> FormProfile:
        """Check a form profile and store it as ``team``'s; return it.

        Parameters
        ----------
        team : str
            The survey team.
        files : mapping of file name to bytes
            The ``.toml`` profile (and the XLSForm it names), or one XLSForm ``.xlsx``.

        Raises
        ------
        InvalidInputError
            When the profile cannot be read (the message says what to fix) or is too large.
        """
        if not team or not str(team).strip():
            raise InvalidInputError("a form profile belongs to a team; give the team name")
        size = sum(len(content) for content in files.values())
        if size > MAX_FORM_BYTES:
            raise InvalidInputError(
                f"form profile: {size} bytes, more than {MAX_FORM_BYTES}; send the .toml and "
                "the XLSForm only"
            )
        profile = load_form_files(files)
        encoded = {
            name: base64.b64encode(content).decode("ascii") for name, content in files.items()
        }
        digest = hashlib.sha256(json.dumps(encoded, sort_keys=True).encode()).hexdigest()
        table = self.tables["team_forms"]
        row = {"team": team, "files": json.dumps(encoded), "sha256": digest, "stored_at": utc_now()}
        with self._write() as conn:
            conn.execute(table.delete().where(table.c.team == team))
            conn.execute(table.insert(), [row])
        logger.info("stored the form profile %s for team %s", profile.source, team)
        return profile

    def team_form(self, team: str) -> FormProfile | None:
        """Return the form profile stored for ``team``, or ``None``."""
        table = self.tables["team_forms"]
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.files).where(table.c.team == team)).first()
        if row is None:
            return None
        files = {name: base64.b64decode(text) for name, text in json.loads(row.files).items()}
        return load_form_files(files)
