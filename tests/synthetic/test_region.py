"""Tests of the synthetic known-truth demo region (geo/synthetic)."""

from __future__ import annotations

import csv
import json
import os
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pystac
import pytest
import rasterio
import shapely
from defusedxml import ElementTree
from exactextract import exact_extract
from sklearn.ensemble import RandomForestClassifier

from core.errors import InvalidInputError, NotFoundError
from core.io import sha256_file
from core.legend import LEGEND, code_of
from synthetic import (
    DemoRegion,
    build_demo_region,
    generate_truth,
    interpret_reference,
    scene_arrays,
)
from synthetic.programmes import expected_verdict
from synthetic.scenes import SceneSynth

PARAMS = {"seed": 11, "size": (160, 120), "n_districts": 4}


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> DemoRegion:
    return build_demo_region(tmp_path_factory.mktemp("demo") / "region", **PARAMS)


@pytest.fixture(scope="module")
def truth():
    return generate_truth(PARAMS["seed"], size=PARAMS["size"], n_districts=PARAMS["n_districts"])


# -- determinism --


def test_same_seed_same_truth_and_other_seed_differs():
    a = generate_truth(5, size=(150, 120), n_districts=3)
    b = generate_truth(5, size=(150, 120), n_districts=3)
    c = generate_truth(6, size=(150, 120), n_districts=3)
    for year in a.years:
        np.testing.assert_array_equal(a.landcover[year], b.landcover[year])
    pd.testing.assert_frame_equal(a.district_truth, b.district_truth)
    pd.testing.assert_frame_equal(a.programmes, b.programmes)
    assert not np.array_equal(a.landcover[2024], c.landcover[2024])
    assert not a.district_truth.area_ha.equals(c.district_truth.area_ha)


def test_rebuild_gives_identical_files(region, tmp_path):
    again = build_demo_region(tmp_path / "again", **PARAMS)
    for rel in (
        "truth/landcover_2024.tif",
        "truth/district_truth.csv",
        "programmes.csv",
        "plots/2025/survey_plots.geojson",
        "plots/2025/kobo_export.csv",
        "feedback/2025/household_survey.csv",
    ):
        assert sha256_file(region.root / rel) == sha256_file(again.root / rel), rel
    first, second = region.scenes[2024][2], again.scenes[2024][2]
    for band in ("B04", "B11", "SCL"):
        name = next(first.parent.glob(f"*_{band}_*m.tif")).name
        assert sha256_file(first.parent / name) == sha256_file(second.parent / name)


def test_existing_region_is_loaded_not_rebuilt(region):
    stamp = region.programmes.stat().st_mtime_ns
    loaded = build_demo_region(region.root, **PARAMS)
    assert loaded == region
    assert region.programmes.stat().st_mtime_ns == stamp
    assert DemoRegion.load(region.root) == region


def test_region_of_an_older_generator_is_rebuilt(tmp_path):
    params = {"seed": 4, "size": (100, 80), "n_districts": 2}
    region = build_demo_region(tmp_path / "old", **params)
    marker = region.root / ".complete.json"
    stamp = json.loads(marker.read_text())
    stamp["generator_version"] = "0"
    marker.write_text(json.dumps(stamp))
    (region.root / "stale-output.txt").write_text("from the old generator")
    rebuilt = build_demo_region(tmp_path / "old", **params)
    assert json.loads(marker.read_text())["generator_version"] != "0"
    assert not (rebuilt.root / "stale-output.txt").exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_other_parameters_or_foreign_folder_are_refused(region, tmp_path):
    with pytest.raises(InvalidInputError, match="built with"):
        build_demo_region(region.root, seed=12, size=(160, 120), n_districts=4)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not a complete"):
        build_demo_region(foreign, **PARAMS)
    with pytest.raises(NotFoundError):
        DemoRegion.load(tmp_path / "nothing")
    assert not list(tmp_path.glob(".tmp-*"))


