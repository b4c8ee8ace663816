"""Tests for geo.features and geo.classify on small known-truth seasons."""

from __future__ import annotations

import json
import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from shapely.geometry import Point, box
from sklearn.ensemble import RandomForestClassifier

from core.errors import InvalidInputError
from geo.classify import (
    ClassificationOutputs,
    TrainedClassifier,
    build_features,
    classify,
    confusion_table,
    load_model,
    save_model,
    split_plots,
    train_classifier,
    training_samples,
)
from geo.features import feature_names_for
from tests.geo.classify_fixtures import (
    CRS,
    DATES,
    FIELD,
    NO_DATA_CORNER,
    ORIGIN,
    PIXEL_M,
    SIZE,
    build_season,
    season_dataset,
)

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")


@pytest.fixture(scope="module")
def synthetic():
    return build_season()


@pytest.fixture(scope="module")
def features(synthetic):
    return build_features(synthetic.season, chunk_px=64)


@pytest.fixture(scope="module")
def trained(features, synthetic):
    return train_classifier(features, synthetic.plots, seed=0)


@pytest.fixture(scope="module")
def outputs(features, trained, tmp_path_factory):
    return classify(features, trained, tmp_path_factory.mktemp("run"), tile_px=128)


# --- features ---------------------------------------------------------------------------------


def test_features_are_lazy_named_and_on_the_season_grid(synthetic, features):
    assert features.dims == ("feature", "y", "x")
    assert features.dtype == np.float32
    assert features.chunks is not None and features.chunks[1][0] == 64
    months = [11, 12, 1, 2, 3]
    assert list(features["feature"].values) == feature_names_for(months)
    assert "ndvi_month_11" in features["feature"].values
    assert features.rio.crs == synthetic.season.rio.crs
    assert features.rio.transform() == synthetic.season.rio.transform()
    np.testing.assert_array_equal(features["x"], synthetic.season["x"])


def test_features_match_xarray_reductions(synthetic, features):
    """Medians and percentiles equal xarray's own NaN-skipping reductions (an independent path)."""
    season = synthetic.season.compute()
    ndvi = (season.nir - season.red) / (season.nir + season.red)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = {
            "red_median": season.red.median("time"),
            "swir2_median": season.swir2.median("time"),
            "ndvi_median": ndvi.median("time"),
            "ndvi_p10": ndvi.quantile(0.1, "time"),
            "ndvi_p90": ndvi.quantile(0.9, "time"),
            "ndmi_median": ((season.nir - season.swir1) / (season.nir + season.swir1)).median(
                "time"
            ),
        }
    computed = features.sel(feature=list(expected)).compute()
    for name, values in expected.items():
        np.testing.assert_allclose(computed.sel(feature=name), values, rtol=1e-5, atol=1e-6)


def test_peak_day_and_monthly_profile_by_hand(monkeypatch):
    """One pixel, three dates, the January one cloudy: worked by hand."""
    import geo.features

    monkeypatch.setattr(geo.features, "MONTHLY_PROFILES", ("ndvi", "red"))
    shape = (3, 1, 1)
    red = np.array([0.10, 0.05, 0.20]).reshape(shape)
    nir = np.array([0.15, np.nan, 0.60]).reshape(shape)  # NDVI 0.2, cloud, 0.5
    bands = {b: np.full(shape, 0.1) for b in BANDS} | {"red": red, "nir": nir}
    bands = {b: np.where(np.isnan(nir), np.nan, v) for b, v in bands.items()}
    season = season_dataset(bands).assign_coords(time=DATES[[0, 2, 4]])  # Nov 15, Jan 15, Mar 15
    values = build_features(season).isel(y=0, x=0).compute().to_series()
    assert values["ndvi_median"] == pytest.approx(0.35, abs=1e-6)  # median of 0.2 and 0.5
    assert values["ndvi_p10"] == pytest.approx(0.2 + 0.1 * 0.3, abs=1e-6)
    assert values["ndvi_amplitude"] == pytest.approx(0.8 * 0.3, abs=1e-6)
    # 1 July 2024 -> 15 March 2025: 31+31+30+31+30+31+31+28 + 14 days
    assert values["ndvi_peak_day"] == 257
    assert values["ndvi_month_11"] == pytest.approx(0.2, abs=1e-6)
    assert values["ndvi_month_01"] == pytest.approx(0.35, abs=1e-6)  # cloudy month: median
    assert values["ndvi_month_03"] == pytest.approx(0.5, abs=1e-6)
    assert values["red_median"] == pytest.approx(0.15, abs=1e-6)
    assert [values[f"red_month_{m}"] for m in ("11", "01", "03")] == pytest.approx(
        [0.10, 0.15, 0.20], abs=1e-6
    )


