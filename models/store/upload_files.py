"""Small helpers of the upload path: hashing a streamed file, public messages, the token's team."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["digest", "discard", "relative_message", "remove_upload_folder", "token_team"]

_CHUNK_BYTES = 1 << 20


def relative_message(message: str, replacements: dict[str, str]) -> str:
    """``message`` with each absolute path in ``replacements`` swapped for its public name.

    Longer paths are replaced first, so a file inside a folder is named by its own
    replacement and not by the folder's.
    """
    for path in sorted(replacements, key=len, reverse=True):
        if path:
            message = message.replace(path, replacements[path])
    return message


def digest(raw: bytes | os.PathLike[str]) -> tuple[str, int]:
    if isinstance(raw, (bytes, bytearray)):
        return hashlib.sha256(raw).hexdigest(), len(raw)
    digest, size = hashlib.sha256(), 0
    with open(raw, "rb") as fh:
        while block := fh.read(_CHUNK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def discard(raw: bytes | os.PathLike[str]) -> None:
    """Remove a streamed upload file that is not needed (its content is stored already)."""
    if not isinstance(raw, (bytes, bytearray)):
        Path(raw).unlink(missing_ok=True)


def remove_upload_folder(raw_path: Path) -> None:
    raw_path.unlink(missing_ok=True)
    folder = raw_path.parent
    try:
        folder.rmdir()
        folder.parent.rmdir()
    except OSError:  # not empty: another name of the same content, or another upload
        pass


def token_team(plots, team: str, report):
    """Every plot belongs to the token's team; a file's other team name is a row warning."""
    if plots.empty or "team" not in plots:
        return plots.assign(team=team) if not plots.empty else plots
    given = plots["team"].astype(object)
    differs = given.notna() & (given.astype(str) != "") & (given.astype(str) != team)
    differs &= given.astype(str).str.lower() != "nan"
    warn = getattr(report, "warn", None)  # stand-in loaders may return a simpler report
    for row in plots.index[differs] if warn is not None else []:
        warn(
            int(row),
            "team",
            f"the file says team {str(given[row])!r}, but the upload was made with a token "
            f"of team {team!r}; the plot is recorded for {team!r} (the file's value is kept "
            "as team_in_file)",
        )
    plots = plots.copy()
    if differs.any():
        plots["team_in_file"] = given.where(differs)
    plots["team"] = team
    return plots
