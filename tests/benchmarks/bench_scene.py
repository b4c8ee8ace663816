"""One scene through the public API against its I/O floor: time and how memory grows.

A synthetic Sentinel-2 L2A-like scene (``bench_imagery.write_season`` with one
date: B02/B03/B04/B08 at 10 m, B11 and SCL at 20 m) at 4096^2 and 8192^2 10 m
pixels; two ways of producing the same NDVI COG, each in a fresh process so
that peak memory (``ru_maxrss``) belongs to that job alone, alternately over
``--rounds``:

``admon``
    ``geo.imagery.read_scene(bands=["red", "nir"])`` ->
    ``geo.indices.compute(["NDVI"])`` -> ``geo.cog.write_cog``.
``floor``
    rasterio reads the same input windows once (B04, B08 and the 20 m SCL, 512 px
    blocks) and writes the very values admon wrote (copied from admon's COG to a
    raw block file before the process starts, read with plain ``readinto``: timed
    and taken off the figures, and through no GDAL cache) through the same tiled
    scratch GeoTIFF + ``geo.cog.copy_as_cog``.

Run ``.venv/bin/python tests/benchmarks/bench_scene.py`` (``--readme`` records
the table in ``tests/benchmarks/README.md``). The floor's COG is checked to hold
the same pixels as admon's.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BLOCK = 512
MARK_START, MARK_END = "<!-- scene-bench:start -->", "<!-- scene-bench:end -->"
SECTION = "## One scene (geo.imagery -> geo.indices -> geo.cog)"


def _bench_imagery():
    path = Path(__file__).with_name("bench_imagery.py")
    spec = importlib.util.spec_from_file_location("bench_imagery", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_scene(folder: Path, size_px: int, seed: int = 0) -> Path:
    """One S2 L2A-like scene folder of ``size_px`` x ``size_px`` 10 m pixels."""
    return _bench_imagery().write_season(folder, size_px, 1, seed=seed)[0]


def _band(scene: Path, band_id: str) -> Path:
    return next(scene.glob(f"*_{band_id}_*m.tif"))


# --- the two ways ------------------------------------------------------------------


def run_admon(scene: Path, out: Path) -> dict:
    from geo.cog import write_cog
    from geo.imagery import read_scene
    from geo.indices import compute

    bands = read_scene(scene, bands=["red", "nir"])
    write_cog(compute(bands, ["NDVI"])["NDVI"], out)
    return {}


def run_floor(scene: Path, out: Path, same_values_as: Path) -> dict:
    import rasterio
    from rasterio.windows import Window

    from geo.cog import copy_as_cog, scratch_geotiff

    excluded_wall = excluded_cpu = 0.0
    with rasterio.open(_band(scene, "B04")) as ref:
        profile = {
            "driver": "GTiff",
            "width": ref.width,
            "height": ref.height,
            "count": 1,
            "dtype": "float32",
            "crs": ref.crs,
            "transform": ref.transform,
            "tiled": True,
            "blockxsize": BLOCK,
            "blockysize": BLOCK,
            "nodata": np.nan,
            "BIGTIFF": "IF_SAFER",
        }
    paths = [_band(scene, "B04"), _band(scene, "B08"), _band(scene, "SCL")]
    sources = [rasterio.open(p) for p in paths]
    reference = open(same_values_as, "rb")  # raw blocks: no GDAL cache, no RSS growth
    try:
        with scratch_geotiff(out) as scratch:
            with rasterio.open(scratch, "w", **profile) as dst:
                for row in range(0, profile["height"], BLOCK):
                    for col in range(0, profile["width"], BLOCK):
                        h = min(BLOCK, profile["height"] - row)
                        w = min(BLOCK, profile["width"] - col)
                        for src in sources:  # every input window, read once
                            f = profile["width"] // src.width
                            src.read(1, window=Window(col // f, row // f, -(-w // f), -(-h // f)))
                        t0, c0 = time.perf_counter(), time.process_time()
                        values = np.empty((h, w), dtype=np.float32)
                        reference.readinto(memoryview(values).cast("B"))
                        excluded_wall += time.perf_counter() - t0
                        excluded_cpu += time.process_time() - c0
                        dst.write(values, 1, window=Window(col, row, w, h))
                dst.set_band_description(1, "NDVI")
            copy_as_cog(scratch, out, resampling="average")
    finally:
        for src in sources:
            src.close()
        reference.close()
    return {"excluded_wall_s": excluded_wall, "excluded_cpu_s": excluded_cpu}


def _child(case: str, scene: Path, out: Path, reference: Path | None) -> None:
    """Run one case in this (fresh) process and print its figures as JSON."""
    import rasterio  # noqa: F401  (imports are not the job: load them before the clock)
    import rioxarray  # noqa: F401
    import xarray  # noqa: F401

    import geo.cog

    if case == "admon":
        import distributed  # noqa: F401  (dask looks for a client at the first compute)

        import geo.imagery
        import geo.indices  # noqa: F401
    import rasterio.shutil

    marks: dict[str, float] = {}
    gdal_copy = rasterio.shutil.copy

    def copy_marking(*args: object, **kwargs: object) -> object:
        marks["before_cog_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        marks["before_cog_s"] = time.perf_counter() - start
        return gdal_copy(*args, **kwargs)

    rasterio.shutil.copy = copy_marking
    geo.cog.rasterio.shutil.copy = copy_marking
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    start = time.perf_counter()
    if case == "floor":
        extra = run_floor(scene, out, reference)
    else:
        extra = run_admon(scene, out)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    wall -= extra.get("excluded_wall_s", 0.0)
    cpu -= extra.get("excluded_cpu_s", 0.0)
    figures = {"case": case, "wall_s": wall, "cpu_s": cpu, "peak_mb": usage.ru_maxrss / 1024}
    print(json.dumps({**figures, **marks, **extra}))


# --- orchestration -----------------------------------------------------------------


def pixel_digest(path: Path) -> str:
    """SHA-256 of a raster's pixel values, read block by block (not the file bytes)."""
    import rasterio

    digest = hashlib.sha256()
    with rasterio.open(path) as src:
        for _, window in src.block_windows(1):
            digest.update(np.ascontiguousarray(src.read(1, window=window)).tobytes())
    return digest.hexdigest()


