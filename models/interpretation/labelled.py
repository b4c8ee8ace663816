"""The labelled reference sample: the drawn sample with its final labels, ready to estimate from.

Every design column of the drawn sample is kept (strata, their sizes and areas
on the map the sample was drawn on). When only part of the sample is labelled
(``min_share`` below 1), each stratum's sample size and inclusion probability
are those of its labelled points: the unlabelled ones are treated as missing at
random within their stratum, which the run's manifest says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from core.errors import InvalidInputError
from models.interpretation.labels import final_labels

__all__ = ["LabelledSample", "labelled_sample"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledSample:
    """The labelled part of a drawn sample, and how complete it is."""

    frame: gpd.GeoDataFrame
    """Labelled points: the sample's columns plus ``reference_class``, ``unsure``,
    ``n_interpreters``, ``adjudicated``."""
    n_points: int
    """Points drawn."""
    n_labelled: int
    """Points with a final label."""
    min_share: float
    """Share of points that must be labelled before estimating."""
    n_unsure: int
    """Labelled points marked unsure and not adjudicated."""
    n_unresolved: int
    """Points two interpreters disagree on, not adjudicated (the first look is used)."""

    @property
    def share(self) -> float:
        return self.n_labelled / self.n_points if self.n_points else 0.0

    @property
    def complete(self) -> bool:
        """Enough of the sample is labelled to estimate from it."""
        return self.n_labelled > 0 and self.share >= self.min_share - 1e-12

    def summary(self) -> dict[str, float | int | bool]:
        return {
            "n_points": self.n_points,
            "n_labelled": self.n_labelled,
            "labelled_share": round(self.share, 4),
            "min_share": self.min_share,
            "complete": self.complete,
            "n_unsure": self.n_unsure,
            "n_unresolved_disagreements": self.n_unresolved,
        }


def labelled_sample(
    sample: gpd.GeoDataFrame, labels: pd.DataFrame, *, min_share: float = 1.0
) -> LabelledSample:
    """Join a drawn sample with the final labels of its points.

    Parameters
    ----------
    sample : geopandas.GeoDataFrame
        The run's ``reference_sample.gpkg`` (``sample_id`` and the design columns).
    labels : pandas.DataFrame
        ``Store.get_labels(run_id)``.
    min_share : float
        Share (0..1] of the points that must be labelled for ``complete``.

    Returns
    -------
    LabelledSample

    Raises
    ------
    InvalidInputError
        ``min_share`` out of range, or labels of points the sample does not have.
    """
    if not 0 < min_share <= 1:
        raise InvalidInputError(f"min_share {min_share} must be within (0, 1]")
    final = final_labels(labels)
    unknown = sorted(set(final["sample_id"]) - set(sample["sample_id"].astype(int)))
    if unknown:
        raise InvalidInputError(
            f"labels of sample points {unknown[:10]} that the reference sample does not have; "
            "were they made for another run's sample?"
        )
    joined = sample.merge(final, on="sample_id", how="inner")
    frame = gpd.GeoDataFrame(joined, geometry=sample.geometry.name, crs=sample.crs)
    if len(frame) < len(sample) and "stratum" in frame.columns:
        zone = "district_id" if "district_id" in frame.columns else None
        keys = [k for k in (zone, "stratum") if k]
        frame["stratum_sample_size"] = frame.groupby(keys)["sample_id"].transform("size")
        if "stratum_pixels" in frame.columns:
            frame["inclusion_probability"] = frame["stratum_sample_size"] / frame["stratum_pixels"]
    unresolved = final[(final["agreed"] == False) & ~final["adjudicated"]]  # noqa: E712
    return LabelledSample(
        frame=frame,
        n_points=len(sample),
        n_labelled=len(frame),
        min_share=min_share,
        n_unsure=int((frame["unsure"] & ~frame["adjudicated"]).sum()) if len(frame) else 0,
        n_unresolved=len(unresolved),
    )
