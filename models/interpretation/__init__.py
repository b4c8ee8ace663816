"""Interpreting the reference sample: the package, who labels what, agreement, the labelled sample.

- ``package``: the folder phase 1 writes for interpreters (``write_package``, ``load_package``);
- ``labels``: the next point for an interpreter (blind second looks), progress, final labels;
- ``agreement``: overall agreement and Cohen's kappa, per class, and the disagreements;
- ``labelled``: the drawn sample joined with its final labels (``labelled_sample``);
- ``ceo``: the sample as a Collect Earth Online project, and CEO's answers back.
"""

from __future__ import annotations

from models.interpretation.agreement import Agreement, double_looks, interpreter_agreement
from models.interpretation.ceo import CEO_QUESTION, CeoAnswers, read_ceo_answers, write_ceo_project
from models.interpretation.labelled import LabelledSample, labelled_sample
from models.interpretation.labels import final_labels, interpretations, next_point, progress
from models.interpretation.package import (
    PACKAGE_DIR,
    ChipSource,
    InterpretationPackage,
    class_keys,
    find_packages,
    load_package,
    write_package,
)

__all__ = [
    "Agreement",
    "interpreter_agreement",
    "double_looks",
    "CEO_QUESTION",
    "CeoAnswers",
    "read_ceo_answers",
    "write_ceo_project",
    "LabelledSample",
    "labelled_sample",
    "final_labels",
    "interpretations",
    "next_point",
    "progress",
    "PACKAGE_DIR",
    "ChipSource",
    "InterpretationPackage",
    "class_keys",
    "find_packages",
    "load_package",
    "write_package",
]