def test_concurrent_builds_of_one_root_agree(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    params = {"seed": 3, "size": (100, 80), "n_districts": 2}
    stale = tmp_path / ".tmp-shared-killed"
    stale.mkdir()
    os.utime(stale, (0, 0))  # a build killed long ago
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda _: build_demo_region(tmp_path / "shared", **params), range(2)))
    assert built[0] == built[1]
    assert not list(tmp_path.glob(".tmp-*"))


# -- layout and labels --


def test_layout_and_synthetic_labels(region):
    root = region.root
    meta = json.loads((root / "region.json").read_text())
    assert meta["synthetic"] is True
    assert meta["crs"] == "EPSG:32647" and meta["pixel_size_m"] == 10
    assert meta["class_legend"] == {str(c.code): c.name for c in LEGEND}
    assert "SYNTHETIC" in (root / "SYNTHETIC.txt").read_text()
    districts = gpd.read_file(region.districts, layer="districts")
    assert list(districts.district_id) == ["D01", "D02", "D03", "D04"]
    assert districts.crs.to_epsg() == 32647
    for year in region.years:
        assert len(region.scenes[year]) == 5
        assert region.plots[year].is_file() and region.kobo_exports[year].is_file()
        assert region.segments[year].is_file() and region.drone[year]
        tiffs = [region.landcover[year], region.drone[year][0]]
        tiffs += sorted(region.scenes[year][0].parent.glob("*.tif"))
        assert len(tiffs) == 9
        for tif in tiffs:
            with rasterio.open(tif) as src:
                assert src.tags()["SYNTHETIC"].startswith("SYNTHETIC"), tif
                assert src.profile["tiled"] and src.profile["compress"] == "deflate"


def test_stac_item_loads_with_pystac_and_points_at_the_bands(region):
    item = pystac.Item.from_file(str(region.scenes[2024][0]))
    assert item.properties["admon:synthetic"] is True
    assert item.properties["s2:processing_baseline"] == "05.10"
    assert json.loads(region.scenes[2024][0].read_text())["properties"]["proj:epsg"] == 32647
    assert item.properties["proj:code"] == "EPSG:32647"  # pystac reads it as projection v2
    assert item.properties["platform"] in ("sentinel-2a", "sentinel-2b")
    assert 0 <= item.properties["eo:cloud_cover"] <= 100
    expected = {"blue": 10, "green": 10, "red": 10, "nir": 10, "swir16": 20, "swir22": 20}
    for name, res in expected.items():
        asset = item.assets[name]
        assert asset.href.startswith("./")
        eo = asset.extra_fields["eo:bands"][0]
        raster = asset.extra_fields["raster:bands"][0]
        assert eo["common_name"] == name
        assert (raster["scale"], raster["offset"], raster["nodata"]) == (0.0001, -0.1, 0)
        path = region.scenes[2024][0].parent / asset.href[2:]
        with rasterio.open(path) as src:
            assert src.res == (res, res) and src.dtypes[0] == "uint16" and src.nodata == 0
            assert list(asset.extra_fields["proj:shape"]) == [src.height, src.width]
    assert "scl" in item.assets


def test_mtd_xml_has_the_real_offset_elements(region):
    scene_dir = region.scenes[2025][3].parent
    tree = ElementTree.parse(scene_dir / "MTD_MSIL2A.xml")
    root = tree.getroot()
    chars = root.find(".//Product_Image_Characteristics")
    assert chars.find("QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE").text == "10000"
    offsets = chars.findall("BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET")
    assert [o.get("band_id") for o in offsets] == [str(i) for i in range(13)]
    assert {o.text for o in offsets} == {"-1000"}
    assert root.find(".//Product_Info/PROCESSING_BASELINE").text == "05.10"
    item = pystac.Item.from_file(str(region.scenes[2025][3]))
    start = root.find(".//Product_Info/PRODUCT_START_TIME").text
    assert start[:19] == item.datetime.strftime("%Y-%m-%dT%H:%M:%S")


