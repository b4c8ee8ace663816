"""Checks an uploaded file passes before any parser sees it.

Survey teams upload over the network, so an upload is untrusted: it may be far
larger than a field export, a zip bomb, an archive whose members climb out of
their folder (``../``), a KML declaring XML entities (billion laughs, external
entities), text in a legacy code page, or millions of rows. Each is refused
here with a message naming the file and what to do, before parsing, so the
service stays up and answers the next request.
"""

from __future__ import annotations

import codecs
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from core.errors import InvalidInputError
from models.field.safety import member_problem

__all__ = ["UploadLimits", "UploadTooLargeError", "safe_filename", "screen_upload"]

logger = logging.getLogger(__name__)

_TEXT_SUFFIXES = {".csv", ".txt", ".geojson", ".json", ".kml", ".gpx", ".xml"}
_XML_SUFFIXES = {".kml", ".gpx", ".xml"}
_ROW_SUFFIXES = {".csv", ".txt"}
_LAYERED_SUFFIXES = {".gpkg", ".sqlite", ".gdb"}
_CHUNK_BYTES = 1 << 20
_ONE_LAYER = "export the survey layer alone and upload that"
_MEMBER_FAILURES = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


class UploadTooLargeError(InvalidInputError):
    """An upload (or what it expands to) is larger than the configured limit."""


@dataclass(frozen=True)
class UploadLimits:
    """Limits an upload must respect; the defaults suit field survey exports."""

    max_bytes: int = 50 * 1024 * 1024
    """Largest upload accepted, in bytes (HTTP 413 above it)."""
    max_unzipped_bytes: int = 200 * 1024 * 1024
    """Largest total uncompressed size of an archive's members."""
    max_compression_ratio: float = 100.0
    """Largest uncompressed/compressed ratio of one archive member (zip bombs)."""
    max_members: int = 1000
    """Most members an archive may hold."""
    max_rows: int = 100_000
    """Most data rows (plots) one upload may carry."""
    max_columns: int = 500
    """Most columns of a table (a CSV header); a field form has tens."""
    max_layers: int = 20
    """Most layers (GeoPackage tables, KML folders, Shapefiles, sheets) of one file."""
    max_refused_bytes: int = 100 * 1024 * 1024
    """Refused uploads kept for a look by an admin, newest first, up to this many bytes."""


def safe_filename(filename: str) -> str:
    """Return the last path component of ``filename`` with unsafe characters replaced.

    A client controls the name it sends; only its base name is kept, so
    ``../../etc/passwd`` becomes ``passwd`` and cannot leave the upload folder.

    Examples
    --------
    >>> safe_filename("../../x/plots 2025.csv")
    'plots_2025.csv'
    """
    base = PurePosixPath(filename.replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    return cleaned[:200] or "upload.bin"


def screen_upload(path: Path, limits: UploadLimits, *, display_name: str | None = None) -> None:
    """Refuse an uploaded file that is too large, hostile or not UTF-8 text.

    Parameters
    ----------
    path : Path
        The saved copy of the upload.
    limits : UploadLimits
        Size, archive and row limits.
    display_name : str, optional
        Name to use in messages (the name the client sent); defaults to ``path.name``.

    Raises
    ------
    UploadTooLargeError
        The file, or an archive's expanded content, exceeds the limits.
    InvalidInputError
        Unsafe archive member paths, XML with a DTD or entities, text that is not
        UTF-8, or more rows than ``limits.max_rows``.
    """
    name = display_name or path.name
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise UploadTooLargeError(
            f"{name}: {size} bytes is over the upload limit of {limits.max_bytes} bytes; "
            "split the export (for example by district or date) and upload the parts"
        )
    if zipfile.is_zipfile(path):
        _screen_archive(path, name, limits)
        return
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        with open(path, "rb") as fh:
            _screen_text(fh, name, suffix, limits)
    elif suffix in _LAYERED_SUFFIXES:
        _screen_layers(path, name, limits)


def _too_many(name: str, count: int, what: str, limit: int, hint: str) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"{name}: {count} {what}, more than the limit of {limit} per upload; {hint}"
    )


def _screen_layers(path: Path, name: str, limits: UploadLimits) -> None:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001 - GDAL says why in its own words; the reader reports it
        logger.debug("%s: layers not listed before reading (%s)", name, type(exc).__name__)
        return
    if len(layers) > limits.max_layers:
        raise _too_many(name, len(layers), "layers", limits.max_layers, _ONE_LAYER)