def test_features_are_nan_where_no_date_is_valid(features):
    corner = features[:, :NO_DATA_CORNER, :NO_DATA_CORNER].compute()
    assert np.isnan(corner).all()
    assert np.isfinite(features[:, NO_DATA_CORNER:, NO_DATA_CORNER:].compute()).mean() > 0.99


def test_season_without_a_band_is_rejected(synthetic):
    with pytest.raises(InvalidInputError, match="swir2"):
        build_features(synthetic.season.drop_vars("swir2"))


# --- training samples and split ---------------------------------------------------------------


def _grid_box(col0: float, row0: float, cols: float, rows: float):
    left, top = ORIGIN[0] + col0 * PIXEL_M, ORIGIN[1] - row0 * PIXEL_M
    return box(left, top - rows * PIXEL_M, left + cols * PIXEL_M, top)


def test_polygons_sample_interior_pixels_and_points_their_pixel(features):
    plots = gpd.GeoDataFrame(
        {
            "plot_id": ["aligned", "offset", "tiny", "point"],
            "land_cover": ["opium_poppy", "cannabis", "forest", "water"],
        },
        geometry=[
            _grid_box(40, 40, 6, 6),  # edges on pixel edges: all 36 pixels lie inside
            _grid_box(60.3, 60.3, 6, 6),  # pixels 61..65 lie wholly inside: 5 x 5
            _grid_box(80.2, 80.2, 0.9, 0.9),  # no whole pixel inside: the centre (80, 80) is
            Point(ORIGIN[0] + 100.5 * PIXEL_M, ORIGIN[1] - 120.5 * PIXEL_M),
        ],
        crs=CRS,
    )
    samples = training_samples(features, plots, max_pixels_per_plot=1000, point_window_px=1)
    counts = samples.groupby("plot_id").size()
    assert counts.to_dict() == {"aligned": 36, "offset": 25, "tiny": 1, "point": 1}
    offset = samples[samples.plot_id == "offset"]
    assert set(offset.row) == set(range(61, 66)) and set(offset.col) == set(range(61, 66))
    point = samples[samples.plot_id == "point"].iloc[0]
    assert (point.row, point.col) == (120, 100)
    assert point["red_median"] == pytest.approx(float(features.sel(feature="red_median")[120, 100]))


def test_point_window_is_clipped_to_the_grid(features):
    points = gpd.GeoDataFrame(
        {"plot_id": ["mid", "corner"], "land_cover": ["forest", "water"]},
        geometry=[
            Point(ORIGIN[0] + 100.5 * PIXEL_M, ORIGIN[1] - 120.5 * PIXEL_M),
            Point(ORIGIN[0] + (SIZE - 0.5) * PIXEL_M, ORIGIN[1] - (SIZE - 0.5) * PIXEL_M),
        ],
        crs=CRS,
    )
    samples = training_samples(features, points, point_window_px=5)
    mid = samples[samples.plot_id == "mid"]
    assert len(mid) == 25 and set(mid.row) == set(range(118, 123))
    corner = samples[samples.plot_id == "corner"]  # 3 x 3 of the 5 x 5 lie on the grid
    assert len(corner) == 9 and set(corner.col) == {SIZE - 3, SIZE - 2, SIZE - 1}
    with pytest.raises(InvalidInputError, match="point_window_px must be odd"):
        training_samples(features, points, point_window_px=4)


