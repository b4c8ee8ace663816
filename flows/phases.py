"""The two phases of a real survey year: draw the sample and wait for its labels, then estimate.

Phase 1 maps the season, draws the stratified reference sample on the map and
writes the interpretation package; the run stops in the state
``awaiting_reference`` (exit 0: a scheduled run that stops here has not failed).
Interpreters label the sample. Phase 2 is the next run of the same inputs: it
finds the same run folder (labels do not name the run), reuses the map the
sample was drawn on (:func:`frozen_stages`), and estimates from the labels.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.config import RunConfig

__all__ = [
    "InterpretationSpec",
    "interpretation_spec",
    "FROZEN_STAGES",
    "frozen_stages",
    "next_steps",
]

log = logging.getLogger(__name__)

FROZEN_STAGES = ("ingest", "composite", "classify", "sample")
"""Stages whose outputs phase 2 takes from phase 1: the map the sample was drawn on."""


@dataclass(frozen=True)
class InterpretationSpec:
    """What the interpretation package shows and when the labels are enough."""

    orthomosaics: tuple[str, ...]
    """Drone orthomosaic files of the year."""
    vhr: tuple[str, ...]
    """Very-high-resolution image files of the year."""
    overlap_share: float
    """Share of points a second interpreter labels, blind."""
    min_labelled_share: float
    """Share of the sample that must be labelled before estimating."""
    detail_chip_m: float
    """Edge of drone/VHR chips on the ground (m)."""


def _expand(config: RunConfig, patterns: list[str], year: int) -> tuple[str, ...]:
    found: set[str] = set()
    for pattern in patterns:
        found.update(glob.glob(str(config.path(pattern, year))))
    return tuple(sorted(found))


def interpretation_spec(config: RunConfig, year: int) -> InterpretationSpec:
    """The :class:`InterpretationSpec` of one year of a configuration."""
    settings = config.interpretation
    return InterpretationSpec(
        orthomosaics=_expand(config, config.inputs.orthomosaics, year),
        vhr=_expand(config, config.inputs.vhr, year),
        overlap_share=settings.overlap_share,
        min_labelled_share=settings.min_labelled_share,
        detail_chip_m=settings.detail_chip_m,
    )


def _paths_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if ("/" in value or "\\" in value) else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths_in(v)]
    return []


def _absolute(value: Any, root: Path) -> Any:
    """``value`` with every relative path (as the manifest writes them) under ``root``."""
    if isinstance(value, str):
        if ("/" in value or "\\" in value) and not Path(value).is_absolute():
            return str(root / value)
        return value
    if isinstance(value, dict):
        return {k: _absolute(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_absolute(v, root) for v in value]
    return value


def frozen_stages(
    previous: dict[str, Any] | None, interpreter: str, workspace: str | Path = "."
) -> dict[str, Any]:
    """Outputs of an earlier phase 1 of this run that this run must reuse, by stage.

    Once a reference sample has been drawn for interpreters (stage ``sample``
    completed), the map it was drawn on is final for the run: its strata and
    their areas are what the labels mean. Reusing the recorded outputs (rather
    than relying on a task cache) keeps it so even after admon is upgraded.

    Parameters
    ----------
    previous
        The run folder's ``manifest.json`` before this run, if any.
    interpreter
        ``inputs.reference_interpreter``; only ``file`` (people) freezes the map.
    workspace
        The workspace the manifest's paths are relative to.

    Returns
    -------
    dict
        ``{stage: outputs}`` for :data:`FROZEN_STAGES`, or empty when there is
        nothing to reuse (no phase 1 yet, or one of its files is gone).
    """
    if interpreter != "file" or not previous:
        return {}
    root = Path(workspace).resolve()
    done = {
        s["stage"]: _absolute(s.get("outputs"), root)
        for s in previous.get("stages", [])
        if s.get("status") == "completed"
    }
    if any(name not in done or done[name] is None for name in FROZEN_STAGES):
        return {}
    missing = [p for name in FROZEN_STAGES for p in _paths_in(done[name]) if not Path(p).exists()]
    if missing:
        log.warning(
            "the reference sample of this run was drawn, but %s is gone: computing the map and "
            "drawing the sample again (labels made for the old sample will not match)",
            missing[0],
        )
        return {}
    return {name: done[name] for name in FROZEN_STAGES}


def next_steps(config_path: str | Path, year: int, reference: dict[str, Any]) -> str:
    """What to do after phase 1 stopped, for the console and the Prefect log."""
    config_path = str(config_path)
    labelled, total = reference.get("n_labelled", 0), reference.get("n_points", 0)
    return "\n".join(
        [
            f"{year}: awaiting reference labels ({labelled} of {total} points labelled, "
            f"{reference.get('min_share', 1.0):.0%} needed).",
            f"  sample:  {reference.get('reference_sample')}",
            f"  package: {reference.get('package')}",
            "  Label it in admon (offline):",
            f"    admon token create --config {config_path} --team <interpreter> --role interpreter",
            f"    admon serve --config {config_path}     then open http://127.0.0.1:8000/interpret",
            "  or in Collect Earth Online: see ceo_project.txt in the package, then",
            f"    admon interpret import-ceo <CEO sample data.csv> --config {config_path} "
            f"--year {year}",
            f"  Then run again: admon run {config_path} --year {year}",
        ]
    )
