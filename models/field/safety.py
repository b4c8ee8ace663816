"""Guards against hostile or broken uploads, applied before any parser sees the bytes.

Field files arrive from the internet through the upload service, so every
reader goes through these checks first:

- zip archives (zipped Shapefile, KMZ): member names must be relative and stay
  inside the archive (no ``../``, no absolute paths, no links), the declared
  uncompressed size and the compression ratio are bounded *before* extracting,
  and the bytes actually written are counted again while extracting (a zip can
  lie about its sizes) into a private temporary directory;
- XML (KML): any ``<!DOCTYPE`` or ``<!ENTITY`` is refused (entity expansion,
  external entities) by parsing with ``defusedxml`` before GDAL opens the file;
- text (CSV): decoded as UTF-8 (with or without BOM) or UTF-16 with BOM; other
  bytes fall back to Windows-1252 with a warning naming the first bad byte.
"""

from __future__ import annotations

import logging
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from core.errors import InvalidInputError

__all__ = [
    "Limits",
    "LIMITS",
    "decode_text",
    "safe_extract_zip",
    "check_zip",
    "check_xml_safe",
    "check_file_size",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Size limits for uploaded field files."""

    max_file_bytes: int = 256 * 1024**2
    """Largest file accepted (compressed size for archives)."""
    max_unzipped_bytes: int = 512 * 1024**2
    """Largest total uncompressed size of an archive."""
    max_members: int = 64
    """Most files in one archive (a Shapefile has 4-8, a KMZ a few)."""
    max_ratio: float = 200.0
    """Largest compression ratio of a member bigger than ``ratio_floor_bytes``."""
    ratio_floor_bytes: int = 1024**2
    """Members smaller than this are not ratio-checked (tiny files compress oddly)."""


LIMITS = Limits()


def check_file_size(path: Path, limits: Limits = LIMITS) -> None:
    """Refuse a file larger than ``limits.max_file_bytes`` or empty."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidInputError(f"{path.name}: the file is empty")
    if size > limits.max_file_bytes:
        raise InvalidInputError(
            f"{path.name}: {size / 1024**2:.0f} MB is larger than the "
            f"{limits.max_file_bytes / 1024**2:.0f} MB limit for one upload; split it by district"
        )


def decode_text(raw: bytes, name: str) -> tuple[str, str | None]:
    """Decode a text file; return ``(text, warning or None)``.

    Tries UTF-8 (BOM or not) and UTF-16 with a BOM; anything else is decoded as
    Windows-1252 (every byte maps to a character) and a warning says so, since
    local-language labels will then be garbled. NUL bytes in a file without a
    UTF-16 BOM mean it is not text and are refused.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"{name}: starts as UTF-16 but is not valid UTF-16 ({exc})"
            ) from None
    if b"\x00" in raw[:65536]:
        raise InvalidInputError(
            f"{name}: contains NUL bytes, so it is not a text (CSV) file; "
            "export the form data as CSV, GeoJSON, GeoPackage, zipped Shapefile or KML"
        )
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        warning = (
            f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); it was read as "
            "Windows-1252, so Burmese, Shan, Lao or Thai labels may be garbled: "
            "export again as UTF-8"
        )
        logger.warning("%s: %s", name, warning)
        return raw.decode("cp1252", errors="replace"), warning


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an archive member must not be extracted (outside the archive, a link, encrypted), or None."""
    name = info.filename
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or (len(name) > 1 and name[1] == ":"):
        return "points outside the archive"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if info.flag_bits & 0x1:
        return "is encrypted"
    return None


def check_zip(archive: Path, limits: Limits = LIMITS) -> None:
    """Check an archive's member names and sizes without extracting anything.

    Raises
    ------
    InvalidInputError
        If the archive is corrupt, has a member name with ``..``, an absolute
        path or a link, too many members, a total size over the limit, or a
        compression ratio typical of a zip bomb.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            _checked_members(zf, archive.name, limits)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInputError(f"{archive.name}: not a readable zip archive ({exc})") from None


def safe_extract_zip(archive: Path, dest: Path, limits: Limits = LIMITS) -> list[Path]:
    """Check ``archive`` (see :func:`check_zip`), then extract its regular files into ``dest``.

    Returns the extracted paths. The bytes written are counted again while
    extracting, so an archive that lies about its sizes is stopped at the limit.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInputError(f"{archive.name}: not a readable zip archive ({exc})") from None
    with zf:
        members = _checked_members(zf, archive.name, limits)
        return _extract_counted(zf, members, archive.name, dest, limits)


def _checked_members(zf: zipfile.ZipFile, name: str, limits: Limits) -> list[zipfile.ZipInfo]:
    members = [m for m in zf.infolist() if not m.is_dir()]
    if len(members) > limits.max_members:
        raise InvalidInputError(
            f"{name}: {len(members)} files in the archive, more than the "
            f"{limits.max_members} expected for one Shapefile, KMZ or workbook"
        )
    declared = 0
    for member in members:
        problem = member_problem(member)
        if problem:
            raise InvalidInputError(f"{name}: member {member.filename!r} {problem}; refused")
        declared += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise InvalidInputError(
                f"{name}: member {member.filename!r} expands {ratio:.0f}-fold "
                f"(limit {limits.max_ratio:.0f}); refused as a possible zip bomb"
            )
    if declared > limits.max_unzipped_bytes:
        raise InvalidInputError(
            f"{name}: expands to {declared / 1024**2:.0f} MB, over the "
            f"{limits.max_unzipped_bytes / 1024**2:.0f} MB limit; refused"
        )
    return members


def _extract_counted(
    zf: zipfile.ZipFile, members: list[zipfile.ZipInfo], name: str, dest: Path, limits: Limits
) -> list[Path]:
    written = 0
    paths = []
    for member in members:
        target = dest.joinpath(*PurePosixPath(member.filename.replace("\\", "/")).parts)
        if not target.resolve().is_relative_to(dest.resolve()):
            raise InvalidInputError(
                f"{name}: member {member.filename!r} points outside the archive"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(member) as src, open(target, "wb") as out:
                while block := src.read(1 << 20):
                    written += len(block)
                    if written > limits.max_unzipped_bytes:
                        raise InvalidInputError(
                            f"{name}: expands beyond the {limits.max_unzipped_bytes / 1024**2:.0f} "
                            "MB limit while extracting (sizes in the archive are false); refused"
                        )
                    out.write(block)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise InvalidInputError(
                f"{name}: member {member.filename!r} is corrupt ({exc})"
            ) from None
        paths.append(target)
    return paths


def check_xml_safe(path: Path) -> None:
    """Refuse an XML (KML) file that is not well formed or declares a DOCTYPE or entities."""
    try:
        DefusedET.parse(path, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InvalidInputError(
            f"{path.name}: XML declares a DOCTYPE or entities ({type(exc).__name__}); KML never "
            "needs them and they can be used to attack the server, so the file is refused"
        ) from None
    except Exception as exc:  # ParseError and friends: the message is the useful part
        raise InvalidInputError(f"{path.name}: not well-formed XML ({exc})") from None
