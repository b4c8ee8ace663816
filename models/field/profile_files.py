"""Form profiles read from files: a TOML profile, the form's XLSForm, or the files a store keeps.

The TOML layout is described in :mod:`models.field.profile`. Every problem names
the profile file, the key and the fix.
"""

from __future__ import annotations

import logging
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError
from models.field.labels import normalise_label
from models.field.profile import PROFILE_FIELDS, VALUE_FIELDS, FormProfile, with_crop_choices
from models.field.units import canonical_unit
from models.field.xlsform import read_xlsform
from models.schema import CROPS, STATUSES

__all__ = ["as_form", "load_form", "profile_from_dict", "form_files", "load_form_files"]

logger = logging.getLogger(__name__)

_SECTIONS = {"form", "questions", "units", "values", "gps"}
_FORM_KEYS = {"title", "plots", "xlsform"}


def as_form(form: FormProfile | str | Path | None) -> FormProfile | None:
    """Accept a profile, a path to one (TOML or XLSForm), or ``None``."""
    if form is None or isinstance(form, FormProfile):
        return form
    return load_form(Path(form))


def form_files(path: Path) -> dict[str, bytes]:
    """Return the files a profile is made of (the TOML or XLSForm, and the XLSForm a TOML names).

    This is what a store keeps for a team, so that later uploads need no profile.

    Raises
    ------
    InvalidInputError
        When the profile cannot be read (it is loaded once to check it).
    """
    profile = load_form(path)
    files = {path.name: path.read_bytes()}
    if path.suffix.lower() == ".toml" and profile.xlsform is not None:
        named = tomllib.loads(path.read_text(encoding="utf-8"))["form"]["xlsform"]
        target = Path(named) if Path(named).is_absolute() else path.parent / named
        if not target.is_file():
            target = path.parent / Path(named).name
        files[target.name] = target.read_bytes()
    return files


def load_form_files(files: Mapping[str, bytes], *, source: str | None = None) -> FormProfile:
    """Read a profile from its files' bytes (see :func:`form_files`): the ``.toml`` if there is
    one, else the one ``.xlsx`` XLSForm.

    Raises
    ------
    InvalidInputError
        When no profile is among the files, or it cannot be read.
    """
    with tempfile.TemporaryDirectory(prefix="admon-form-") as tmp:
        written = []
        for name, content in files.items():
            base = Path(str(name).replace("\\", "/")).name
            if not base or base.startswith("."):
                raise InvalidInputError(f"form profile: {name!r} is not a usable file name")
            (Path(tmp) / base).write_bytes(content)
            written.append(Path(tmp) / base)
        tomls = [p for p in written if p.suffix.lower() == ".toml"]
        forms = [p for p in written if p.suffix.lower() == ".xlsx"]
        if len(tomls) > 1 or (not tomls and len(forms) != 1):
            raise InvalidInputError(
                "form profile: give one .toml profile (and the XLSForm it names), or one "
                f"XLSForm; got {', '.join(p.name for p in written) or 'nothing'}"
            )
        chosen = tomls[0] if tomls else forms[0]
        return load_form(chosen, source=source or chosen.name)


