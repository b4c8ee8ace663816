"""Imagery at scale: does a season composite stream, and how close is it to raw I/O?

For synthetic Sentinel-2 L2A seasons over growing areas (1x, 4x, 16x a base
tile), three ways of doing the same job are timed, each in its own process so
that peak memory (``ru_maxrss``, which counts GDAL and numpy buffers, unlike
tracemalloc) belongs to that job alone:

``admon``
    ``read_season`` (S2 folders: 4 x 10 m bands, 20 m SWIR1 resampled, SCL
    mask) -> ``indices.compute(NDVI)`` -> ``season_composite(median)`` ->
    ``write_cog`` of the 6-band composite plus ``valid_count``.
``naive``
    the same job eagerly: rioxarray loads every band whole, ``reproject_match``
    for the 20 m bands, numpy ``nanmedian`` on whole arrays, ``rio.to_raster``
    (COG driver).
``floor``
    plain rasterio: read every input byte window by window and write the same
    size of output through the same tiled scratch + COG copy; no maths.

Run ``.venv/bin/python tests/benchmarks/bench_imagery.py`` (``--readme`` also
rewrites the table in ``tests/benchmarks/README.md``). Throughput is grid
pixels x dates per second.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CRS = "EPSG:32647"
LEFT, TOP = 600000.0, 2200000.0
BANDS_10M = {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08"}
BANDS_20M = {"swir1": "B11"}
DATES = ("2024-11-20", "2024-12-25", "2025-01-19", "2025-02-23", "2025-03-20")
GDAL_CACHE_MB = 64  # GDAL's block cache defaults to 5% of RAM: fix it so RSS compares jobs
MARK_START, MARK_END = "<!-- imagery-bench:start -->", "<!-- imagery-bench:end -->"


# --- synthetic season --------------------------------------------------------------


def write_season(folder: Path, size_px: int, n_dates: int, seed: int = 0) -> list[Path]:
    """Write ``n_dates`` S2 L2A-like folders of ``size_px`` x ``size_px`` 10 m pixels."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    from tests.geo.fixtures_imagery import mtd_xml

    scenes = []
    rng = np.random.default_rng(seed)
    block = 512
    for date in DATES[:n_dates]:
        scene_id = f"S2B_MSIL2A_{date.replace('-', '')}T040519_BENCH"
        scene = folder / scene_id
        scene.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, band_id in {**BANDS_10M, **BANDS_20M, "scl": "SCL"}.items():
            res = 10 if name in BANDS_10M else 20
            files[name] = (scene / f"{scene_id}_{band_id}_{res}m.tif", res)
        for name, (path, res) in files.items():
            n = size_px * 10 // res
            profile = {
                "driver": "GTiff",
                "width": n,
                "height": n,
                "count": 1,
                "dtype": "uint8" if name == "scl" else "uint16",
                "crs": CRS,
                "transform": Affine(res, 0, LEFT, 0, -res, TOP),
                "nodata": 0,
                "tiled": True,
                "blockxsize": min(block, n) if n >= 16 else 16,
                "blockysize": min(block, n) if n >= 16 else 16,
                "compress": "deflate",
                "zlevel": 1,
            }
            with rasterio.open(path, "w", **profile) as dst:
                for row in range(0, n, block):
                    for col in range(0, n, block):
                        h, w = min(block, n - row), min(block, n - col)
                        if name == "scl":
                            values = rng.choice(
                                np.array([4, 4, 4, 4, 5, 6, 8, 9, 3], np.uint8), size=(h, w)
                            )
                        else:
                            values = rng.integers(1200, 6000, size=(h, w), dtype=np.uint16)
                        dst.write(values, 1, window=Window(col, row, w, h))
        (scene / "MTD_MSIL2A.xml").write_text(mtd_xml(f"{date}T04:05:19Z"), encoding="utf-8")
        scenes.append(scene)
    return scenes


# --- the three ways ----------------------------------------------------------------


def run_admon(scenes: list[Path], out: Path) -> None:
    from geo.composite import season_composite, write_cog
    from geo.grid import AnalysisGrid
    from geo.imagery import read_season
    from geo.indices import compute

    first = next(scenes[0].glob("*_B04_10m.tif"))
    import rasterio

    with rasterio.open(first) as src:
        grid = AnalysisGrid.from_bounds(tuple(src.bounds), src.crs, 10)
    season = read_season(scenes, grid, [*BANDS_10M, *BANDS_20M])
    season["ndvi"] = compute(season, ["NDVI"])["NDVI"]
    write_cog(season_composite(season, "median"), out)