def test_dn_round_trips_to_generated_reflectance(region, truth):
    item_path = region.scenes[2024][2]
    scene = scene_arrays(truth, 2024, 2)
    assert scene.scene_id == item_path.stem
    for band, res in (("B08", 10), ("B12", 20)):
        with rasterio.open(item_path.parent / f"{scene.scene_id}_{band}_{res}m.tif") as src:
            dn = src.read(1)
        valid = dn != 0
        reflectance = (dn[valid].astype(np.float64) - 1000) / 10000
        np.testing.assert_allclose(reflectance, scene.reflectance[band][valid], atol=1e-4)
        np.testing.assert_array_equal(~valid, scene.nodata_10m if res == 10 else scene.nodata_20m)
    with rasterio.open(item_path.parent / f"{scene.scene_id}_SCL_20m.tif") as src:
        np.testing.assert_array_equal(src.read(1), scene.scl)


def test_strips_are_the_whole_scene_cut_in_pieces(truth):
    whole = scene_arrays(truth, 2025, 0)
    synth = SceneSynth(truth, 2025, 0)
    pieces = list(synth.strips(strip_rows=34))
    assert len(pieces) == 4
    for band in ("B02", "B11"):
        joined = np.concatenate([p[2][band] for p in pieces])
        np.testing.assert_array_equal(joined, whole.reflectance[band])
    np.testing.assert_array_equal(np.concatenate([p[3] for p in pieces]), whole.scl)


# -- truth --


def test_truth_totals_add_up_and_match_exactextract(region):
    table = pd.read_csv(region.truth / "district_truth.csv")
    districts = gpd.read_file(region.districts, layer="districts")
    totals = table.groupby(["district_id", "year"]).area_ha.sum()
    for row in districts.itertuples():
        for year in region.years:
            assert totals[(row.district_id, year)] == pytest.approx(
                row.geometry.area / 1e4, abs=1e-6
            )
    with rasterio.open(region.landcover[2025]) as src:
        width, height = src.width, src.height
    assert table[table.year == 2025].area_ha.sum() == pytest.approx(width * height / 100)
    # independent: exact pixel fractions from exactextract
    stats = exact_extract(
        str(region.landcover[2025]), districts, ["unique", "frac"], include_cols=["district_id"],
        output="pandas",
    )  # fmt: skip
    for row in stats.itertuples():
        district_area = districts.set_index("district_id").geometry[row.district_id].area / 1e4
        for code, frac in zip(row.unique, row.frac, strict=True):
            name = next(c.name for c in LEGEND if c.code == code)
            expected = table[
                (table.district_id == row.district_id)
                & (table.year == 2025)
                & (table["class"] == name)
            ].area_ha.iloc[0]
            assert frac * district_area == pytest.approx(expected, abs=0.011)


def test_programme_effect_matches_truth_and_baselines(region):
    truth = pd.read_csv(region.truth / "district_truth.csv")
    effect = pd.read_csv(region.truth / "programme_effect.csv")
    programmes = pd.read_csv(region.programmes)
    area = truth.set_index(["district_id", "year", "class"]).area_ha
    assert len(effect) > 0
    for row in effect.itertuples():
        before = area[(row.district_id, row.baseline_year, row.crop)]
        after = area[(row.district_id, row.year, row.crop)]
        change = 100 * (after - before) / before
        assert row.true_change_pct == pytest.approx(change, abs=0.01)
        assert row.expected_verdict == expected_verdict(change)
    poppy = effect[effect.crop == "opium_poppy"]
    assert (poppy.true_change_pct < 0).all()
    assert "decrease" in set(poppy.expected_verdict)
    # non-programme districts rise
    in_programme = set(";".join(programmes.district_ids).split(";"))
    for district_id in set(truth.district_id) - in_programme:
        assert area[(district_id, 2025, "opium_poppy")] > area[(district_id, 2024, "opium_poppy")]
    # reported baselines are the true baseline-year hectares; one left empty
    assert programmes.baseline_opium_poppy_ha.isna().sum() == 1
    for row in programmes.dropna(subset=["baseline_opium_poppy_ha"]).itertuples():
        true_ha = sum(area[(d, 2024, "opium_poppy")] for d in row.district_ids.split(";"))
        assert row.baseline_opium_poppy_ha == pytest.approx(round(true_ha, 1))


