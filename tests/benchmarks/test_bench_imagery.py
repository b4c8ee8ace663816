"""`make bench` entry for the imagery benchmark: a small run of bench_imagery.py.

The recorded table (tests/benchmarks/README.md) comes from the full script;
this run is small enough for CI and checks the streaming claim itself: the
season composite's peak memory stays flat while the area grows fourfold.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark


def _bench_module():
    path = Path(__file__).with_name("bench_imagery.py")
    spec = importlib.util.spec_from_file_location("bench_imagery", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_imagery_composite_memory_is_flat(tmp_path):
    bench = _bench_module()
    rows = bench.run([1, 4], base_px=512, n_dates=3, cases=["admon"], workdir=tmp_path)
    peak = {row["scale"]: row["peak_mb"] for row in rows}
    assert peak[4] / peak[1] <= 1.5, peak
    assert all(row["mpx_per_s"] > 0 for row in rows)
    assert (tmp_path / "out_admon_x4.tif").exists()