def test_extra_polygons_without_plot_id_are_plots_of_their_own(features):
    digitised = gpd.GeoDataFrame(
        {"plot_id": [None, None, "S1"], "land_cover": ["opium_poppy"] * 3},
        geometry=[_grid_box(10, 10, 4, 4), _grid_box(20, 20, 4, 4), _grid_box(30, 30, 4, 4)],
        crs=CRS,
    )
    samples = training_samples(features, digitised)
    assert samples.groupby("plot_id").size().to_dict() == {"row-0": 16, "row-1": 16, "S1": 16}


def test_pixel_cap_per_plot(features):
    plots = gpd.GeoDataFrame(
        {"plot_id": ["big"], "land_cover": ["forest"]},
        geometry=[_grid_box(10, 10, 30, 30)],
        crs=CRS,
    )
    samples = training_samples(features, plots, max_pixels_per_plot=50, seed=1)
    assert len(samples) == 50
    assert not samples.duplicated(["row", "col"]).any()


def test_split_keeps_plots_on_one_side_and_classes_on_both():
    plot_classes = pd.Series([1] * 5 + [2] * 3 + [3] * 2 + [4], index=[f"p{i}" for i in range(11)])
    train, holdout = split_plots(plot_classes, holdout_fraction=0.3, seed=0)
    assert not set(train) & set(holdout)
    assert set(train) | set(holdout) == set(plot_classes.index)
    for code in (1, 2, 3):
        assert set(plot_classes[train]) >= {code} and code in set(plot_classes[holdout])
    assert plot_classes[holdout].value_counts().to_dict() == {1: 2, 2: 1, 3: 1}  # round(0.3 n)
    assert "p10" in train  # the single forest plot trains only


def test_trained_split_is_by_plot(trained, synthetic):
    assert not set(trained.train_plot_ids) & set(trained.holdout_plot_ids)
    assert trained.n_train_plots + trained.n_holdout_plots == len(synthetic.plots)
    codes = synthetic.field_cells.set_index("plot_id").code
    assert set(codes[list(trained.holdout_plot_ids)]) == {1, 2, 3, 4, 5, 6}
    assert trained.params["n_holdout_pixels"] == int(trained.confusion.to_numpy().sum())


# --- the classifier ---------------------------------------------------------------------------


def test_held_out_accuracy(trained):
    # Profiles differ by >= 0.25 NDVI on some month against pixel noise ~0.05 and per-field
    # offsets of 0.03: held-out fields should be near-perfect; 0.95 leaves room for clouds.
    assert isinstance(trained, TrainedClassifier)
    assert trained.holdout_accuracy > 0.95
    assert list(trained.classes) == [1, 2, 3, 4, 5, 6]
    assert trained.confusion.index.name == "map_class"
    assert list(trained.confusion.columns) == list(trained.class_names)
    diagonal = np.diag(trained.confusion.to_numpy())
    assert trained.holdout_accuracy == pytest.approx(diagonal.sum() / trained.confusion.sum().sum())


def test_each_tree_grows_on_at_most_the_cap_of_training_pixels(features, synthetic, monkeypatch):
    """More training pixels than ``FOREST_MAX_SAMPLES``: every tree's bootstrap sample has
    exactly the cap (the root's weighted sample count); at or under it, the forest is the
    one scikit-learn grows by default, tree for tree."""
    import geo.classify as classify_module

    monkeypatch.setattr(classify_module, "FOREST_MAX_SAMPLES", 300)
    capped = train_classifier(features, synthetic.plots, seed=0)
    assert capped.params["n_train_pixels"] > 300
    assert capped.model.max_samples == 300
    roots = {tree.tree_.weighted_n_node_samples[0] for tree in capped.model.estimators_}
    assert roots == {300.0}

    monkeypatch.setattr(classify_module, "FOREST_MAX_SAMPLES", capped.params["n_train_pixels"])
    uncapped = train_classifier(features, synthetic.plots, seed=0)
    assert uncapped.model.max_samples is None
    default = RandomForestClassifier(
        n_estimators=classify_module.FOREST_TREES, n_jobs=1, random_state=0
    )
    train = uncapped.params["n_train_pixels"]
    samples = training_samples(features, synthetic.plots, seed=0)
    samples = samples[samples["plot_id"].isin(uncapped.train_plot_ids)]
    assert len(samples) == train
    default.fit(samples[list(uncapped.feature_names)].to_numpy(), samples["code"])
    pixels = features.values.reshape(features.sizes["feature"], -1).T
    pixels = pixels[np.isfinite(pixels).all(axis=1)]
    expected = default.predict_proba(pixels)
    assert np.array_equal(uncapped.model.predict_proba(pixels), expected)
    assert not np.array_equal(capped.model.predict_proba(pixels), expected)


