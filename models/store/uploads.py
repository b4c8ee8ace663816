"""The upload half of a store: ingest a field data file once per team, atomically, and say why not.

An upload arrives as bytes or as a file the service streamed to disk. It is
hashed, saved under ``<workspace>/uploads/<sha256[:2]>/<sha256>/<name>``,
screened (size, archives, XML, text, layers, columns), read by
``models.survey.load_plots`` and stored in one transaction. A refused file is
recorded in ``refused_uploads`` and its bytes are kept only within a quota
(``UploadLimits.max_refused_bytes``, oldest dropped first). Messages name the
file as the team sent it, never the server's folders.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from core.errors import AdmonError, InvalidInputError, NotFoundError, StoreError
from core.io import atomic_path
from models.store.frames import utc_now
from models.store.records import UploadResult
from models.store.schema import WGS84
from models.store.screening import safe_filename, screen_upload
from models.store.upload_files import (
    digest as _digest,
)
from models.store.upload_files import (
    discard as _discard,
)
from models.store.upload_files import (
    relative_message,
)
from models.store.upload_files import (
    remove_upload_folder as _remove_upload_folder,
)
from models.store.upload_files import (
    token_team as _token_team,
)

__all__ = ["UploadStore"]

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20
_READER_FAILURES = (
    ValueError,
    OSError,
    RuntimeError,
    KeyError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
)


class UploadStore:
    """Mixed into :class:`~models.store.base.Store` (``tables``, ``engine``, ``_write``, ...)."""

    def ingest_upload(
        self,
        raw: bytes | os.PathLike[str],
        filename: str,
        team: str,
        *,
        strict: bool = False,
        districts: Any = None,
        season: tuple[Any, Any] | None = None,
        form_files: Mapping[str, bytes] | None = None,
    ) -> UploadResult:
        """Validate a field data file and store its accepted plots, atomically and once per team.

        The bytes are saved under
        ``<workspace>/uploads/<sha256[:2]>/<sha256>/<filename>``, screened, parsed by
        ``models.survey.load_plots`` and stored in one transaction: the upload record
        and all its accepted plots, or nothing. The token's team is the team of every
        stored plot: a file whose ``team`` column names another team gets a row
        warning and keeps that value as ``team_in_file``. The same content sent again
        by the same team stores nothing and returns its first upload id with
        ``duplicate=True``; sent by another team, it is recorded for that team too
        (its own upload id, ``duplicate=True``, no second copy of the plots).

        Parameters
        ----------
        raw : bytes or path
            The file content as received, or a file holding it (moved into the upload
            folder, so it is never read into memory whole).
        filename : str
            Name the client gave; only its base name is used.
        team : str
            Survey team that sent it (from the token on the HTTP service).
        strict : bool
            Refuse the whole file when any row is invalid.
        districts : GeoDataFrame, optional
            Districts to check plot locations against (``load_plots``).
        season : (start, end), optional
            Survey season dates (``load_plots`` rejects rows surveyed outside); the
            plots' ``year`` is then the year the season ends (the harvest year),
            otherwise the year of each plot's ``survey_date``.
        form_files : mapping of file name to bytes, optional
            A form profile (``.toml`` and the XLSForm it names, or an XLSForm): checked,
            stored as the team's (replacing any earlier one) and used for this file.
            Without it the team's stored profile is used, if any.

        Returns
        -------
        UploadResult

        Raises
        ------
        UploadTooLargeError
            Over the size limit, an archive expanding past it (zip bomb), or more
            layers, columns or rows than the limits allow.
        InvalidInputError
            Unsafe or corrupt archives, XML entities, non-UTF-8 text, or a file the
            reader cannot read (``UnsupportedFormatError`` for unknown types).

        Examples
        --------
        >>> store = open_store("workspace/store.gpkg")  # doctest: +SKIP
        >>> result = store.ingest_upload(path.read_bytes(), path.name, "team-a")  # doctest: +SKIP
        """
        if not team or not str(team).strip():
            raise InvalidInputError(f"{filename}: an upload needs a team name")
        form = self.save_team_form(team, form_files) if form_files else self.team_form(team)
        name = safe_filename(filename)
        sha256, size = _digest(raw)
        if (mine := self._upload_row(sha256=sha256, team=team)) is not None:
            logger.info("upload %s repeats upload %s; nothing stored", name, mine["upload_id"])
            _discard(raw)
            return self._result_from_row(mine, duplicate=True)
        if (theirs := self._upload_row(sha256=sha256)) is not None:
            _discard(raw)
            return self._record_repeat(theirs, name, team, size)
        raw_path = self._save_raw(raw, sha256, name)
        plots, report = self._read_saved(
            raw_path, sha256, name, filename, team, strict, districts, season, form
        )
        upload_id = uuid.uuid4().hex
        upload_row = {
            "upload_id": upload_id,
            "sha256": sha256,
            "filename": name,
            "team": team,
            "received_at": utc_now(),
            "size_bytes": raw_path.stat().st_size,
            "accepted": len(plots),
            "rejected": int(report.rejected),
            "status": "accepted" if len(plots) else "rejected",
            "raw_path": raw_path.relative_to(self.workspace).as_posix(),
            "errors": json.dumps(
                [_error_record(e) for e in report.errors],
                default=str,
            ),
            "report": json.dumps(report.to_dict(), default=str),
        }
        plot_rows = self._plot_rows(plots, upload_id=upload_id, team=team, season=season)
        if not self._store_upload(upload_row, plot_rows):
            # the same content, sent at the same moment, was stored first: report that one
            return self._result_from_row(self._upload_row(sha256=sha256, team=team), duplicate=True)
        logger.info(
            "upload %s from %s: %d accepted, %d rejected", name, team, len(plots), report.rejected
        )
        return self._result_from_row(upload_row, duplicate=False)

    def _read_saved(self, raw_path, sha256, name, filename, team, strict, districts, season, form):
        """Screen and read the saved file; a refusal is recorded and raised with public text."""
        try:
            screen_upload(raw_path, self.limits, display_name=filename)
            plots, report = self.plot_loader(
                raw_path,
                districts=districts,
                season=season,
                strict=strict,
                source_upload=name,
                team=team,
                max_rows=self.limits.max_rows,
                **({"form": form} if form is not None else {}),
            )
            if len(plots) > self.limits.max_rows:
                raise InvalidInputError(
                    f"{filename}: {len(plots)} plots, more than the limit of "
                    f"{self.limits.max_rows} per upload; split the export and upload the parts"
                )
        except StoreError:
            raise  # not a refusal: the store could not do its part; the client tries again
        except AdmonError as exc:
            self._refused(raw_path, sha256, name, team, exc)
            public = copy.copy(exc)  # same type and attributes (the report), public text
            public.args = (self._public_message(str(exc), raw_path, filename),)
            raise public from exc
        except _READER_FAILURES as exc:  # GDAL, zip and XML errors name server paths
            self._refused(raw_path, sha256, name, team, exc)
            raise InvalidInputError(
                f"{filename}: the file cannot be read ("
                f"{self._public_message(str(exc), raw_path, filename)})"
            ) from exc
        return _token_team(plots, team, report), report

    def _record_repeat(self, first: dict[str, Any], name: str, team: str, size: int):
        """Record another team's copy of stored content: its own id, no second set of plots."""
        row = {
            **{k: v for k, v in first.items() if k != "fid"},
            "upload_id": uuid.uuid4().hex,
            "filename": name,
            "team": team,
            "received_at": utc_now(),
            "size_bytes": size,
            "status": "duplicate",
            "duplicate_of": first["upload_id"],
        }
        if not self._store_upload(row, []):
            # this team's copy, sent at the same moment, was recorded first: report that one
            mine = self._upload_row(sha256=row["sha256"], team=team)
            return self._result_from_row(mine, duplicate=True)
        logger.info("upload %s from %s repeats content stored by another team", name, team)
        return self._result_from_row(row, duplicate=True)

    def _store_upload(self, upload_row: dict[str, Any], plot_rows: list[dict[str, Any]]) -> bool:
        """Write the upload and its plots in one transaction; False if this team's copy is stored."""
        uploads = self.tables["uploads"]
        with self._write() as conn:
            statement = self._insert_ignoring_conflict(conn, "uploads").returning(uploads.c.fid)
            if conn.execute(statement, upload_row).first() is None:
                return False
            self._insert_plots(conn, plot_rows)
            if plot_rows:
                geometries = [row["geom"] for row in plot_rows]
                self._layer_changed(conn, "survey_plots", WGS84, geometries, replace=False)
        return True

    def _save_raw(self, raw: bytes | os.PathLike[str], sha256: str, name: str) -> Path:
        target = self.workspace / "uploads" / sha256[:2] / sha256 / name
        if target.exists():
            _discard(raw)
            return target
        with atomic_path(target) as tmp:
            if isinstance(raw, (bytes, bytearray)):
                tmp.write_bytes(raw)
            else:
                shutil.move(os.fspath(raw), tmp)
        return target

    def _public_message(self, message: str, raw_path: Path, filename: str) -> str:
        workspace = self.workspace.resolve()
        return relative_message(
            message,
            {
                str(raw_path.resolve()): filename,
                str(raw_path): filename,
                str(raw_path.parent.resolve()): ".",
                str(workspace) + os.sep: "",
                str(workspace): ".",
                str(self.workspace) + os.sep: "",
            },
        )

    # -- refusals ------------------------------------------------------------------
    def _refused(self, raw_path: Path, sha256: str, name: str, team: str, exc: Exception) -> None:
        """Record a refused upload and keep its bytes only within the quota."""
        size = raw_path.stat().st_size if raw_path.exists() else 0
        reason = self._public_message(f"{type(exc).__name__}: {exc}", raw_path, name)
        row = {
            "sha256": sha256,
            "filename": name,
            "team": team,
            "received_at": utc_now(),
            "size_bytes": size,
            "reason": reason[:2000],
            "kept_path": None,
        }
        referenced = self._upload_row(sha256=sha256) is not None
        keep = size <= self.limits.max_bytes and size <= self.limits.max_refused_bytes
        if keep and raw_path.exists():
            row["kept_path"] = raw_path.relative_to(self.workspace).as_posix()
        elif not referenced:
            _remove_upload_folder(raw_path)
        try:
            with self._write() as conn:
                conn.execute(self.tables["refused_uploads"].insert(), [row])
                self._enforce_refused_quota(conn)
        except AdmonError:
            logger.exception("refused upload %s from %s could not be recorded", name, team)

    def _enforce_refused_quota(self, conn: Connection) -> None:
        refused = self.tables["refused_uploads"]
        kept = conn.execute(
            select(refused.c.fid, refused.c.size_bytes, refused.c.kept_path, refused.c.sha256)
            .where(refused.c.kept_path.is_not(None))
            .order_by(refused.c.fid.desc())
        ).all()
        total = 0
        for fid, size, kept_path, sha256 in kept:
            total += int(size)
            if total <= self.limits.max_refused_bytes:
                continue
            uploads = self.tables["uploads"]
            in_use = conn.execute(select(uploads.c.fid).where(uploads.c.sha256 == sha256)).first()
            if in_use is None:
                _remove_upload_folder(self.workspace / kept_path)
            conn.execute(refused.update().where(refused.c.fid == fid).values(kept_path=None))

    def list_refused_uploads(self, team: str | None = None) -> pd.DataFrame:
        """Every refused upload, oldest first: who, when, file name, size, reason, where kept."""
        refused = self.tables["refused_uploads"]
        query = select(refused).order_by(refused.c.fid)
        if team is not None:
            query = query.where(refused.c.team == team)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        columns = [c.name for c in refused.columns if c.name != "fid"]
        return pd.DataFrame([{k: r[k] for k in columns} for r in rows], columns=columns)

    # -- records -------------------------------------------------------------------
    def _upload_row(
        self,
        *,
        sha256: str | None = None,
        upload_id: str | None = None,
        team: str | None = None,
    ):
        uploads = self.tables["uploads"]
        query = select(uploads).order_by(uploads.c.fid)
        if sha256 is not None:
            query = query.where(uploads.c.sha256 == sha256)
        else:
            query = query.where(uploads.c.upload_id == upload_id)
        if team is not None:
            query = query.where(uploads.c.team == team)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row is not None else None

    @staticmethod
    def _result_from_row(row: dict[str, Any], *, duplicate: bool) -> UploadResult:
        return UploadResult(
            upload_id=row["upload_id"],
            accepted=int(row["accepted"]),
            rejected=int(row["rejected"]),
            errors=json.loads(row["errors"]),
            duplicate=duplicate,
            report=json.loads(row["report"]),
        )

    def get_upload(self, upload_id: str) -> dict[str, Any]:
        """Return one upload: who, when, file name, sha256, counts, errors and report.

        Raises
        ------
        NotFoundError
            If no upload has this id.
        """
        row = self._upload_row(upload_id=upload_id)
        if row is None:
            raise NotFoundError(
                f"no upload with id {upload_id!r}; check the id the upload returned"
            )
        row.pop("fid", None)
        row["errors"] = json.loads(row["errors"])
        row["report"] = json.loads(row["report"])
        return row

    def list_uploads(self, team: str | None = None) -> pd.DataFrame:
        """Return every upload's metadata (no reports), oldest first, optionally for one team."""
        uploads = self.tables["uploads"]
        columns = [c for c in uploads.c if c.name not in ("fid", "errors", "report")]
        query = select(*columns).order_by(uploads.c.fid)
        if team is not None:
            query = query.where(uploads.c.team == team)
        with self.engine.connect() as conn:
            return pd.DataFrame(
                conn.execute(query).mappings().all(), columns=[c.name for c in columns]
            )


def _error_record(error: Any) -> dict[str, Any]:
    record = {"row": error.row, "field": error.field, "message": error.message}
    if getattr(error, "sheet", ""):  # the repeat sheet or CSV the row is on
        record["sheet"] = error.sheet
    return record