def _screen_archive(path: Path, name: str, limits: UploadLimits) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInputError(f"{name}: not a readable zip archive ({exc})") from exc
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise InvalidInputError(
                f"{name}: archive holds {len(members)} members, more than the limit of "
                f"{limits.max_members}; upload one export per archive"
            )
        total = 0
        for member in members:
            problem = member_problem(member)
            if problem:
                raise InvalidInputError(
                    f"{name}: archive member {member.filename!r} {problem}; "
                    "re-create the archive from the export folder"
                )
            total += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > _CHUNK_BYTES and ratio > limits.max_compression_ratio:
                raise UploadTooLargeError(
                    f"{name}: member {member.filename!r} expands {ratio:.0f}-fold "
                    f"(to {member.file_size} bytes); refused as a possible zip bomb"
                )
            if total > limits.max_unzipped_bytes:
                raise UploadTooLargeError(
                    f"{name}: archive expands to more than {limits.max_unzipped_bytes} bytes; "
                    "refused as a possible zip bomb, upload a smaller export"
                )
        layers = [m for m in members if PurePosixPath(m.filename).suffix.lower() in _LAYER_MEMBERS]
        if len(layers) > limits.max_layers:
            raise _too_many(name, len(layers), "layers", limits.max_layers, _ONE_LAYER)
        _check_members(archive, members, name, limits)
        for member in members:
            suffix = PurePosixPath(member.filename).suffix.lower()
            if suffix in _TEXT_SUFFIXES and not member.is_dir():
                with archive.open(member) as fh:
                    _screen_text(fh, f"{name}:{member.filename}", suffix, limits)


_LAYER_MEMBERS = {".shp", ".kml", ".gpkg", ".geojson", ".csv"}


def _check_members(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], name: str, limits: UploadLimits
) -> None:
    """Read every member through once: a bad CRC, a lying size, corrupt deflate data or an
    unknown compression method is refused here, naming the member, not deep in a reader."""
    total = 0
    for member in members:
        if member.is_dir():
            continue
        try:
            with archive.open(member) as fh:
                while block := fh.read(_CHUNK_BYTES):
                    total += len(block)
                    if total > limits.max_unzipped_bytes:
                        raise UploadTooLargeError(
                            f"{name}: archive expands to more than {limits.max_unzipped_bytes} "
                            "bytes; refused as a possible zip bomb, upload a smaller export"
                        )
        except _MEMBER_FAILURES as exc:
            raise InvalidInputError(
                f"{name}: archive member {member.filename!r} is corrupt or unreadable "
                f"({type(exc).__name__}: {exc}); create the archive again and upload it"
            ) from exc


def _screen_text(fh, name: str, suffix: str, limits: UploadLimits) -> None:
    head = fh.read(4096)
    fh.seek(0)
    if suffix in _ROW_SUFFIXES:
        _screen_header(fh, name, limits)
    # UTF-16 with a byte order mark is what Excel's "Unicode text" writes; the survey
    # reader decodes it. Anything else must be UTF-8 (with or without BOM).
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding = "utf-16" if utf16 else "utf-8"
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, lines, last = 0, 1, b"\n"
    while block := fh.read(_CHUNK_BYTES):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            line = lines + block[: exc.start].count(b"\n")
            raise InvalidInputError(
                f"{name} line {line}: byte {offset + exc.start} (0x{block[exc.start]:02x}) is "
                f"not {encoding.upper()} text; export or save the file as UTF-8 and upload it again"
            ) from exc
        offset += len(block)
        lines += block.count(b"\n")
        last = block[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{name}: the file ends inside a character; it is truncated or not {encoding.upper()}"
        ) from exc
    data_rows = lines - 1 - (last == b"\n")  # header not counted, nor a final empty line
    if suffix in _ROW_SUFFIXES and data_rows > limits.max_rows:
        raise InvalidInputError(
            f"{name}: about {data_rows} rows, more than the limit of {limits.max_rows} "
            "per upload; split the export and upload the parts"
        )
    if suffix in _XML_SUFFIXES or head.lstrip().startswith((b"<?xml", b"<kml")):
        _screen_xml(fh, name, limits)


def _screen_header(fh, name: str, limits: UploadLimits) -> None:
    """Refuse a table with more columns than the limit before a reader splits a single row."""
    header = fh.readline(_CHUNK_BYTES)
    fh.seek(0)
    if len(header) >= _CHUNK_BYTES and not header.endswith(b"\n"):
        raise _too_many(name, len(header), "bytes in the header line", _CHUNK_BYTES, _FEWER)
    columns = 1 + max(header.count(d) for d in (b",", b";", b"\t", b"|"))
    if columns > limits.max_columns:
        raise _too_many(name, columns, "columns", limits.max_columns, _FEWER)


_FEWER = "export only the form's questions (most exports choose the columns)"


def _screen_xml(fh, name: str, limits: UploadLimits) -> None:
    fh.seek(0)
    try:
        tree = safe_xml.parse(fh, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InvalidInputError(
            f"{name}: XML declares a DTD or entities ({type(exc).__name__}); "
            "these are refused for safety, export the KML again without a DOCTYPE"
        ) from exc
    except safe_xml.ParseError as exc:
        raise InvalidInputError(f"{name}: not well-formed XML ({exc})") from exc
    folders = features = 0
    for element in tree.iter():
        tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        folders += tag in ("Folder", "Document")
        features += tag in ("Placemark", "wpt", "trk", "rte")
    if folders > limits.max_layers:
        raise _too_many(name, folders, "folders (layers)", limits.max_layers, _ONE_LAYER)
    if features > limits.max_rows:
        raise _too_many(name, features, "features", limits.max_rows, "split the export")