def test_confusion_table_by_hand():
    table = confusion_table(np.array([1, 1, 2, 6]), np.array([1, 2, 2, 6]), np.array([1, 2, 6]))
    assert table.loc["opium_poppy"].tolist() == [1, 1, 0]  # mapped poppy: 1 poppy, 1 cannabis
    assert table.loc["cannabis"].tolist() == [0, 1, 0]
    assert table.loc["water"].tolist() == [0, 0, 1]


def test_class_map_recovers_truth(outputs, synthetic):
    with rasterio.open(outputs.classes) as src:
        classes = src.read(1)
    seen = classes != 0
    assert (classes[seen] == synthetic.truth[seen]).mean() > 0.97
    for cell in synthetic.field_cells.itertuples():  # every field, mostly its own class
        field = classes[cell.row0 : cell.row0 + FIELD, cell.col0 : cell.col0 + FIELD]
        assert (field == cell.code).mean() > 0.8, cell.plot_id


def test_outputs_are_cogs_on_the_input_grid(outputs, synthetic):
    assert isinstance(outputs, ClassificationOutputs)
    for path, dtype, count in ((outputs.classes, "uint8", 1), (outputs.probability, "uint8", 6)):
        with rasterio.open(path) as src:
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert src.profile["tiled"] and src.block_shapes[0] == (128, 128)
            assert src.overviews(1) == [2]  # 160 px > one 128 px tile: one overview level
            assert src.crs == synthetic.season.rio.crs
            assert src.transform == synthetic.season.rio.transform()
            assert (src.width, src.height, src.count, src.dtypes[0]) == (SIZE, SIZE, count, dtype)
    with rasterio.open(outputs.classes) as src:
        classes = src.read(1)
        assert src.nodata == 0
    assert (classes[:NO_DATA_CORNER, :NO_DATA_CORNER] == 0).all()
    assert (classes == 0).sum() == NO_DATA_CORNER**2


def test_probability_bands_sum_to_100_and_agree_with_classes(outputs):
    with rasterio.open(outputs.probability) as src:
        percent = src.read()
        assert src.descriptions == (
            "opium_poppy",
            "cannabis",
            "other_crops",
            "forest",
            "fallow_bare",
            "water",
        )
        assert src.nodata == 255
    with rasterio.open(outputs.classes) as src:
        classes = src.read(1)
    seen = classes != 0
    totals = percent[:, seen].astype(int).sum(axis=0)
    assert np.abs(totals - 100).max() <= 3  # six rounded percentages
    assert (percent[:, ~seen] == 255).all()
    assert (np.argmax(percent[:, seen], axis=0) + 1 == classes[seen]).mean() > 0.99


def test_confusion_csv_written(outputs, trained):
    table = pd.read_csv(outputs.confusion, index_col=0)
    pd.testing.assert_frame_equal(table, trained.confusion, check_names=False)


def test_same_inputs_give_the_same_map(features, synthetic, outputs, tmp_path):
    again = train_classifier(features, synthetic.plots, seed=0)
    assert again.holdout_plot_ids == train_classifier(features, synthetic.plots).holdout_plot_ids
    second = classify(features, again, tmp_path, tile_px=128)
    with rasterio.open(outputs.classes) as a, rasterio.open(second.classes) as b:
        np.testing.assert_array_equal(a.read(), b.read())
    with rasterio.open(outputs.probability) as a, rasterio.open(second.probability) as b:
        np.testing.assert_array_equal(a.read(), b.read())


