"""The XLSForm a survey was built from, read to map a "labels" export back to question and choice names.

KoboToolbox and ODK both build forms from an XLSForm workbook: a ``survey``
sheet (``type``, ``name``, ``label`` or ``label::<Language> (<code>)`` per
translation), a ``choices`` sheet (``list_name``, ``name``, labels) and an
optional ``settings`` sheet (``form_title``, ``form_id``, ``version``,
``default_language``). A Kobo export "with labels" writes each question's label
in the chosen language as its header and each select_one answer as its choice
label; this module gives the maps back to names:

- :meth:`XLSForm.header_names`: every header a labels export can hold, in every
  language, to the XML header. Kobo's forms (formpack, as KPI calls it): the
  label (``Crop``), the group-label path when "include groups" is ticked
  (``Village/Plot/Crop``), split geopoints ``_<label>_latitude`` (and the
  hierarchy quirk ``Village/_Village location_latitude``), select_multiple
  columns ``<label>/<choice label>``; a question without a label in that
  language keeps its name;
- :meth:`XLSForm.choice_names`: per select question, every choice label in every
  language (compared after :func:`models.field.labels.normalise_label`) to the
  choice name.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from core.errors import InvalidInputError
from models.field.labels import normalise_label
from models.field.safety import check_file_size, check_zip

__all__ = ["Question", "XLSForm", "read_xlsform", "looks_like_xlsform"]

logger = logging.getLogger(__name__)

_LANGUAGE_COLUMN = re.compile(r"^label(?:::?(?P<language>.+))?$", re.I)
_GROUP_TYPES = ("begin_group", "begin group", "begin_repeat", "begin repeat")
_END_TYPES = ("end_group", "end group", "end_repeat", "end repeat")
_NO_COLUMN = {"note", "begin_group", "end_group", "begin_repeat", "end_repeat"}
_GEOPOINT_PARTS = ("latitude", "longitude", "altitude", "precision")


@dataclass(frozen=True)
class Question:
    """One row of the ``survey`` sheet that gives an answer column."""

    name: str
    """XML name (the header of an XML export)."""
    type: str
    """Base type: ``select_one``, ``select_multiple``, ``geopoint``, ``decimal``..."""
    list_name: str | None
    """Choice list of a select question."""
    labels: dict[str, str]
    """Label per language name (``English (en)``; ``""`` for an untranslated ``label``)."""
    groups: tuple[tuple[str, dict[str, str]], ...]
    """Enclosing groups and repeats, outermost first: ``(name, labels)``."""
    repeat: str | None
    """Name of the innermost enclosing repeat, ``None`` for the main section."""


@dataclass(frozen=True)
class XLSForm:
    """An XLSForm's questions and choices in every language."""

    source: str
    """File name, for messages."""
    title: str
    """``settings.form_title`` (the Kobo project name), or ``""``."""
    form_id: str
    """``settings.form_id`` (ODK's ``xmlFormId``, the ODK zip's file names), or ``""``."""
    languages: tuple[str, ...]
    """Language names of the label columns, ``""`` for a plain ``label`` column."""
    questions: tuple[Question, ...]
    """Answerable questions in survey order."""
    choices: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    """``{list_name: {choice name: {language: label}}}``."""
    repeats: tuple[str, ...] = ()
    """Names of the repeat groups, in survey order."""

    def question(self, name: str) -> Question | None:
        """Return the question with this XML name, or ``None``."""
        return next((q for q in self.questions if q.name == name), None)

    def header_names(self) -> dict[str, str]:
        """Return ``{header a labels export may hold: XML header}`` for every language.

        Labels shared by two questions are left out (they cannot be mapped back);
        :meth:`ambiguous_labels` lists them.
        """
        forms, clashes = self._header_forms()
        return {header: name for header, name in forms.items() if header not in clashes}

    def ambiguous_labels(self) -> list[str]:
        """Return the labels two different questions share (their headers stay as written)."""
        return sorted(self._header_forms()[1])

    def _header_forms(self) -> tuple[dict[str, str], set[str]]:
        forms: dict[str, str] = {}
        clashes: set[str] = set()

        def add(header: str, name: str) -> None:
            key = header.strip()
            if not key or key == name:
                return
            if forms.get(key, name) != name:
                clashes.add(key)
            forms.setdefault(key, name)

        for question in self.questions:
            for language in self.languages:
                label = question.labels.get(language) or question.name
                group_path = [labels.get(language) or name for name, labels in question.groups]
                group_names = [name for name, _ in question.groups]
                for prefix, name_prefix in (
                    ("", ""),
                    ("/".join(group_path), "/".join(group_names)),
                ):
                    head = f"{prefix}/" if prefix else ""
                    name_head = f"{name_prefix}/" if name_prefix else ""
                    add(head + label, name_head + question.name)
                    if question.type == "geopoint":
                        for part in _GEOPOINT_PARTS:
                            add(f"{head}_{label}_{part}", f"{name_head}_{question.name}_{part}")
                    if question.type == "select_multiple":
                        for choice, labels in self.choices.get(
                            question.list_name or "", {}
                        ).items():
                            add(
                                f"{head}{label}/{labels.get(language) or choice}",
                                f"{name_head}{question.name}/{choice}",
                            )
        return forms, clashes

    def choice_names(self, question: Question) -> dict[str, str]:
        """Return ``{normalised choice label or name: choice name}`` for a select question."""
        names: dict[str, str] = {}
        for choice, labels in self.choices.get(question.list_name or "", {}).items():
            names[normalise_label(choice)] = choice
            for label in labels.values():
                if label:
                    names.setdefault(normalise_label(label), choice)
        return names


