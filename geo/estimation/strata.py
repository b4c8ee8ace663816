"""The labelled sample tallied against the map: map area, sample counts and stratum sizes per district and stratum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.legend import code_of, name_of
from geo.estimation.design import BUFFER_OFFSET

__all__ = [
    "Design",
    "tally",
    "zone_column",
    "legend_code",
    "reference_codes",
    "split_buffer_area",
    "check_strata_on_this_map",
]


@dataclass(frozen=True)
class Design:
    """Map areas, sample counts and stratum sizes per zone on one class axis."""

    zones: list
    codes: list[int]
    area: np.ndarray  # (zones, k) mapped ha
    counts: np.ndarray  # (zones, k, k) samples, rows map class, cols reference class
    sizes: np.ndarray  # (zones, k) stratum pixels (inf when unknown)


def zone_column(table: pd.DataFrame, zone_id: str, what: str) -> str:
    for name in (zone_id, "zone_id"):
        if name in table.columns:
            return name
    raise InvalidInputError(
        f"{what} has no {zone_id!r} (or 'zone_id') column; columns: {list(table.columns)}"
    )


def legend_code(value: object) -> int:
    if isinstance(value, str):
        return code_of(value)
    code = int(value)
    name_of(code)  # KeyError if not in the legend
    return code


def reference_codes(sample: pd.DataFrame) -> np.ndarray:
    """Return reference classes as legend codes; names and codes both accepted."""
    if "reference_class" not in sample.columns:
        raise InvalidInputError(
            "reference sample has no 'reference_class' column; label the sample first "
            "(e.g. synthetic.interpret_reference or photo-interpretation)"
        )
    ids = sample["sample_id"] if "sample_id" in sample.columns else pd.Series(sample.index)
    codes = []
    for sid, value in zip(ids, sample["reference_class"], strict=True):
        try:
            codes.append(legend_code(value))
        except (KeyError, TypeError, ValueError):
            raise InvalidInputError(
                f"reference sample {sid}: reference_class {value!r} is not a legend class "
                "name or code; relabel it or drop the sample"
            ) from None
    return np.asarray(codes, dtype="int64")


def tally(
    map_area: pd.DataFrame, sample: pd.DataFrame, zone_id: str, crops: Sequence[str] = ()
) -> Design:
    map_zone = zone_column(map_area, zone_id, "map_area")
    sample_zone = zone_column(sample, zone_id, "reference sample")
    for column in ("class", "area_ha"):
        if column not in map_area.columns:
            raise InvalidInputError(
                f"map_area has no {column!r} column; pass zonal_class_area output"
            )
    if "map_class" not in sample.columns:
        raise InvalidInputError(
            "reference sample has no 'map_class' column (class map code per sample)"
        )
    sample = sample[sample[sample_zone].notna()]
    zones = list(pd.unique(map_area[map_zone]))
    unknown = sorted(set(sample[sample_zone]) - set(zones), key=str)
    if unknown:
        raise InvalidInputError(
            f"reference sample has zone ids {unknown} that map_area does not have; "
            "use the same districts for both"
        )
    ref = reference_codes(sample)
    check_strata_on_this_map(sample)
    stratum_column = "stratum" if "stratum" in sample.columns else "map_class"
    strata = sample[stratum_column].astype("int64").to_numpy()
    # a crop neither mapped nor seen by the interpreters still gets its (zero) column
    reported = {code_of(crop) for crop in crops}
    codes = sorted(
        set(map_area["class"].astype(int)) | set(ref.tolist()) | set(strata.tolist()) | reported
    )
    col = {c: i for i, c in enumerate(codes)}
    row = {z: i for i, z in enumerate(zones)}
    k = len(codes)
    area = np.zeros((len(zones), k))
    np.add.at(
        area,
        (map_area[map_zone].map(row).to_numpy(), map_area["class"].astype(int).map(col).to_numpy()),
        map_area["area_ha"].to_numpy(dtype="float64"),
    )
    zi = sample[sample_zone].map(row).to_numpy()
    si = np.array([col[c] for c in strata], dtype="int64")
    split_buffer_area(area, sample, zi, si, strata, col)
    counts = np.zeros((len(zones), k, k))
    np.add.at(counts, (zi, si, [col[c] for c in ref]), 1.0)
    sizes = np.full((len(zones), k), np.inf)
    if "stratum_pixels" in sample.columns:
        sizes[zi, si] = sample["stratum_pixels"].to_numpy(dtype="float64")
    return Design(zones, codes, area, counts, sizes)


def check_strata_on_this_map(sample: pd.DataFrame) -> None:
    """Refuse a sample whose strata were drawn on another map than the one it is estimated on.

    A point's stratum is its map class (or ``BUFFER_OFFSET +`` the class) on the map
    it was drawn on; ``map_class`` is read from the current map. Where the two
    disagree, the stratum sizes and weights of the current map do not describe how
    the point was chosen, and weighting it by them would be biased.
    """
    if "stratum" not in sample.columns:
        return
    stratum = sample["stratum"].astype("int64").to_numpy()
    base = np.where(stratum >= BUFFER_OFFSET, stratum - BUFFER_OFFSET, stratum)
    differ = base != sample["map_class"].astype("int64").to_numpy()
    if differ.any():
        ids = sample["sample_id"] if "sample_id" in sample.columns else pd.Series(sample.index)
        raise InvalidInputError(
            f"reference sample: {int(differ.sum())} of {len(sample)} points have a stratum that "
            f"is not their class on this map (e.g. sample_id {list(ids[differ])[:5]}); the "
            "sample was drawn on another map. Draw and label this map's own sample, or "
            "estimate with the map the sample was drawn on"
        )


def split_buffer_area(area, sample, zi, si, strata, col) -> None:
    """Move each buffer stratum's area out of its map class (in place).

    ``map_area`` holds map classes only; a buffer stratum (``stratum >=
    BUFFER_OFFSET``) carries its own true area in ``stratum_area_ha``, which is
    taken from the map class it belongs to.
    """
    buffered = strata >= BUFFER_OFFSET
    if not buffered.any():
        return
    if "stratum_area_ha" not in sample.columns:
        raise InvalidInputError(
            "reference sample has buffer strata but no 'stratum_area_ha'; keep the columns "
            "draw_reference_sample writes"
        )
    stratum_area = sample["stratum_area_ha"].to_numpy(dtype="float64")
    seen = pd.DataFrame({"zone": zi[buffered], "stratum": si[buffered],
                         "base": [col[c - BUFFER_OFFSET] for c in strata[buffered]],
                         "area": stratum_area[buffered]})  # fmt: skip
    for item in seen.drop_duplicates(["zone", "stratum"]).itertuples(index=False):
        moved = min(item.area, area[item.zone, item.base])
        area[item.zone, item.stratum] = moved
        area[item.zone, item.base] -= moved
