"""A file's columns mapped to plot fields: automatic detection, the form profile, and advice.

Three steps, in :func:`models.field.assemble.build_plots` order:

1. :func:`apply_xlsform`: with the form's XLSForm, headers of a labels export
   (in any of its languages) are renamed to question names and select_one
   answers written as choice labels become choice names;
2. :func:`resolve_fields`: automatic detection (:func:`models.field.columns.resolve_columns`),
   overridden field by field by the profile's ``[questions]``;
3. :func:`no_crop_error`: when no column holds the crop, the error lists the
   columns found and shows the profile lines that would fix it.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from core.errors import InvalidInputError
from models.field.base import RawPlots
from models.field.columns import FIELD_SPELLINGS, export_flavour, header_leaves, is_metadata
from models.field.columns import resolve_columns as auto_columns
from models.field.labels import crop_of, normalise_label
from models.field.profile import FormProfile
from models.field.units import area_unit_in_header
from models.report import ValidationReport

__all__ = ["apply_xlsform", "resolve_fields", "no_crop_error", "suggested_profile"]

logger = logging.getLogger(__name__)


def rename_map(columns: list[str], form: FormProfile | None) -> dict[str, str]:
    """Return ``{header: question name}`` for the headers a labels export wrote as labels."""
    if form is None or form.xlsform is None:
        return {}
    names = form.xlsform.header_names()
    renames: dict[str, str] = {}
    taken = set(columns)
    for column in columns:
        target = names.get(column) or names.get(column.strip())
        if target and target not in taken:
            renames[column] = target
            taken.add(target)
    return renames


def rename_table(table: pd.DataFrame, form: FormProfile | None) -> pd.DataFrame:
    """Return ``table`` with label headers renamed to question names (unchanged without XLSForm)."""
    renames = rename_map([str(c) for c in table.columns], form)
    return table.rename(columns=renames) if renames else table


def apply_xlsform(raw: RawPlots, form: FormProfile | None, report: ValidationReport) -> None:
    """Rename label headers to names and select_one choice labels to choice names, in place."""
    if form is None or form.xlsform is None:
        return
    renames = rename_map([str(c) for c in raw.attributes.columns], form)
    for column in sorted(set(form.xlsform.ambiguous_labels()) & set(map(str, raw.attributes))):
        report.warn(
            0,
            column,
            f"several questions of {form.xlsform.source} have this label; the column keeps it "
            "(export with XML names, or name it in the profile's [questions])",
        )
    if renames:
        raw.attributes = raw.attributes.rename(columns=renames)
        raw.consumed_columns = tuple(renames.get(c, c) for c in raw.consumed_columns)
        raw.geometry_field = renames.get(raw.geometry_field, raw.geometry_field)
        report.warn(
            0,
            "file",
            f"{len(renames)} label headers read as question names of {form.xlsform.source}",
        )
    for column in raw.attributes.columns:
        question = form.xlsform.question(header_leaves(column)[-1])
        if question is None or question.type != "select_one":
            continue
        names = form.xlsform.choice_names(question)
        values = raw.attributes[column]
        raw.attributes[column] = values.map(
            lambda v, names=names: names.get(normalise_label(v), v) if isinstance(v, str) else v
        )


def resolve_fields(
    raw: RawPlots, form: FormProfile | None, report: ValidationReport
) -> dict[str, str]:
    """Map plot fields to columns: automatic detection, then the profile's ``[questions]``.

    Raises
    ------
    InvalidInputError
        When the profile names a crop question the file does not have.
    """
    columns = [str(c) for c in raw.attributes.columns]
    found = auto_columns(columns, exclude=raw.consumed_columns)
    if form is None:
        return found
    for field_name in form.questions:
        if field_name == "geometry":
            continue
        column = form.column_for(field_name, columns)
        if column is None:
            message = (
                f"the form profile {form.source} maps {field_name} to "
                f"{form.questions[field_name]!r}, which is not a column of this file "
                f"(columns: {_listing(columns)}); fix [questions] {field_name} in the profile"
            )
            if field_name == "crop":
                raise InvalidInputError(f"{raw.source}: {message}")
            report.warn(0, field_name, message)
            continue
        for other in [f for f, c in found.items() if c == column and f != field_name]:
            del found[other]
        found[field_name] = column
    return found


def no_crop_error(raw: RawPlots, form: FormProfile | None) -> InvalidInputError:
    """The error for a file where no column holds the crop, with the profile that would fix it."""
    columns = [str(c) for c in raw.attributes.columns if c not in raw.consumed_columns]
    lines = suggested_profile(raw.attributes, columns)
    where = f" ({raw.sheet!r})" if raw.sheet else ""
    profile_note = f" even with the form profile {form.source}" if form is not None else ""
    return InvalidInputError(
        f"{raw.source}{where}: no crop column{profile_note}. Columns found: "
        f"{_listing(columns)}. Say which question is which in a form profile, a TOML file "
        "such as\n\n" + "\n".join(lines) + "\n\nand upload again with --form PROFILE.toml "
        "(or the form's XLSForm; on the upload page, the form profile field); or name the "
        f"crop column one of {', '.join(FIELD_SPELLINGS['crop'][:4])}"
    )


_HINTS: dict[str, re.Pattern[str]] = {
    "plot_id": re.compile(r"(plot|field|farm).*(id|code|no|num)|^(code|fid)$"),
    "crop": re.compile(r"crop|plant|cultiv|grown"),
    "status": re.compile(r"status|state|eradicat"),
    "survey_date": re.compile(r"date|day|visit"),
    "team": re.compile(r"team|enumerator|surveyor|interviewer"),
    "district_id": re.compile(r"district|township|tsp|amphoe|amphur|muang|huyen|tinh|region"),
}


def suggested_profile(attributes: pd.DataFrame, columns: list[str]) -> list[str]:
    """Profile lines guessed from headers and values (shown as advice, never applied)."""
    flavour = export_flavour(columns)
    # export metadata, split geopoints and Kobo's _submission__* copies all start with "_"
    candidates = [
        c
        for c in columns
        if not is_metadata(c, flavour) and not header_leaves(c)[-1].startswith("_")
    ]
    questions: dict[str, str] = {}
    crop_column = _crop_by_values(attributes, candidates)
    if crop_column:
        questions["crop"] = crop_column
    unit = None
    for column in candidates:
        leaf = header_leaves(column)[-1]
        if "area" not in questions and area_unit_in_header(column):
            questions["area"], unit = column, area_unit_in_header(column)
        for field_name, pattern in _HINTS.items():
            if field_name not in questions and column not in questions.values():
                if pattern.search(leaf):
                    questions[field_name] = column
    questions.setdefault("crop", "<the question that holds the crop>")
    lines = ["[questions]"]
    lines += [f'{name} = "{column}"' for name, column in questions.items()]
    if unit:
        lines += ["", "[units]", f'area = "{unit}"']
    if crop_column is None:
        lines += ["", "[values.crop]", 'opium_poppy = ["<answer meaning poppy>"]']
    return lines


def _crop_by_values(attributes: pd.DataFrame, columns: list[str]) -> str | None:
    best, best_share = None, 0.5
    for column in columns:
        values = attributes[column].dropna().astype(str).str.strip()
        values = values[values != ""].head(200)
        if values.empty:
            continue
        share = sum(crop_of(v) is not None for v in values.unique()) / values.nunique()
        if share > best_share:
            best, best_share = column, share
    return best


def _listing(columns: list[str], limit: int = 30) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")