def test_poppy_share_is_plausible_at_scale_one():
    truth = generate_truth(3)
    poppy = truth.district_truth[truth.district_truth["class"] == "opium_poppy"]
    share = poppy.merge(
        truth.districts[["district_id", "area_ha"]], on="district_id", suffixes=("", "_d")
    )
    share = share.area_ha / share.area_ha_d
    assert truth.shape == (900, 1200) and len(truth.districts) == 12
    assert 0.003 < share.min() and share.max() < 0.06
    cannabis = truth.district_truth[truth.district_truth["class"] == "cannabis"].area_ha.sum()
    assert 0 < cannabis < poppy.area_ha.sum()
    for fields in truth.fields.values():  # small compact fields of 0.1-2 ha
        assert fields.polygon_area_ha.between(0.1 - 1e-9, 2.0 + 1e-9).all()
        assert fields.area_ha.median() < 1.0
    # most fields of the second year are new
    resown = truth.fields[2025].resown_from != ""
    assert 0 < resown.mean() < 0.3


# -- field data --


def test_survey_plots_and_kobo_export_agree(region):
    plots = gpd.read_file(region.plots[2024])
    assert plots.crs.to_epsg() == 4326
    assert {"opium_poppy", "cannabis", "other_crops", "forest", "fallow_bare", "water"} <= set(
        plots.land_cover
    )
    polygons = plots[plots.geom_type == "Polygon"]
    assert polygons.is_valid.all()
    assert set(polygons.status) <= {"cultivated", "eradicated"}
    # measured area (geodesic) against the planar UTM area: an independent method
    utm_area = polygons.to_crs(32647).area / 1e4
    np.testing.assert_allclose(polygons.measured_area_ha, utm_area, rtol=0.01)
    with open(region.kobo_exports[2024], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert len(rows) == len(plots)
    for meta in ("_id", "_uuid", "_submission_time", "_validation_status", "_submitted_by",
                 "__version__", "_index"):  # fmt: skip
        assert meta in rows[0]
    by_id = plots.set_index("plot_id")
    for row in rows:
        geom = by_id.geometry[row["plot/plot_id"]]
        if row["plot/boundary"]:
            vertices = [tuple(map(float, v.split())) for v in row["plot/boundary"].split(";")]
            assert vertices[0] == vertices[-1] and len(vertices) >= 4
            lat_lon = np.array([v[:2] for v in vertices])
            np.testing.assert_allclose(
                lat_lon[:, ::-1], np.asarray(geom.exterior.coords), atol=2e-7
            )
        else:
            lat = float(row["_plot/location_latitude"])
            lon = float(row["_plot/location_longitude"])
            assert (lon, lat) == pytest.approx((geom.x, geom.y), abs=2e-7)
        assert row["plot/crop"] == by_id.crop[row["plot/plot_id"]]


def test_surveyed_fields_lie_on_their_true_class(region):
    plots = gpd.read_file(region.plots[2024]).to_crs(32647)
    with rasterio.open(region.landcover[2024]) as src:
        classes = src.read(1)
        transform = src.transform
    for crop in ("opium_poppy", "cannabis"):
        fields = plots[plots.land_cover == crop]
        assert len(fields) > 0
        cents = fields.geometry.centroid
        rows, cols = rasterio.transform.rowcol(transform, cents.x, cents.y)
        assert (classes[rows, cols] == code_of(crop)).mean() > 0.8


def test_segments_hold_the_true_crop_area(region):
    segments = gpd.read_file(region.segments[2025])
    meta = json.loads((region.root / "region.json").read_text())
    frame = meta["drone_frame"]
    assert frame["strata"]["high"]["N_h"] + frame["strata"]["low"]["N_h"] == (160 // 25) * (
        120 // 25
    )
    assert set(segments.stratum) <= {"high", "low"}
    # the whole frame is written beside the samples, for the map-ratio variance
    whole = gpd.read_file(region.root / "drone" / "frame.gpkg")
    assert whole.stratum.value_counts().to_dict() == {
        s: frame["strata"][s]["N_h"] for s in ("high", "low")
    }
    assert set(segments.segment_id) <= set(whole.segment_id)
    with rasterio.open(region.landcover[2025]) as src:
        for seg in segments.itertuples():
            window = rasterio.windows.from_bounds(*seg.geometry.bounds, transform=src.transform)
            classes = src.read(1, window=window)
            assert classes.shape == (25, 25)
            assert seg.opium_poppy_ha == pytest.approx((classes == 1).sum() / 100)
            assert seg.cannabis_ha == pytest.approx((classes == 2).sum() / 100)
    with rasterio.open(region.drone[2025][0]) as src:
        assert src.count == 4 and src.dtypes[0] == "uint8" and src.res == (1.0, 1.0)


def test_household_survey_follows_programme_effect(region):
    effect = pd.read_csv(region.truth / "programme_effect.csv")
    shares = {}
    for year in region.years:
        table = pd.read_csv(region.feedback[year], sep=";")
        assert set(table["household/district_id"]) == set(effect.district_id)
        shares[year] = (table["household/grows_poppy"] == "yes").mean()
    assert shares[2025] < shares[2024]


# -- imagery plausibility --


def test_poppy_is_green_in_january_and_harvested_by_march(truth):
    height, width = truth.shape
    clear = np.ones(truth.shape, dtype=bool)
    ndvi = {}
    for index in (2, 4):  # mid-January, mid-March
        scene = scene_arrays(truth, 2024, index)
        red, nir = scene.reflectance["B04"], scene.reflectance["B08"]
        ndvi[index] = (nir - red) / (nir + red)
        clear &= np.isin(scene.scl, (4, 5, 6)).repeat(2, 0).repeat(2, 1)[:height, :width]
    fields = truth.fields[2024]
    standing = fields.index[(fields.surface == "opium_poppy") & ~fields.eradicated] + 1
    poppy = np.isin(truth.field_raster[2024], standing) & clear
    forest = (truth.landcover[2024] == code_of("forest")) & clear
    assert poppy.sum() > 20
    assert np.median(ndvi[2][poppy]) > np.median(ndvi[4][poppy]) + 0.2
    assert np.median(ndvi[2][forest]) > 0.6


def _season_features(truth, year: int) -> np.ndarray:
    """Per pixel NDVI, red, NIR and SWIR of each date; cloudy values by the pixel's median."""
    height, width = truth.shape
    dates = []
    for index in range(5):
        scene = scene_arrays(truth, year, index)
        cloudy = np.isin(scene.scl, (0, 3, 8, 9, 10)).repeat(2, 0).repeat(2, 1)[:height, :width]
        red, nir = scene.reflectance["B04"], scene.reflectance["B08"]
        swir = scene.reflectance["B11"].repeat(2, 0).repeat(2, 1)[:height, :width]
        values = np.stack([(nir - red) / (nir + red), red, nir, swir])
        values[:, cloudy] = np.nan
        dates.append(values)
    stack = np.stack(dates)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(stack, axis=0)
    stack = np.where(np.isnan(stack), median[None], stack)
    return np.nan_to_num(stack.reshape(-1, height * width).T)


def test_a_classifier_separates_classes_well_but_not_perfectly():
    # trained on one year, applied to the next (new fields): about 85-90 % overall
    # accuracy, with poppy confused with other crops both ways, as in real surveys
    truth = generate_truth(1, size=(240, 200), n_districts=4)
    train_x, train_y = _season_features(truth, 2024), truth.landcover[2024].ravel()
    test_x, test_y = _season_features(truth, 2025), truth.landcover[2025].ravel()
    rng = np.random.default_rng(0)
    picks = np.concatenate(
        [rng.choice(np.flatnonzero(train_y == c), 300) for c in np.unique(train_y)]
    )
    model = RandomForestClassifier(60, random_state=0, n_jobs=1).fit(train_x[picks], train_y[picks])
    mapped = model.predict(test_x)
    overall = (mapped == test_y).mean()
    poppy, other = code_of("opium_poppy"), code_of("other_crops")
    producers = (mapped[test_y == poppy] == poppy).mean()
    assert 0.78 < overall < 0.96
    assert 0.6 < producers < 0.98
    assert ((test_y == other) & (mapped == poppy)).sum() > 0
    assert ((test_y == poppy) & (mapped == other)).sum() > 0


# -- interpret_reference --


def test_interpret_reference_reads_the_truth_in_any_crs(region):
    with rasterio.open(region.landcover[2024]) as src:
        classes = src.read(1)
        transform = src.transform
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 120, 40), rng.integers(0, 160, 40)
    xs, ys = rasterio.transform.xy(transform, rows, cols)
    sample = gpd.GeoDataFrame(
        {"sample_id": range(40)}, geometry=shapely.points(xs, ys), crs=32647
    ).to_crs(4326)
    labelled = interpret_reference(sample, region.landcover[2024])
    expected = [next(c.name for c in LEGEND if c.code == v) for v in classes[rows, cols]]
    assert list(labelled.reference_class) == expected
    assert "reference_class" not in sample
    outside = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326)
    with pytest.raises(InvalidInputError, match="outside"):
        interpret_reference(outside, region.landcover[2024])