def write_raw_blocks(path: Path, raw: Path) -> Path:
    """A raster's float32 values as raw bytes, block after block in the floor's order.

    The floor reads admon's values from this file with plain ``readinto``, so that
    reading them adds neither time (it is also taken off) nor GDAL block-cache memory.
    """
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as src, open(raw, "wb") as dst:
        for row in range(0, src.height, BLOCK):
            for col in range(0, src.width, BLOCK):
                h, w = min(BLOCK, src.height - row), min(BLOCK, src.width - col)
                window = Window(col, row, w, h)
                dst.write(np.ascontiguousarray(src.read(1, window=window), np.float32).tobytes())
    return raw


def _run_child(case: str, scene: Path, out: Path, reference: Path | None, env: dict) -> dict:
    extra = [str(reference)] if reference is not None else []
    proc = subprocess.run(
        [sys.executable, __file__, "--child", case, str(scene), str(out), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{case} {scene} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(
    sizes: list[int],
    rounds: int,
    workdir: Path,
    gdal_cache_mb: int | None = None,
    check: bool = True,
) -> list[dict]:
    """Figures of every (size, round, case), admon and floor alternately."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if gdal_cache_mb is not None:
        env["GDAL_CACHEMAX"] = str(gdal_cache_mb)
    rows = []
    for size in sizes:
        data = workdir / f"scene_{size}"
        if not (data / "COMPLETE").exists():  # a killed run may have left half a scene
            shutil.rmtree(data, ignore_errors=True)
            write_scene(data, size, seed=size)
            (data / "COMPLETE").write_text("ok\n")
        scene = next(p for p in data.iterdir() if p.is_dir())
        for r in range(rounds):
            admon_out = workdir / f"out_admon_{size}.tif"
            floor_out = workdir / f"out_floor_{size}.tif"
            # alternate the order; admon first in round 0, since the floor writes its values
            for case in ("admon", "floor") if r % 2 == 0 else ("floor", "admon"):
                out = admon_out if case == "admon" else floor_out
                out.unlink(missing_ok=True)
                ref = None
                if case == "floor":
                    ref = write_raw_blocks(admon_out, workdir / f"ref_{size}.raw")
                figures = _run_child(case, scene, out, ref, env)
                figures.update(size=size, round=r, mpx=size * size / 1e6)
                rows.append(figures)
                print(
                    f"{size}^2 round {r} {case:5s} {figures['wall_s']:7.2f} s wall "
                    f"{figures['cpu_s']:7.2f} s CPU {figures['peak_mb']:7.0f} MB "
                    f"(load {_load()})",
                    flush=True,
                )
        if check and pixel_digest(workdir / f"out_admon_{size}.tif") != pixel_digest(
            workdir / f"out_floor_{size}.tif"
        ):
            raise RuntimeError(f"{size}^2: the floor's COG does not hold admon's pixels")
    return rows


def summary(rows: list[dict]) -> dict[tuple[int, str], dict]:
    """Median of each figure over the rounds, per (size, case)."""
    out: dict[tuple[int, str], dict] = {}
    for key in sorted({(r["size"], r["case"]) for r in rows}):
        runs = [r for r in rows if (r["size"], r["case"]) == key]
        med = {
            f: statistics.median(r[f] for r in runs)
            for f in ("wall_s", "cpu_s", "peak_mb", "before_cog_mb", "before_cog_s")
            if all(f in r for r in runs)
        }
        out[key] = {**med, "n": len(runs), "mpx": runs[0]["mpx"]}
    return out


def table(rows: list[dict]) -> str:
    med = summary(rows)
    lines = [
        "| grid (10 m px) | way | rounds | wall (s) | CPU (s) | Mpx/s (wall) | peak RSS (MB) "
        "| RSS before COG copy (MB) | wall before COG copy (s) | admon / floor (wall) "
        "| admon / floor (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sizes = sorted({size for size, _ in med})
    for size in sizes:
        for case in ("admon", "floor"):
            if (size, case) not in med:
                continue
            m = med[(size, case)]
            if case == "admon" and (size, "floor") in med:
                f = med[(size, "floor")]
                ratio = f"{m['wall_s'] / f['wall_s']:.2f} | {m['cpu_s'] / f['cpu_s']:.2f}"
            else:
                ratio = "- | -"
            lines.append(
                f"| {size}^2 | {case} | {m['n']} | {m['wall_s']:.2f} | {m['cpu_s']:.2f} | "
                f"{m['mpx'] / m['wall_s']:.1f} | {m['peak_mb']:.0f} | "
                f"{m.get('before_cog_mb', float('nan')):.0f} | "
                f"{m.get('before_cog_s', float('nan')):.2f} | {ratio} |"
            )
    notes = []
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        for case in ("admon", "floor"):
            if (lo, case) in med and (hi, case) in med:
                a, b = med[(lo, case)], med[(hi, case)]
                notes.append(
                    f"{case} peak memory {hi}^2 / {lo}^2: {b['peak_mb'] / a['peak_mb']:.2f}"
                    + (
                        f" (before the COG copy: {b['before_cog_mb'] / a['before_cog_mb']:.2f})"
                        if "before_cog_mb" in a and "before_cog_mb" in b
                        else ""
                    )
                )
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def write_readme(text: str, command: str, context: str) -> Path:
    readme = ROOT / "tests" / "benchmarks" / "README.md"
    block = f"{MARK_START}\nCommand: `{command}`\n\n{context}\n\n{text}{MARK_END}"
    current = readme.read_text(encoding="utf-8")
    if MARK_START in current:
        head, rest = current.split(MARK_START, 1)
        current = head + block + rest.split(MARK_END, 1)[1]
    else:
        current = current.rstrip("\n") + f"\n\n{SECTION}\n\n{block}\n"
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(current, encoding="utf-8")
    tmp.replace(readme)
    return readme


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="kept (scenes reused)")
    parser.add_argument(
        "--gdal-cache-mb", type=int, default=None, help="GDAL_CACHEMAX (default: GDAL's own)"
    )
    parser.add_argument("--readme", action="store_true", help="record the table in README.md")
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        case, scene, out, *reference = args.child
        _child(case, Path(scene), Path(out), Path(reference[0]) if reference else None)
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="admon-bench-scene-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load_start, date = _load(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        rows = run(args.sizes, args.rounds, workdir, args.gdal_cache_mb)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    context = (
        f"{date}; load average (1, 5, 15 min) at start {load_start}, at end {_load()}; "
        f"{os.cpu_count()} cores; GDAL_CACHEMAX "
        + (f"{args.gdal_cache_mb} MB" if args.gdal_cache_mb is not None else "GDAL's default")
        + "; medians over the rounds."
    )
    text = table(rows)
    print(context)
    print(text)
    if args.readme:
        given = argv if argv is not None else sys.argv[1:]
        command = ".venv/bin/python tests/benchmarks/bench_scene.py " + " ".join(
            a for a in given if a != "--readme"
        )
        print(f"recorded in {write_readme(text, command.strip(), context)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