def load_form(path: Path, *, source: str | None = None) -> FormProfile:
    """Read a form profile: a TOML file (see the module notes) or the form's XLSForm.

    Parameters
    ----------
    path
        ``.toml`` profile, or ``.xlsx`` XLSForm (survey/choices/settings sheets).
    source
        Name for messages (default: the file name).

    Raises
    ------
    InvalidInputError
        When the file is neither, or a key or value is wrong; the message names the
        file, the key and the fix.

    Examples
    --------
    >>> profile = load_form(Path("data/examples/forms/hopong_profile.toml"))  # doctest: +SKIP
    >>> profile.questions["crop"], profile.area_unit  # doctest: +SKIP
    ('crop_grown', 'rai')
    """
    name = source or path.name
    if not path.is_file():
        raise InvalidInputError(f"form profile {name}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        xlsform = read_xlsform(path, source=name)
        return with_crop_choices(FormProfile(source=name, title=xlsform.title, xlsform=xlsform))
    if suffix != ".toml":
        raise InvalidInputError(
            f"form profile {name}: give a .toml profile or the form's XLSForm (.xlsx), "
            f"not {suffix or 'a file without extension'}"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"form profile {name}: not valid TOML ({exc})") from None
    return profile_from_dict(data, source=name, base=path.parent)


def profile_from_dict(
    data: Mapping[str, Any], *, source: str, base: Path | None = None
) -> FormProfile:
    """Build a profile from TOML-shaped data (``base``: folder an ``xlsform`` path is relative to)."""
    unknown = set(data) - _SECTIONS
    if unknown:
        raise InvalidInputError(
            f"form profile {source}: unknown section(s) {', '.join(sorted(unknown))}; "
            f"the sections are {', '.join(sorted(_SECTIONS))}"
        )
    form = _table(data, "form", source)
    if set(form) - _FORM_KEYS:
        bad = ", ".join(sorted(set(form) - _FORM_KEYS))
        raise InvalidInputError(
            f"form profile {source}: [form] has unknown key(s) {bad}; use title, plots, xlsform"
        )
    questions = {
        k: _text(v, f"questions.{k}", source) for k, v in _table(data, "questions", source).items()
    }
    wrong = set(questions) - set(PROFILE_FIELDS)
    if wrong:
        raise InvalidInputError(
            f"form profile {source}: [questions] {', '.join(sorted(wrong))} is not a plot field; "
            f"the fields are {', '.join(PROFILE_FIELDS)}"
        )
    units = _table(data, "units", source)
    area_unit = None
    if "area" in units:
        try:
            area_unit = canonical_unit(_text(units["area"], "units.area", source))
        except InvalidInputError as exc:
            raise InvalidInputError(f"form profile {source}: units.area: {exc}") from None
    xlsform = None
    if form.get("xlsform"):
        relative = Path(_text(form["xlsform"], "form.xlsform", source))
        target = relative if relative.is_absolute() or base is None else base / relative
        if not target.is_file() and base is not None:
            target = base / relative.name  # a stored profile keeps its files side by side
        if not target.is_file():
            raise InvalidInputError(
                f"form profile {source}: form.xlsform {str(relative)!r} not found next to the "
                "profile; put the XLSForm beside it or remove the key"
            )
        xlsform = read_xlsform(target)
    gps = _table(data, "gps", source)
    uere = gps.get("uere_m", 5.0)
    if not isinstance(uere, (int, float)) or not 0 < uere < 100:
        raise InvalidInputError(f"form profile {source}: gps.uere_m must be metres, e.g. 5.0")
    offset = _utc_offset(gps.get("utc_offset"), source)
    profile = FormProfile(
        source=source,
        title=str(form.get("title") or (xlsform.title if xlsform else "")),
        questions=questions,
        area_unit=area_unit,
        values=_values(_table(data, "values", source), source),
        plots=str(form.get("plots") or "") or None,
        xlsform=xlsform,
        uere_m=float(uere),
        utc_offset_h=offset,
    )
    logger.info("form profile %s: %d questions mapped", source, len(questions))
    return with_crop_choices(profile)


def _utc_offset(value: Any, source: str) -> float | None:
    if value is None:
        return None
    text = str(value).strip()
    match = re.fullmatch(r"([+-])?(\d{1,2})(?::?(\d{2}))?", text)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= 14:
        return float(value)
    if match is None or int(match[2]) > 14:
        raise InvalidInputError(
            f'form profile {source}: gps.utc_offset {value!r} is not an offset like "+06:30"'
        )
    hours = int(match[2]) + int(match[3] or 0) / 60
    return -hours if match[1] == "-" else hours


def _table(data: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InvalidInputError(f"form profile {source}: {key} must be a [{key}] table")
    return value


def _text(value: Any, key: str, source: str) -> str:
    if not isinstance(value, (str, int)) or not str(value).strip():
        raise InvalidInputError(f"form profile {source}: {key} must be a name in quotes")
    return str(value).strip()


def _values(tables: dict[str, Any], source: str) -> dict[str, dict[str, str]]:
    allowed = {"crop": CROPS, "status": STATUSES}
    result: dict[str, dict[str, str]] = {}
    for field_name, table in tables.items():
        if field_name not in VALUE_FIELDS or not isinstance(table, dict):
            raise InvalidInputError(
                f"form profile {source}: [values.{field_name}] is not allowed; map answers of "
                f'{", ".join(VALUE_FIELDS)} as [values.crop] opium_poppy = ["1", "bein"]'
            )
        mapping: dict[str, str] = {}
        for meaning, answers in table.items():
            if field_name in allowed and meaning not in allowed[field_name]:
                raise InvalidInputError(
                    f"form profile {source}: values.{field_name}.{meaning}: {meaning!r} is not "
                    f"one of {', '.join(allowed[field_name])}"
                )
            answers = answers if isinstance(answers, list) else [answers]
            for answer in answers:
                key = normalise_label(str(answer))
                if mapping.get(key, meaning) != meaning:
                    raise InvalidInputError(
                        f"form profile {source}: values.{field_name}: answer {answer!r} is given "
                        f"for both {mapping[key]!r} and {meaning!r}"
                    )
                mapping[key] = meaning
        result[field_name] = mapping
    return result
