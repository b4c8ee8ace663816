"""Form profiles: which of a team's own questions is the plot id, crop, area, district...

A survey team does not name its questions after admon's columns. A form
profile says which is which, in a small TOML file::

    [form]
    title = "Hopong plot survey 2025"
    plots = "plot"                  # the repeat group whose rows are plots (sheet / CSV)
    xlsform = "hopong_form.xlsx"    # optional: the form itself, to read labels exports

    [questions]                     # plot field = the form's question (or column) name
    plot_id = "field_code"
    crop = "crop_grown"
    area = "area_rai"
    district_id = "township"

    [units]
    area = "rai"                    # ha, m2, km2, are, acre, rai, ngan, square_wa, mu

    [values.crop]                   # which answers mean which crop
    opium_poppy = ["1", "bein"]
    cannabis = ["2"]
    other = ["3", "4", "5"]

    [values.district_id]            # an answer -> the district id admon uses
    MMR014017 = ["Hopong", "ဟိုပုံး"]

or the form's own XLSForm (``.xlsx``, as Kobo and ODK export it), which maps a
labels export in any of its languages back to question and choice names. A
profile given only as an XLSForm relies on automatic detection for the rest.
Every problem names the profile file, the key and the fix. Reading profiles from
files is :mod:`models.field.profile_files`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from models.field.columns import header_key, header_leaves
from models.field.labels import crop_of, normalise_label
from models.field.units import AREA_UNITS_HA
from models.field.xlsform import XLSForm

__all__ = ["PROFILE_FIELDS", "VALUE_FIELDS", "FormProfile", "with_crop_choices"]

logger = logging.getLogger(__name__)

PROFILE_FIELDS: tuple[str, ...] = (
    "plot_id",
    "crop",
    "status",
    "survey_date",
    "team",
    "gps_accuracy_m",
    "area",
    "district_id",
    "land_cover",
    "yield_kg_ha",
    "geometry",
)
"""Keys of ``[questions]``: the plot fields (``area`` in ``[units]``' unit) and ``geometry``."""

VALUE_FIELDS: tuple[str, ...] = ("crop", "status", "district_id", "land_cover")
"""Fields whose answers ``[values.<field>]`` can map."""


@dataclass(frozen=True)
class FormProfile:
    """What a form's questions mean (see the module notes for the TOML layout)."""

    source: str = ""
    """File the profile was read from, for messages."""
    title: str = ""
    """Name of the form, for messages."""
    questions: Mapping[str, str] = field(default_factory=dict)
    """``{plot field: question or column name}``."""
    area_unit: str | None = None
    """Canonical unit of the ``area`` question (a key of ``AREA_UNITS_HA``)."""
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """``{field: {normalised answer: value}}`` from ``[values.<field>]``."""
    plots: str | None = None
    """Repeat group (Kobo sheet, ODK CSV) whose rows are the plots."""
    xlsform: XLSForm | None = None
    """The form itself, when given."""
    uere_m: float = 5.0
    """User equivalent range error (m, 1 sigma) turning GPX ``hdop`` into metres
    (``[gps] uere_m``): accuracy = HDOP x UERE. 5 m is typical of a single-frequency
    handheld receiver; set the figure for your receivers."""
    utc_offset_h: float | None = None
    """Hours from UTC of the survey's local time (``[gps] utc_offset = "+06:30"``), to turn
    GPX times (UTC) into local survey dates; ``None`` keeps UTC."""

    @property
    def area_factor_ha(self) -> float | None:
        """Hectares per unit of the area question, or ``None`` when no unit is set."""
        return AREA_UNITS_HA[self.area_unit] if self.area_unit else None

    def column_for(self, field_name: str, columns: Iterable[object]) -> str | None:
        """Return the column holding ``field_name``'s question, or ``None``.

        The question name matches a header whole, as its last group-path element
        (``village/plot/crop_grown``, ``plot-crop_grown``), or, with an XLSForm, as
        the question's label in any language.
        """
        question = self.questions.get(field_name)
        return self.find_column(question, columns) if question else None

    def find_column(self, question: str, columns: Iterable[object]) -> str | None:
        """Return the column whose header is ``question`` (name, path element or label)."""
        wanted = header_key(question)
        columns = [str(c) for c in columns]
        for whole in (True, False):
            for column in columns:
                keys = [header_key(column)] if whole else header_leaves(column)[1:]
                if wanted in keys:
                    return column
        if self.xlsform is not None:
            names = self.xlsform.header_names()
            for column in columns:
                name = names.get(column)
                if name is not None and wanted in header_leaves(name):
                    return column
        return None

    def value_of(self, field_name: str, answer: object, *, path: bool = False) -> str | None:
        """Return what ``answer`` means for ``field_name`` per ``[values]``, or ``None``.

        With ``path=True`` (a KML folder path ``My Places/Poppy``) each path element is
        tried too, innermost first.
        """
        table = self.values.get(field_name)
        if not table or answer is None:
            return None
        text = str(answer)
        found = table.get(normalise_label(text))
        if found is None and path:
            for part in reversed(text.split("/")):
                found = table.get(normalise_label(part))
                if found is not None:
                    break
        return found


def with_crop_choices(profile: FormProfile) -> FormProfile:
    """Given an XLSForm, the select_one question whose choices are crops is the crop question,
    and its choice names mean those crops (``1`` = "Opium poppy" / "ဘိန်းပင်"), unless the
    profile says otherwise."""
    form = profile.xlsform
    if form is None or ("crop" in profile.questions and "crop" in profile.values):
        return profile
    for question in form.questions:
        if question.type != "select_one":
            continue
        if "crop" in profile.questions and profile.questions["crop"] != question.name:
            continue
        choices = form.choices.get(question.list_name or "", {})
        meanings = {}
        for choice, labels in choices.items():
            crops = {crop_of(text) for text in (choice, *labels.values()) if text} - {None}
            if len(crops) == 1:
                meanings[normalise_label(choice)] = crops.pop()
        if 2 * len(meanings) >= len(choices) > 0 and {"opium_poppy", "cannabis"} & set(
            meanings.values()
        ):
            values = {**profile.values, "crop": {**meanings, **profile.values.get("crop", {})}}
            questions = {**profile.questions, "crop": question.name}
            logger.info("%s: crop question %r found by its choices", form.source, question.name)
            return replace(profile, questions=questions, values=values)
    return profile
