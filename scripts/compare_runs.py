"""Compare the tables of two workspaces' runs: the check that a change left the numbers alone.

usage: .venv/bin/python scripts/compare_runs.py WORKSPACE_A WORKSPACE_B [--tol 1e-9]

Runs are paired by year (the first run of each year); every CSV both runs wrote is
compared, numeric columns to ``--tol``, text columns exactly (run ids aside). Exits 1
when anything differs.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

a, b = Path(sys.argv[1]), Path(sys.argv[2])
tol = float(sys.argv[sys.argv.index("--tol") + 1]) if "--tol" in sys.argv else 1e-9
worst = 0.0
compared = 0
failed = False
for run_a in sorted(a.glob("runs/*/*/")):
    year = run_a.parent.name
    runs_b = sorted(b.glob(f"runs/{year}/*/"))
    if not runs_b:
        print("no run for", year, "in", b)
        continue
    run_b = runs_b[0]
    for csv in sorted(run_a.glob("*.csv")):
        other = run_b / csv.name
        if not other.exists():
            print("missing in B:", year, csv.name)
            continue
        ta, tb = pd.read_csv(csv), pd.read_csv(other)
        if list(ta.columns) != list(tb.columns) or len(ta) != len(tb):
            print("shape/columns differ:", year, csv.name, ta.shape, tb.shape)
            continue
        for col in ta.columns:
            if pd.api.types.is_numeric_dtype(ta[col]) and pd.api.types.is_numeric_dtype(tb[col]):
                x, y = ta[col].to_numpy(float), tb[col].to_numpy(float)
                same_nan = np.isnan(x) == np.isnan(y)
                if not same_nan.all():
                    print("NaN pattern differs:", year, csv.name, col)
                d = np.nanmax(np.abs(x - y)) if np.isfinite(x).any() else 0.0
                worst = max(worst, d)
                if d > tol:
                    print(f"differs: {year} {csv.name} {col} max |diff| {d:.3g}")
                    failed = True
            elif not (
                ta[col].fillna("<NA>").astype(str) == tb[col].fillna("<NA>").astype(str)
            ).all():
                if col not in ("run_id", "baseline_run_id"):
                    print("text differs:", year, csv.name, col)
                    failed = True
        compared += 1
print(f"compared {compared} tables; largest numeric difference {worst:.3g}")
sys.exit(1 if failed else 0)
