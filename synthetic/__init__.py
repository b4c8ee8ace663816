"""The synthetic known-truth demo region (SYNTHETIC data, not a real place).

``generate_truth`` draws the truth in memory; ``build_demo_region`` writes it
with Sentinel-2 L2A-like imagery, field survey exports, drone segments and
programme tables in the layout of ``docs/contracts.md``; ``DemoRegion.load``
reads a built region back; ``interpret_reference`` labels reference points
from the true land cover.
"""

from __future__ import annotations

from synthetic.reference import interpret_reference
from synthetic.region import DemoRegion, build_demo_region
from synthetic.scenes import SceneArrays, SceneSynth, scene_arrays
from synthetic.truth import TruthRegion, generate_truth

__all__ = [
    "DemoRegion",
    "SceneArrays",
    "SceneSynth",
    "TruthRegion",
    "build_demo_region",
    "generate_truth",
    "interpret_reference",
    "scene_arrays",
]