def run_naive(scenes: list[Path], out: Path) -> None:
    import rioxarray
    from rasterio.enums import Resampling

    stacks: dict[str, list[np.ndarray]] = {b: [] for b in [*BANDS_10M, *BANDS_20M]}
    for scene in scenes:
        reference = rioxarray.open_rasterio(next(scene.glob("*_B04_10m.tif"))).squeeze().load()
        scl = rioxarray.open_rasterio(next(scene.glob("*_SCL_20m.tif"))).squeeze()
        scl = scl.rio.reproject_match(reference, resampling=Resampling.nearest).values
        clear = ~np.isin(scl, (0, 1, 3, 8, 9, 10))
        for name, band_id in {**BANDS_10M, **BANDS_20M}.items():
            band = rioxarray.open_rasterio(next(scene.glob(f"*_{band_id}_*m.tif"))).squeeze()
            if name in BANDS_20M:
                band = band.rio.reproject_match(reference, resampling=Resampling.nearest)
            dn = band.values.astype(np.float32)
            reflectance = (dn - 1000) / 10000
            reflectance[(dn == 0) | ~clear] = np.nan
            stacks[name].append(reflectance)
    arrays = {name: np.stack(values) for name, values in stacks.items()}
    with np.errstate(all="ignore"):
        arrays["ndvi"] = (arrays["nir"] - arrays["red"]) / (arrays["nir"] + arrays["red"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        composite = [np.nanmedian(values, axis=0) for values in arrays.values()]
    count = np.isfinite(arrays["red"]).sum(axis=0).astype(np.float32)
    import xarray as xr

    result = xr.DataArray(
        np.stack([*composite, count]),
        dims=("band", "y", "x"),
        coords={"y": reference["y"], "x": reference["x"]},
    )
    result = result.rio.write_crs(reference.rio.crs).rio.write_transform(reference.rio.transform())
    result.rio.to_raster(out, driver="COG", compress="DEFLATE", blocksize=512, overviews="AUTO")


def run_floor(scenes: list[Path], out: Path, same_bytes_as: Path | None = None) -> None:
    import rasterio
    import rasterio.shutil
    from rasterio.windows import Window

    files = sorted(p for scene in scenes for p in scene.glob("*.tif"))
    with rasterio.open(next(scenes[0].glob("*_B04_10m.tif"))) as ref:
        profile = ref.profile
    n_out = len(BANDS_10M) + len(BANDS_20M) + 2
    scratch = out.with_suffix(".scratch.tif")
    profile.update(
        dtype="float32", count=n_out, nodata=None, tiled=True, blockxsize=512, blockysize=512
    )
    profile.pop("compress", None)
    sources = [rasterio.open(p) for p in files]
    reference = rasterio.open(same_bytes_as) if same_bytes_as is not None else None
    try:
        with rasterio.open(scratch, "w", **profile) as dst:
            for row in range(0, profile["height"], 512):
                for col in range(0, profile["width"], 512):
                    h = min(512, profile["height"] - row)
                    w = min(512, profile["width"] - col)
                    # Read every input byte; write the same output bytes as admon (the
                    # compressor's cost depends on them), read back window by window.
                    reads = []
                    for src in sources:
                        factor = profile["width"] // src.width
                        window = Window(col // factor, row // factor, w // factor, h // factor)
                        reads.append(src.read(1, window=window))
                    if reference is not None:  # the very values admon wrote
                        out_block = reference.read(window=Window(col, row, w, h))
                    else:  # stand-in with a median's entropy: mean of two dates
                        full = [r for r in reads if r.shape == (h, w) and r.dtype == np.uint16]
                        out_block = np.stack(
                            [
                                (full[k % len(full)] + full[(k + 1) % len(full)]) * np.float32(5e-5)
                                for k in range(n_out)
                            ]
                        )
                    dst.write(out_block, window=Window(col, row, w, h))
    finally:
        for src in sources:
            src.close()
        if reference is not None:
            reference.close()
    rasterio.shutil.copy(
        scratch,
        out,
        driver="COG",
        COMPRESS="DEFLATE",
        BLOCKSIZE=512,
        OVERVIEWS="AUTO",
        PREDICTOR="YES",
        NUM_THREADS="ALL_CPUS",
    )
    scratch.unlink()


CASES = {"admon": run_admon, "naive": run_naive, "floor": run_floor}


def _child(case: str, data: Path, out: Path, same_bytes_as: Path | None = None) -> None:
    """Run one case in this (fresh) process and print its figures as JSON."""
    scenes = sorted(p for p in data.iterdir() if p.is_dir())
    # Imports are not the job: load them before the clock starts.
    import rasterio  # noqa: F401
    import rioxarray  # noqa: F401
    import xarray  # noqa: F401

    if case == "admon":
        import distributed  # noqa: F401  (dask looks for a client at the first compute)

        import geo.composite
        import geo.imagery
        import geo.indices  # noqa: F401
    # Mark peak memory just before GDAL's COG copy (overviews + compression), so the
    # table separates the streamed dask phase from GDAL's own step.
    import rasterio.shutil

    marks: dict[str, float] = {}
    gdal_copy = rasterio.shutil.copy

    def copy_marking(*args: object, **kwargs: object) -> object:
        marks["before_cog_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return gdal_copy(*args, **kwargs)

    rasterio.shutil.copy = copy_marking
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    start = time.perf_counter()
    if case == "floor":
        run_floor(scenes, out, same_bytes_as)
    else:
        CASES[case](scenes, out)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    figures = {"case": case, "wall_s": wall, "cpu_s": cpu, "peak_mb": peak_mb, **marks}
    print(json.dumps(figures))


# --- orchestration -----------------------------------------------------------------


def run(
    scales: list[int], base_px: int, n_dates: int, cases: list[str], workdir: Path
) -> list[dict]:
    rows = []
    for scale in scales:
        side = int(round(base_px * scale**0.5))
        data = workdir / f"season_x{scale}"
        if not (data / "COMPLETE").exists():  # a killed run may have left half a season
            shutil.rmtree(data, ignore_errors=True)
            write_season(data, side, n_dates, seed=scale)
            (data / "COMPLETE").write_text("ok\n")
        for case in cases:
            out = workdir / f"out_{case}_x{scale}.tif"
            out.unlink(missing_ok=True)
            reference = workdir / f"out_admon_x{scale}.tif"
            extra = [str(reference)] if case == "floor" and reference.exists() else []
            proc = subprocess.run(
                [sys.executable, __file__, "--child", case, str(data), str(out), *extra],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "GDAL_CACHEMAX": str(GDAL_CACHE_MB)},
            )
            if proc.returncode != 0:
                raise RuntimeError(f"{case} x{scale} failed:\n{proc.stderr[-3000:]}")
            figures = json.loads(proc.stdout.strip().splitlines()[-1])
            mpx = side * side * n_dates / 1e6
            figures.update(scale=scale, side_px=side, mpx=mpx, mpx_per_s=mpx / figures["wall_s"])
            rows.append(figures)
            print(
                f"x{scale:<3} {side}px {case:6s} {figures['wall_s']:7.2f} s "
                f"{figures['cpu_s']:7.2f} s CPU {figures['mpx_per_s']:6.2f} Mpx/s "
                f"{figures['peak_mb']:7.0f} MB",
                flush=True,
            )
    return rows


def table(rows: list[dict], n_dates: int) -> str:
    lines = [
        "| area | grid (10 m px) | px x dates (M) | way | wall (s) | CPU (s) | Mpx/s (wall) "
        "| peak RSS (MB) | RSS before COG copy (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scale']}x | {r['side_px']}^2 | {r['mpx']:.1f} | {r['case']} | "
            f"{r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['mpx_per_s']:.2f} | {r['peak_mb']:.0f} | "
            + (f"{r['before_cog_mb']:.0f} |" if "before_cog_mb" in r else "- |")
        )
    by = {(r["scale"], r["case"]): r for r in rows}
    scales = sorted({r["scale"] for r in rows})
    cases = {r["case"] for r in rows}
    notes = []
    for case in ("admon", "naive", "floor"):
        if case in cases and len(scales) > 1:
            lo, hi = by[(scales[0], case)], by[(scales[-1], case)]
            notes.append(
                f"{case} peak memory {scales[-1]}x / {scales[0]}x: "
                f"{hi['peak_mb'] / lo['peak_mb']:.2f}"
                + (" (target <= 1.5)" if case == "admon" else "")
            )
    for case in ("admon", "floor"):
        if case in cases and len(scales) > 1 and "before_cog_mb" in by[(scales[0], case)]:
            lo, hi = by[(scales[0], case)], by[(scales[-1], case)]
            notes.append(
                f"{case} memory before the COG copy {scales[-1]}x / {scales[0]}x: "
                f"{hi['before_cog_mb'] / lo['before_cog_mb']:.2f}"
            )
    for scale in scales:
        if (scale, "floor") in by and (scale, "admon") in by:
            admon, floor = by[(scale, "admon")], by[(scale, "floor")]
            notes.append(
                f"{scale}x: admon / floor = {admon['wall_s'] / floor['wall_s']:.2f} wall, "
                f"{admon['cpu_s'] / floor['cpu_s']:.2f} CPU (target <= 2)"
            )
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def write_readme(text: str, command: str) -> Path:
    readme = ROOT / "tests" / "benchmarks" / "README.md"
    block = f"{MARK_START}\nCommand: `{command}`\n\n{text}{MARK_END}"
    current = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    if MARK_START in current:
        head, rest = current.split(MARK_START, 1)
        current = head + block + rest.split(MARK_END, 1)[1]
    else:
        current = (
            current.rstrip("\n") + "\n\n## Imagery (geo.imagery, geo.composite)\n\n" + block + "\n"
        )
    readme.write_text(current, encoding="utf-8")
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--base-px", type=int, default=1024, help="side of the 1x tile (10 m px)")
    parser.add_argument("--dates", type=int, default=4)
    # admon first: the floor then writes admon's very output bytes
    parser.add_argument("--cases", nargs="+", default=["admon", "floor", "naive"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--readme", action="store_true", help="record the table in README.md")
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        case, data, out, *reference = args.child
        _child(case, Path(data), Path(out), Path(reference[0]) if reference else None)
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="admon-bench-imagery-"))
    try:
        rows = run(args.scales, args.base_px, args.dates, args.cases, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    text = table(rows, args.dates)
    print(text)
    if args.readme:
        command = ".venv/bin/python tests/benchmarks/bench_imagery.py " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:]) if a != "--readme"
        )
        print(f"recorded in {write_readme(text, command.strip())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
