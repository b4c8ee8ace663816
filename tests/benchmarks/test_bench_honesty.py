"""``make bench``: the honesty check over 100 demo-generator seeds (about 5 minutes).

Prints the table recorded in tests/benchmarks/README.md and asserts the issue's
band: 90-99% of true district areas inside their 95% intervals.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent / "bench_honesty.py"


@pytest.mark.benchmark
def test_honesty_over_100_seeds():
    spec = importlib.util.spec_from_file_location("bench_honesty", HARNESS)
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_honesty", bench)
    spec.loader.exec_module(bench)
    result = bench.run(range(100))
    rows = result.rows[result.rows["true_ha"] > 0]
    summary = bench.summarize(rows)
    print(f"\n{result.seconds:.0f} s\n" + bench.markdown_table(summary))
    districts = rows[rows["district_id"] != "ALL"]
    inside = (districts["ci_low_ha"] <= districts["true_ha"]) & (
        districts["true_ha"] <= districts["ci_high_ha"]
    )
    assert 0.90 <= inside.mean() <= 0.99