def test_interpret_reference_reads_each_point_of_a_raster_of_many_windows(tmp_path):
    """Points on both sides of every 1024 px window edge, and in the last row and column,
    get the value under them (the reader groups points by window)."""
    height, width = 1500, 2100
    codes = (np.arange(height)[:, None] * 7 + np.arange(width)[None, :] * 3) % 6 + 1
    path = tmp_path / "landcover.tif"
    transform = rasterio.transform.from_origin(380_000, 2_330_000, 10, 10)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1,
                       dtype="uint8", crs="EPSG:32647", transform=transform, nodata=0,
                       tiled=True, blockxsize=256, blockysize=256) as dst:  # fmt: skip
        dst.write(codes.astype("uint8"), 1)
    edges = [0, 1, 1023, 1024, 1025, 2047, 2048]
    rows = np.array([r for r in edges if r < height] + [height - 1] * 3)
    cols = np.array([c for c in edges if c < width][: len(rows) - 3] + [0, 1024, width - 1])
    rng = np.random.default_rng(3)
    rows = np.concatenate([rows, rng.integers(0, height, 500)])
    cols = np.concatenate([cols, rng.integers(0, width, 500)])
    xs, ys = rasterio.transform.xy(transform, rows, cols)
    sample = gpd.GeoDataFrame(geometry=shapely.points(xs, ys), crs=32647)
    labelled = interpret_reference(sample, path)
    expected = [next(c.name for c in LEGEND if c.code == v) for v in codes[rows, cols]]
    assert list(labelled.reference_class) == expected


def test_the_generated_survey_file_has_the_columns_admon_reads_plus_its_own():
    from models.schema import PLOT_COLUMNS
    from synthetic.survey import SURVEY_FILE_COLUMNS

    added_by_admon = {"source_upload", "geometry"}
    assert [c for c in PLOT_COLUMNS if c not in added_by_admon] == list(SURVEY_FILE_COLUMNS)