def test_save_load_round_trip(features, trained, outputs, tmp_path):
    path = save_model(trained, tmp_path / "model.joblib")
    sidecar = json.loads((tmp_path / "model.json").read_text())
    assert sidecar["feature_names"] == list(trained.feature_names)
    assert sidecar["classes"] == [1, 2, 3, 4, 5, 6]
    assert "scikit-learn" in sidecar["versions"]
    loaded = load_model(path)
    assert loaded.feature_names == trained.feature_names
    pd.testing.assert_frame_equal(loaded.confusion, trained.confusion)
    reloaded = classify(features, loaded, tmp_path / "again", tile_px=128)
    with rasterio.open(outputs.probability) as a, rasterio.open(reloaded.probability) as b:
        np.testing.assert_array_equal(a.read(), b.read())


# --- bad input --------------------------------------------------------------------------------


def test_no_plot_inside_the_raster(features):
    far_away = gpd.GeoDataFrame(
        {"plot_id": ["x1", "x2"], "land_cover": ["opium_poppy", "forest"]},
        geometry=[Point(96.0, 20.0), box(96.1, 20.1, 96.2, 20.2)],
        crs="EPSG:4326",
    )
    with pytest.raises(InvalidInputError, match="none of the 2 training plots has a pixel inside"):
        train_classifier(features, far_away)


def test_unknown_class_names_the_row(features, synthetic):
    plots = synthetic.plots.copy()
    plots.loc[3, "land_cover"] = "poppy"
    with pytest.raises(InvalidInputError, match="training row 3: land_cover='poppy'"):
        train_classifier(features, plots)


def test_a_class_with_one_plot_trains_with_a_warning(caplog):
    single = build_season(single_plot_class=6)
    features = build_features(single.season, chunk_px=64)
    with caplog.at_level(logging.WARNING, logger="geo.classify"):
        trained = train_classifier(features, single.plots)
    assert "water has a single training plot" in caplog.text
    assert 6 in trained.classes
    assert "water" not in {
        name for name, n in trained.confusion.sum(axis=0).items() if n > 0
    }  # nothing of it held out
    assert trained.holdout_accuracy > 0.9


def test_a_single_class_is_rejected(features, synthetic):
    poppy_only = synthetic.plots[synthetic.plots.land_cover == "opium_poppy"]
    with pytest.raises(InvalidInputError, match="single class"):
        train_classifier(features, poppy_only)


def test_load_model_rejects_other_pickles(tmp_path):
    import joblib

    joblib.dump({"model": None}, tmp_path / "other.joblib")
    with pytest.raises(InvalidInputError, match="not a TrainedClassifier"):
        load_model(tmp_path / "other.joblib")


def test_features_must_match_the_model(features, trained, tmp_path):
    fewer = features.isel(feature=slice(0, -1))
    with pytest.raises(InvalidInputError, match="differ from the model"):
        classify(fewer, trained, tmp_path)


def test_features_round_trip_through_a_cog_as_the_flow_reads_them(
    features, trained, outputs, tmp_path
):
    """flows.stages writes the features with write_cog and reopens them with rioxarray."""
    import rioxarray

    from geo.composite import write_cog

    path = write_cog(features, tmp_path / "features.tif", block_px=128)
    reread = rioxarray.open_rasterio(path, chunks={"x": 96, "y": 96}).rename({"band": "feature"})
    reread = reread.assign_coords(feature=list(reread.attrs["long_name"]))
    result = classify(reread, trained, tmp_path / "from_cog", tile_px=128)
    with rasterio.open(outputs.classes) as a, rasterio.open(result.classes) as b:
        np.testing.assert_array_equal(a.read(), b.read())


def test_classify_computes_one_chunk_per_thread_at_a_time(
    features, trained, outputs, tmp_path, monkeypatch
):
    """Chunks are computed and predicted a batch at a time, one chunk per core: memory
    stays bounded by the block size, and the cores predict side by side."""
    import threading

    import geo.class_maps
    from core.io import available_cores

    events: list[str] = []
    threads: set[int] = set()

    def record(block: np.ndarray) -> np.ndarray:
        events.append("computed")
        threads.add(threading.get_ident())
        return block

    predict = geo.class_maps._predict_block

    def predict_and_record(block, model):
        events.append("predicted")
        return predict(block, model)

    monkeypatch.setattr(geo.class_maps, "_predict_block", predict_and_record)
    small = features.chunk({"y": 48, "x": 48})
    meta = np.empty((0, 0, 0), dtype=np.float32)  # no call on an empty block to infer it
    small = small.copy(data=small.data.map_blocks(record, dtype=np.float32, meta=meta))
    result = classify(small, trained, tmp_path, tile_px=128)
    waiting = np.cumsum([1 if e == "computed" else -1 for e in events])
    assert events.count("computed") == events.count("predicted") == 16  # 4 x 4 chunks, once each
    assert waiting.max() <= available_cores()
    if available_cores() > 1:
        assert len(threads) > 1, "the chunks ran on one thread only"
    with rasterio.open(outputs.classes) as a, rasterio.open(result.classes) as b:
        np.testing.assert_array_equal(a.read(), b.read())


