"""`make bench` entry for the one-scene benchmark: a small run of bench_scene.py.

The recorded table (tests/benchmarks/README.md) comes from the full script at
4096^2 and 8192^2; this run (1024^2 and 2048^2, a few seconds) checks that the
floor writes admon's very pixels and that admon's peak memory does not follow
the pixel count (4x the pixels, well under 4x the memory).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark


def _bench_module():
    path = Path(__file__).with_name("bench_scene.py")
    spec = importlib.util.spec_from_file_location("bench_scene", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scene_memory_does_not_follow_the_pixels(tmp_path):
    bench = _bench_module()
    # run() raises unless the floor's COG holds admon's pixels
    rows = bench.run([1024, 2048], rounds=1, workdir=tmp_path)
    med = bench.summary(rows)
    small, large = med[(1024, "admon")], med[(2048, "admon")]
    assert large["peak_mb"] / small["peak_mb"] <= 1.6, (small, large)
    assert all(row["wall_s"] > 0 and row["cpu_s"] > 0 for row in rows)
    # the digest check compares pixel values, so it must tell two different rasters apart
    assert bench.pixel_digest(tmp_path / "out_admon_1024.tif") != bench.pixel_digest(
        tmp_path / "out_admon_2048.tif"
    )
