"""What the public publication may show, and the tables cut down to it.

A survey's raw data can put farmers and survey teams at risk: the outline of a
poppy field, the team that walked it, a household's answers. The public site
(``published/public/``, what a government may put on its website) therefore
shows district and programme aggregates, their intervals and verdicts, charts
and a generalised density map only. The restricted site keeps everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError

__all__ = [
    "PUBLIC_PARTS",
    "PublicPolicy",
    "household_columns",
    "suppress_small_cells",
    "suppress_few_plots",
    "suppress_thin_yields",
    "public_manifest",
]

logger = logging.getLogger(__name__)

PUBLIC_PARTS: tuple[str, ...] = ("estimates", "programmes", "density", "charts", "report")
"""What a public site can carry besides its district map: district estimate downloads and
maps, programme change (household cells under the minimum withheld), the generalised
cultivation density, charts, and the printable report."""


@dataclass(frozen=True)
class PublicPolicy:
    """The rules of the public publication (``[publish]`` in the run configuration)."""

    show: tuple[str, ...] = PUBLIC_PARTS
    """Parts of :data:`PUBLIC_PARTS` to publish; the district map is always there."""
    min_households: int = 5
    """Household feedback of fewer households than this is withheld from a cell."""
    density_cell_km2: float = 1.0
    """Area of one cell of the public density map (no finer raster is published)."""
    min_plots: int = 3
    """Field-plot figures of a district are published only from at least this many plots."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.show) - set(PUBLIC_PARTS))
        if unknown:
            raise InvalidInputError(
                f"publish.public: {', '.join(unknown)} not known; choose from "
                f"{', '.join(PUBLIC_PARTS)}"
            )
        if self.min_households < 1:
            raise InvalidInputError("publish.min_households must be at least 1")
        if self.min_plots < 2:
            raise InvalidInputError("publish.min_plots must be at least 2: one plot is a farm")
        if not self.density_cell_km2 > 0:
            raise InvalidInputError("publish.density_cell_km2 must be a positive area")

    def shows(self, part: str) -> bool:
        """True when ``part`` is published."""
        return part in self.show


_HOUSEHOLD_PREFIXES = ("feedback_", "mean_income", "share_", "mean_satisfaction", "n_households")


def household_columns(table: pd.DataFrame) -> list[str]:
    """Columns of ``table`` that summarise household answers (farmer feedback)."""
    return [c for c in table.columns if str(c).startswith(_HOUSEHOLD_PREFIXES)]


def suppress_small_cells(change: pd.DataFrame | None, min_households: int) -> pd.DataFrame | None:
    """Programme change with every household cell of fewer than ``min_households`` blanked.

    A cell (programme × district row) answered by fewer households than the
    minimum could identify them (one household: ``share_growing_poppy = 1.0`` is
    that household's answer). Its household columns, counts included, become
    missing and ``feedback_note`` says why; rows of enough households are kept.

    Examples
    --------
    >>> t = pd.DataFrame({"feedback_n_households": [1, 9], "feedback_share_growing": [1.0, 0.2]})
    >>> suppress_small_cells(t, 5)["feedback_share_growing"].tolist()
    [nan, 0.2]
    """
    if change is None:
        return None
    columns = household_columns(change)
    if not columns:
        return change.copy()
    counts = [c for c in ("feedback_n_households", "n_households") if c in change]
    answers = [c for c in ("feedback_n_answers",) if c in change]
    sizes = change[counts + answers].apply(pd.to_numeric, errors="coerce")
    small = (sizes.fillna(0) < min_households).any(axis=1) & sizes.notna().any(axis=1)
    public = change.copy()
    public[columns] = public[columns].astype("float64", errors="ignore")
    public.loc[small, columns] = np.nan
    note = f"household feedback of fewer than {min_households} households is not published"
    public["feedback_note"] = np.where(small, note, "")
    logger.info("public programme change: %d household cells withheld", int(small.sum()))
    return public


PLOT_FIGURES = ("surveyed_plots", "surveyed_ha", "eradicated_plots", "recorded_eradicated_ha")
"""Columns of ``eradication.csv`` that add up the district's surveyed plots themselves."""
SHARE_FIGURES = (
    "eradicated_share", "share_se", "eradicated_ha", "eradicated_ci_low_ha",
    "eradicated_ci_high_ha", "remaining_ha", "remaining_se_ha",
)  # fmt: skip
"""Columns of ``eradication.csv`` computed from the district's eradicated share."""


