"""The season stage reads each scene block once and writes the same bytes as product-by-product.

The reference is the stage as it was: one ``write_cog`` per product, each rebuilding
its graph from the scene files. Every raster (values, band names, dtype) must equal
it bit for bit, and the one-pass stage must read each scene block exactly once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

import geo.readers.base
from flows import stages
from flows.config import load_config
from flows.plan import grid_for, normalised_districts, plan_run, run_context
from geo import composite, indices
from geo.features import build_features
from geo.imagery import read_season


def product_by_product(season, out: Path) -> dict[str, Path]:
    """The stage's products computed and written one at a time (the stage before one pass)."""
    products = {}
    median = composite.season_composite(season, method="median")
    products["composite_median"] = composite.write_cog(
        median.drop_vars("valid_count", errors="ignore"), out / "composite" / "median.tif"
    )
    products["valid_count"] = composite.write_cog(
        median["valid_count"], out / "composite" / "valid_count.tif"
    )
    ndvi_stack = indices.compute(season, ["NDVI"])["NDVI"]
    as_dataset = ndvi_stack.to_dataset(name="ndvi")
    products["ndvi_median"] = composite.write_cog(
        composite.season_composite(as_dataset, method="median")["ndvi"],
        out / "indices" / "ndvi_median.tif",
    )
    products["ndvi_p90"] = composite.write_cog(
        composite.season_composite(as_dataset, method="p90")["ndvi"],
        out / "indices" / "ndvi_p90.tif",
    )
    metrics = composite.seasonal_metrics(ndvi_stack)
    for name in metrics.data_vars:
        products[f"ndvi_{name}"] = composite.write_cog(
            metrics[name], out / "indices" / f"ndvi_{name}.tif"
        )
    products["features"] = composite.write_cog(build_features(season), out / "features.tif")
    return products


@pytest.fixture(scope="module")
def year_inputs(small_region, tmp_path_factory, config_writer):
    workspace = tmp_path_factory.mktemp("ws-season")
    config_path = config_writer(small_region, workspace)
    config = load_config(config_path)
    year = small_region.years[0]
    plan, _ = plan_run(config, year)
    context = run_context(config_path, config, plan, normalised_districts(config, plan.run_dir))
    return context, plan.scenes, grid_for(config, context.districts)


def test_one_pass_writes_the_same_rasters_as_product_by_product(year_inputs, tmp_path, monkeypatch):
    context, scenes, grid = year_inputs
    reads = []
    original = geo.readers.base.scene_block

    def counted(*args):
        reads.append(args[3])  # the block's transform
        return original(*args)

    monkeypatch.setattr(geo.readers.base, "scene_block", counted)
    products = stages.season_products.fn(context, scenes, grid)
    n_blocks = int(np.ceil(grid.shape[0] / 512) * np.ceil(grid.shape[1] / 512))
    assert len(reads) == len(scenes) * n_blocks  # each scene block read once, not once a product

    reference = product_by_product(read_season(scenes, grid), tmp_path / "reference")
    assert list(products) == list(reference)
    for key, path in reference.items():
        new = Path(products[key])
        assert new.relative_to(context.run_dir) == path.relative_to(tmp_path / "reference")
        with rasterio.open(path) as old_file, rasterio.open(new) as new_file:
            assert new_file.descriptions == old_file.descriptions, key
            assert new_file.dtypes == old_file.dtypes, key
            old_profile, new_profile = dict(old_file.profile), dict(new_file.profile)
            assert str(new_profile.pop("nodata")) == str(old_profile.pop("nodata")), key
            if key == "features":  # read back whole by classify only: ZSTD, no overviews
                assert new_profile.pop("compress") == "zstd"
                old_profile.pop("compress")
            assert new_profile == old_profile, key
            old_values, new_values = old_file.read(), new_file.read()
            if key == "features":
                assert new_file.overviews(1) == [], key
            else:
                assert new_file.overviews(1) == old_file.overviews(1), key
        assert old_values.tobytes() == new_values.tobytes(), key
        assert np.isfinite(new_values).any(), key  # not an empty raster on both sides
