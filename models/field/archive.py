"""Zip uploads: a zipped Shapefile, or ODK Central's zipped CSV export with repeat groups.

ODK Central's "download all" export is a zip holding ``<form>.csv`` (one row per
submission) and one ``<form>-<repeat>.csv`` per repeat group, whose rows point
to their submission through ``PARENT_KEY``. When plots are a repeat group
(several plots per visit), the plots are the repeat rows; the submission's own
fields (date, team, submitter...) are joined onto each plot through
``PARENT_KEY``. Row numbers then count rows of the file that holds the plots,
and a warning names it.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.columns import header_key, resolve_columns
from models.field.safety import check_file_size, safe_extract_zip
from models.field.tabular import read_csv_plots, read_csv_table
from models.field.vector import read_shapefile_members

__all__ = ["read_zip_plots"]

logger = logging.getLogger(__name__)


def read_zip_plots(path: Path, *, max_rows: int, source: str | None = None) -> RawPlots:
    """Read a zip upload: one Shapefile, or the CSV files of an ODK Central export.

    Raises
    ------
    InvalidInputError
        When the archive is hostile or corrupt, holds several Shapefiles, or neither a
        Shapefile nor a CSV with plot geometry and crops.
    """
    name = source or path.name
    check_file_size(path)
    with tempfile.TemporaryDirectory(prefix="admon-zip-") as tmp:
        members = safe_extract_zip(path, Path(tmp))
        tables = [m for m in members if m.suffix.lower() == ".csv"]
        if tables and not any(m.suffix.lower() == ".shp" for m in members):
            return _read_odk_zip(tables, name, max_rows)
        return read_shapefile_members(members, name=name, max_rows=max_rows)


def _has_key(column: object, key: str) -> bool:
    return header_key(column) == key


def _read_odk_zip(tables: list[Path], name: str, max_rows: int) -> RawPlots:
    readable: list[RawPlots] = []
    problems = []
    for table in sorted(tables, key=lambda p: (len(p.stem), p.stem)):
        try:
            raw = read_csv_plots(table, max_rows=max_rows, source=f"{name}:{table.name}")
        except InvalidInputError as exc:
            problems.append(str(exc))
            continue
        if "crop" in resolve_columns(raw.attributes.columns, exclude=raw.consumed_columns):
            readable.append(raw)
    if not readable:
        raise InvalidInputError(
            f"{name}: no CSV in the archive has plot geometry and a crop column"
            + (f" ({'; '.join(problems)})" if problems else "")
        )
    plots = readable[0]
    if len(readable) > 1:
        plots.warnings.append((0, "file", f"several CSV files hold plots; read {plots.source}"))
    parent_key = next((c for c in plots.attributes.columns if _has_key(c, "parent_key")), None)
    if parent_key is not None:
        _join_submission(plots, parent_key, tables, max_rows, name)
    plots.warnings.append((0, "file", f"rows are numbered in {plots.source.split(':', 1)[1]}"))
    plots.source = name
    return plots


def _join_submission(plots: RawPlots, parent_key: str, tables, max_rows: int, name: str) -> None:
    """Add the submission's columns to each repeat row (those the repeat row lacks)."""
    for table in tables:
        if table.name == plots.source.split(":", 1)[1]:
            continue
        parents, _, _ = read_csv_table(table, max_rows=max_rows, source=f"{name}:{table.name}")
        key = next((c for c in parents.columns if _has_key(c, "key")), None)
        if key is None or any(_has_key(c, "parent_key") for c in parents.columns):
            continue
        parents = parents.drop_duplicates(subset=key).set_index(key)
        extra = [c for c in parents.columns if c not in plots.attributes.columns]
        joined = parents.reindex(plots.attributes[parent_key].tolist())[extra]
        joined.index = plots.attributes.index
        plots.attributes = pd.concat([plots.attributes, joined.fillna("")], axis=1)
        missing = plots.attributes.index[joined.isna().all(axis=1).to_numpy()] if extra else []
        for row in missing:
            plots.warnings.append((int(row), parent_key, "no submission with this PARENT_KEY"))
        logger.info("%s: joined %d submission columns from %s", name, len(extra), table.name)
        return