def suppress_few_plots(eradication: pd.DataFrame, min_plots: int) -> pd.DataFrame:
    """Eradication per district with every figure that rests on too few plots withheld.

    A district figure of one surveyed plot is that plot: its area (``surveyed_ha``),
    whether it was destroyed (``eradicated_plots``), how much of it. The rule: with
    ``n`` plots surveyed in a district (and crop) of which ``e`` were eradicated, the plot
    figures (:data:`PLOT_FIGURES`) are published only when ``n``, and each of ``e`` and
    ``n - e`` that is not zero, are at least ``min_plots`` (so neither the eradicated nor
    the standing plots can be told apart from the total). The eradicated share and what
    is computed from it (:data:`SHARE_FIGURES`) are withheld when they come from the
    district's own plots and those are fewer than ``min_plots``; a district of fewer
    plots that borrows the regional share (``share_source = regional``) keeps them, as
    the regional share is the region's plots together. ``note`` says what was withheld.

    Examples
    --------
    >>> t = pd.DataFrame({"surveyed_plots": [1, 9], "eradicated_plots": [0, 4],
    ...                   "surveyed_ha": [0.3, 5.0], "share_source": ["regional", "district"]})
    >>> suppress_few_plots(t, 3)["surveyed_ha"].tolist()
    [nan, 5.0]
    """
    public = eradication.copy()
    counted = "surveyed_plots" in public and "eradicated_plots" in public
    n = pd.to_numeric(public.get("surveyed_plots", 0), errors="coerce")
    e = pd.to_numeric(public.get("eradicated_plots", 0), errors="coerce")
    n, e = pd.Series(n, index=public.index).fillna(0), pd.Series(e, index=public.index).fillna(0)
    few = (n < min_plots) | ((e > 0) & (e < min_plots)) | ((n - e > 0) & (n - e < min_plots))
    few &= n > 0  # nothing surveyed: zeros, no plot to reveal
    if not counted:  # without the counts no row can be shown to rest on enough plots
        few = pd.Series(True, index=public.index)
    own_share = public["share_source"].eq("district") if "share_source" in public else False
    thin_share = own_share & (n < min_plots)
    # a row with no area estimate (plots outside every district, a district not estimated)
    # publishes the recorded plots themselves as eradicated_ha: a plot figure there
    recorded = public["method"].eq("recorded_plots") if "method" in public else False
    thin_share |= recorded & few
    plot_columns = [c for c in PLOT_FIGURES if c in public]
    share_columns = [c for c in SHARE_FIGURES if c in public]
    for column in plot_columns + share_columns:  # counts stay whole numbers, blank if withheld
        kind = "Int64" if column.endswith("_plots") else "float64"
        public[column] = pd.to_numeric(public[column], errors="coerce").astype(kind)
    public.loc[few, plot_columns] = pd.NA
    public.loc[thin_share, share_columns] = np.nan
    withheld = (
        f"plot figures of fewer than {min_plots} surveyed, eradicated or standing plots "
        "are not published"
    )
    note = public["note"].astype(object).fillna("").astype(str) if "note" in public else ""
    public["note"] = np.where(few, np.where(note == "", withheld, note + "; " + withheld), note)
    logger.info(
        "public eradication: %d district rows with plot figures withheld, %d shares",
        int(few.sum()),
        int(np.sum(thin_share)),
    )
    return public


YIELD_FIGURES = (
    "mean_yield_kg_ha", "yield_se_kg_ha", "production_kg", "production_se_kg", "ci_low_kg",
    "ci_high_kg",
)  # fmt: skip
"""Columns of ``production.csv`` computed from a district's mean yield."""


HARVEST_FIGURES = ("harvested_ha", "harvested_se_ha")
"""Columns of ``production.csv`` that are eradication's ``remaining_ha`` / ``remaining_se_ha``."""


def suppress_thin_yields(
    production: pd.DataFrame, min_plots: int, eradication: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Production per district with a district mean yield of fewer than ``min_plots`` plots withheld.

    A district's own mean yield of two plots tells either farmer the other's harvest; with
    the harvested area published, the production figure tells the same. Rows whose
    ``yield_source`` is ``district`` and whose ``n_yield_plots`` is under the minimum have
    :data:`YIELD_FIGURES` blanked and say so in ``note``; regional yields (the region's plots
    together) are kept. ``eradication``, the public (suppressed) eradication table: where
    it withholds a district's ``remaining_ha``, the harvested area (the same number, from
    which the withheld share follows) and the production are withheld too.
    """
    public = production.copy()
    thin = pd.Series(False, index=public.index)
    if "yield_source" in public and "n_yield_plots" in public:
        n = pd.to_numeric(public["n_yield_plots"], errors="coerce").fillna(0)
        thin = public["yield_source"].eq("district") & (n < min_plots)
    if eradication is not None and {"district_id", "crop", "remaining_ha"} <= set(eradication):
        withheld = eradication.loc[eradication["remaining_ha"].isna(), ["district_id", "crop"]]
        keys = pd.MultiIndex.from_frame(public[["district_id", "crop"]].astype(str))
        hidden = keys.isin(pd.MultiIndex.from_frame(withheld.astype(str)))
        harvest = [c for c in HARVEST_FIGURES if c in public]
        public[harvest] = public[harvest].apply(pd.to_numeric, errors="coerce").astype("float64")
        public.loc[hidden, harvest] = np.nan
        thin |= hidden
    columns = [c for c in YIELD_FIGURES if c in public]
    public[columns] = public[columns].apply(pd.to_numeric, errors="coerce").astype("float64")
    public.loc[thin, columns] = np.nan
    withheld = f"a district mean yield of fewer than {min_plots} plots is not published"
    note = public["note"].astype(object).fillna("").astype(str) if "note" in public else ""
    public["note"] = np.where(thin, np.where(note == "", withheld, note + "; " + withheld), note)
    logger.info("public production: %d district yields withheld", int(thin.sum()))
    return public


_PUBLIC_INTERPRETATION = (
    "source", "n_points", "n_labelled", "labelled_share", "min_share", "complete", "n_unsure",
    "n_unresolved_disagreements", "overlap_total", "overlap_done", "interpreters", "adjudicated",
)  # fmt: skip
"""Counts of the interpretation a public report may show (no point, path or name)."""


def public_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The parts of a run manifest the public report shows: when, how, with what software.

    Input files (names and checksums), stage outputs and failures stay restricted. Of the
    interpretation only counts and agreement figures go out: the disagreements name sample
    points, which stay restricted with the sample and its labels.
    """
    keep = ("run_id", "year", "created", "parameters", "versions", "accuracy", "sample_sizes")
    public = {k: manifest[k] for k in keep if k in manifest}
    state = (manifest.get("results") or {}).get("interpretation")
    if isinstance(state, dict):
        shown = {k: state[k] for k in _PUBLIC_INTERPRETATION if k in state}
        agreement = {
            k: v for k, v in (state.get("agreement") or {}).items() if k != "disagreements"
        }
        public["results"] = {"interpretation": {**shown, "agreement": agreement}}
    return public