def looks_like_xlsform(path: Path) -> bool:
    """True when a workbook has a ``survey`` sheet with ``type`` and ``name`` columns."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # not a workbook at all: the caller reports the file kind
        return False
    try:
        if "survey" not in workbook.sheetnames:
            return False
        header = next(workbook["survey"].iter_rows(values_only=True), ())
        names = {str(h).strip().casefold() for h in header if h is not None}
        return {"type", "name"} <= names
    finally:
        workbook.close()


def read_xlsform(path: Path, *, source: str | None = None) -> XLSForm:
    """Read an XLSForm workbook (``.xlsx``) into an :class:`XLSForm`.

    Raises
    ------
    InvalidInputError
        When the workbook cannot be opened, has no ``survey`` sheet with ``type``
        and ``name`` columns, or its groups do not close.

    Examples
    --------
    >>> form = read_xlsform(Path("poppy_plot_survey.xlsx"))  # doctest: +SKIP
    >>> form.languages, form.repeats  # doctest: +SKIP
    (('English (en)', 'Myanmar (my)'), ('plot',))
    """
    name = source or path.name
    check_file_size(path)
    check_zip(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a bad workbook
        raise InvalidInputError(f"{name}: not a readable XLSForm workbook ({exc})") from None
    try:
        if "survey" not in workbook.sheetnames:
            raise InvalidInputError(
                f"{name}: no 'survey' sheet, so not an XLSForm; sheets are "
                f"{', '.join(workbook.sheetnames)}. Give the form exactly as built for "
                "KoboToolbox or ODK (Kobo: Project > Form > Download XLS)"
            )
        survey = _sheet_records(workbook["survey"])
        choices = _sheet_records(workbook["choices"]) if "choices" in workbook.sheetnames else []
        settings = _sheet_records(workbook["settings"]) if "settings" in workbook.sheetnames else []
    finally:
        workbook.close()
    if not survey or not {"type", "name"} <= set(survey[0][1]):
        raise InvalidInputError(f"{name}: the survey sheet needs 'type' and 'name' columns")
    languages = _languages([survey[0][1], *(c[1] for c in choices[:1])])
    questions, repeats = _questions(survey, languages, name)
    setting = settings[1][1] if len(settings) > 1 else {}
    form = XLSForm(
        source=name,
        title=str(setting.get("form_title") or ""),
        form_id=str(setting.get("form_id") or ""),
        languages=languages,
        questions=tuple(questions),
        choices=_choices(choices, languages),
        repeats=tuple(repeats),
    )
    logger.info(
        "%s: XLSForm with %d questions, %d choice lists, languages %s",
        name,
        len(form.questions),
        len(form.choices),
        ", ".join(lang or "(default)" for lang in languages),
    )
    return form


def _sheet_records(sheet) -> list[tuple[int, dict[str, str]]]:
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    records = []
    for number, cells in enumerate(rows, start=2):
        record = {
            column: str(value).strip()
            for column, value in zip(header, cells, strict=False)
            if column and value is not None and str(value).strip()
        }
        if record:
            records.append((number, record))
    return [(0, {h: h for h in header if h})] + records


def _languages(headers: list[dict[str, str]]) -> tuple[str, ...]:
    found: list[str] = []
    for header in headers:
        for column in header:
            match = _LANGUAGE_COLUMN.match(column)
            if match:
                language = (match["language"] or "").strip()
                if language not in found:
                    found.append(language)
    return tuple(found) or ("",)


def _labels(record: dict[str, str], languages: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for column, value in record.items():
        match = _LANGUAGE_COLUMN.match(column)
        if match and (match["language"] or "").strip() in languages:
            labels[(match["language"] or "").strip()] = value
    return labels


def _questions(survey, languages, name) -> tuple[list[Question], list[str]]:
    questions: list[Question] = []
    repeats: list[str] = []
    stack: list[tuple[str, dict[str, str], bool]] = []
    for row, record in survey[1:]:
        kind = record.get("type", "").strip()
        folded = " ".join(kind.casefold().split())
        base = folded.split(" ")[0] if folded else ""
        if folded in _GROUP_TYPES:
            is_repeat = "repeat" in folded
            group = record.get("name", "")
            stack.append((group, _labels(record, languages), is_repeat))
            if is_repeat:
                repeats.append(group)
            continue
        if folded in _END_TYPES:
            if not stack:
                raise InvalidInputError(
                    f"{name}: survey row {row}: {kind} without a matching begin; fix the form"
                )
            stack.pop()
            continue
        if not base or base in _NO_COLUMN or "name" not in record:
            continue
        parts = kind.split()
        is_select = base in ("select_one", "select_multiple") and len(parts) > 1
        questions.append(
            Question(
                name=record["name"],
                type=base,
                list_name=parts[1] if is_select else None,
                labels=_labels(record, languages),
                groups=tuple((g, labels) for g, labels, _ in stack),
                repeat=next((g for g, _, rep in reversed(stack) if rep), None),
            )
        )
    if stack:
        raise InvalidInputError(
            f"{name}: group {stack[-1][0]!r} is never closed (end_group/end_repeat missing)"
        )
    return questions, repeats


def _choices(rows, languages) -> dict[str, dict[str, dict[str, str]]]:
    lists: dict[str, dict[str, dict[str, str]]] = {}
    for _, record in rows[1:]:
        list_name, choice = record.get("list_name"), record.get("name")
        if list_name and choice:
            lists.setdefault(list_name, {})[choice] = _labels(record, languages)
    return lists