def test_numpy_backed_features_are_accepted(features, trained, outputs, tmp_path):
    in_memory = xr.DataArray(
        features.values, dims=features.dims, coords=features.coords, attrs=features.attrs
    )
    result = classify(in_memory, trained, tmp_path, tile_px=128)
    with rasterio.open(outputs.classes) as a, rasterio.open(result.classes) as b:
        np.testing.assert_array_equal(a.read(), b.read())


def test_the_map_is_scikit_learns_own_prediction_of_every_pixel(features, trained, outputs):
    """Blocks predicted side by side give, bit for bit, what one ``predict_proba`` call over
    all pixels gives (trees summed in one order): the classes and the percentages."""
    import copy

    model = copy.copy(trained.model)
    model.n_jobs = 1
    values = features.values
    pixels = values.reshape(values.shape[0], -1).T
    complete = np.isfinite(pixels).all(axis=1)
    probability = model.predict_proba(pixels[complete])
    expected_codes = np.zeros(pixels.shape[0], dtype=np.uint8)
    expected_codes[complete] = model.classes_[np.argmax(probability, axis=1)]
    expected_percent = np.full((len(model.classes_), pixels.shape[0]), 255, dtype=np.uint8)
    expected_percent[:, complete] = np.rint(probability * 100).T.astype(np.uint8)
    with rasterio.open(outputs.classes) as classes, rasterio.open(outputs.probability) as percent:
        np.testing.assert_array_equal(classes.read(1).ravel(), expected_codes)
        np.testing.assert_array_equal(
            percent.read().reshape(len(model.classes_), -1), expected_percent
        )
    assert (~complete).any() and complete.any(), "the check needs both no-data and mapped pixels"


def test_a_forest_trains_on_every_core_inside_a_daemon_process(
    features, synthetic, monkeypatch, recwarn
):
    """A Dask worker is a daemon process: the forest still grows on every core, no warning."""
    import multiprocessing

    from core.io import available_cores

    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    trained = train_classifier(features, synthetic.plots, seed=0)
    assert trained.model.n_jobs == available_cores()
    assert not [w for w in recwarn if "n_jobs" in str(w.message)]


def test_a_block_predicted_in_row_batches_is_the_block_predicted_at_once(
    features, trained, outputs, tmp_path, monkeypatch
):
    """Rows of a block go to the model a batch at a time (bounded work arrays); the map is
    bit for bit the one of a single ``predict_proba`` call per block."""
    import geo.class_maps

    calls: list[int] = []
    predict_proba = type(trained.model).predict_proba

    def counting(model, pixels):
        calls.append(len(pixels))
        return predict_proba(model, pixels)

    monkeypatch.setattr(geo.class_maps, "PREDICT_BATCH_PX", 1000)
    monkeypatch.setattr(type(trained.model), "predict_proba", counting)
    result = classify(features, trained, tmp_path, tile_px=128)
    assert max(calls) == 1000 and min(calls) < 1000, "the blocks were not split into batches"
    n_complete = int(np.isfinite(features.values).all(axis=0).sum())
    assert sum(calls) == n_complete  # every mapped pixel predicted once
    with rasterio.open(outputs.classes) as a, rasterio.open(result.classes) as b:
        np.testing.assert_array_equal(a.read(), b.read())
    with rasterio.open(outputs.probability) as a, rasterio.open(result.probability) as b:
        np.testing.assert_array_equal(a.read(), b.read())
