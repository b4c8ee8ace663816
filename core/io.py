"""Atomic output: every file admon writes appears whole or not at all.

Writers produce a temporary sibling (same directory, so the final rename is
atomic on POSIX) and rename it into place only when the write has finished.
A process killed mid-write leaves at most a ``.tmp-*`` file, never a
half-written output under the real name; ``clean_partial`` removes those.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "available_cores",
    "atomic_path",
    "atomic_write_text",
    "atomic_write_json",
    "sha256_file",
    "clean_partial",
    "release_memory",
    "write_table",
    "read_csv_table",
    "spreadsheet_safe",
    "restore_text",
    "relative_paths",
]

TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary name keeps the suffix of ``path`` so that format drivers that
    choose by extension (GDAL, pyogrio) still work. On any exception the
    temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> with atomic_path("out/classes.tif") as tmp:  # doctest: +SKIP
    ...     write_raster(tmp)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=final.suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers (GDAL, pyogrio) want to create the file themselves
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"writer produced no file for {final}")
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented, key-sorted JSON to ``path`` atomically."""
    return atomic_write_text(
        path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    )


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)."""

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _is_formula(text: str) -> bool:
    """True for ``text`` a spreadsheet would run, once any ``'`` before it is taken off."""
    bare = text.lstrip("'")
    return bare.startswith(FORMULA_START) and not _NUMBER.fullmatch(bare)


def _inert(value: object) -> object:
    return "'" + value if isinstance(value, str) and _is_formula(value) else value


def _restored(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and _is_formula(value):
        return value[1:]
    return value


def _text_columns(table: Any) -> list[Any]:
    import pandas as pd

    return [
        c
        for c in table.columns
        if table[c].dtype == object or pd.api.types.is_string_dtype(table[c])
    ]


def spreadsheet_safe(table: Any) -> Any:
    """``table`` with every text cell that a spreadsheet would run as a formula made inert.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
    ``'`` (OWASP's rule against CSV injection), so a plot id or team name from an
    operator's file opens in Excel or LibreOffice as the text it is. Numbers stay numbers:
    numeric columns are not touched, nor is a text cell that is a plain decimal number
    (``-12.5``). A cell that already starts with ``'`` before such a character gets one
    more, so :func:`restore_text` gives back exactly what was written.

    Examples
    --------
    >>> import pandas as pd
    >>> spreadsheet_safe(pd.DataFrame({"name": ["=1+1", "-3", "Kunar"]}))["name"].tolist()
    ["'=1+1", '-3', 'Kunar']
    """
    out = table.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(_inert)
    return out


def restore_text(table: Any) -> Any:
    """The table :func:`spreadsheet_safe` was given: one ``'`` off each neutralised cell."""
    out = table.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(_restored)
    return out


def read_csv_table(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """A CSV :func:`write_table` wrote, as it was given to it (``pandas.read_csv`` options)."""
    import pandas as pd

    return restore_text(pd.read_csv(path, **kwargs))


def write_table(table: Any, path: str | os.PathLike[str], *, layer: str | None = None) -> Path:
    """Write a table atomically: CSV (geometry dropped), or GeoPackage / GeoJSON by suffix.

    ``layer`` names the GeoPackage layer (default: the file's stem). Tables are pandas
    DataFrames or geopandas GeoDataFrames; pandas and geopandas are imported here only
    when a table is written, so the ground floor stays cheap to import. A CSV is
    :func:`spreadsheet_safe` (people open the run folder's tables in a spreadsheet);
    :func:`read_csv_table` reads it back as it was.
    """
    import geopandas as gpd
    import pandas as pd

    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
            spreadsheet_safe(frame).to_csv(tmp, index=False)
        else:
            driver = "GPKG" if path.suffix == ".gpkg" else "GeoJSON"
            gpd.GeoDataFrame(table).to_file(
                tmp, driver=driver, layer=layer or path.stem, engine="pyogrio"
            )
    return path


def sha256_file(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def clean_partial(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files left under ``directory`` by a killed writer; return them."""
    removed = []
    for leftover in Path(directory).rglob(f"{TMP_PREFIX}*"):
        if leftover.is_file():
            leftover.unlink()
            removed.append(leftover)
    return removed


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity, not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def release_memory() -> None:
    """Give the memory freed by finished work back to the operating system.

    glibc keeps the blocks freed by many threads in its arenas: after a stage has
    streamed a large raster through numpy and GDAL, the process can hold a gigabyte
    it no longer uses (measured on the 4x demo region: 1.28 GB resident after
    writing the features, 0.37 GB when ``write_cog`` ends with this call).
    ``malloc_trim`` returns it; without glibc this does nothing.
    """
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once (``find_library`` runs ``ldconfig`` each call)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def relative_paths(value: Any, root: str | os.PathLike[str]) -> Any:
    """``value`` (JSON-like) with every absolute path written relative to ``root``.

    Records that leave the server (manifests, reports, error messages) name files
    relative to the workspace, never by where the server keeps them: a string that
    is an absolute path becomes ``os.path.relpath(path, root)``, and ``root`` inside
    any other text is dropped.

    Examples
    --------
    >>> relative_paths({"path": "/srv/ws/runs/2025/a/classes.tif"}, "/srv/ws")
    {'path': 'runs/2025/a/classes.tif'}
    >>> relative_paths("cannot read /srv/ws/field/x.gpkg", "/srv/ws")
    'cannot read field/x.gpkg'
    """
    base = os.path.abspath(os.fspath(root))
    if isinstance(value, dict):
        return {key: relative_paths(item, base) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(relative_paths(item, base) for item in value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        return value
    if os.path.isabs(value) and "\n" not in value and " " not in value.strip():
        return Path(os.path.relpath(value, base)).as_posix()
    return value.replace(base + os.sep, "").replace(base, ".")
