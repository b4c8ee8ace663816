"""geo.imagery: reflectance, masks, grids and bad input, on real-format fixtures."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import pystac
import pytest
import rasterio
from rasterio.warp import transform_bounds

from core.errors import ImageryError
from geo.grid import AnalysisGrid
from geo.imagery import (
    AllMaskedError,
    DroneOrtho,
    NoOverlapError,
    SensorProfile,
    read_scene,
    read_season,
    search_scenes,
)
from tests.geo.fixtures_imagery import (
    LEFT,
    TOP,
    s2_arrays,
    write_drone_ms5,
    write_drone_rgba,
    write_landsat_scene,
    write_s2_folder,
    write_s2_stac_item,
    write_tif,
)

SCENE_ID = "S2B_MSIL2A_20250112T040519_N0511_R004_T47QNA_20250112T071523"


def _s2_known() -> dict[str, np.ndarray]:
    """8 x 8 scene with a few hand-set pixels and SCL classes."""
    arrays = s2_arrays(seed=1)
    arrays["red"][4, 4], arrays["nir"][4, 4] = 3500, 6000  # -> 0.25, 0.50
    arrays["red"][7, 1] = 0  # no data in one 10 m band
    arrays["swir1"][2, 2] = 2200  # 20 m pixel -> 10 m rows/cols 4-5, reflectance 0.12
    scl = arrays["scl"]
    scl[0, 1] = 8  # cloud medium probability -> 10 m rows 0-1, cols 2-3
    scl[1, 0] = 3  # cloud shadow
    scl[1, 3] = 10  # thin cirrus
    scl[3, 3] = 11  # snow: kept unless mask_snow
    scl[3, 0] = 6  # water: kept
    return arrays


@pytest.fixture
def s2_folder(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    arrays = _s2_known()
    return write_s2_folder(tmp_path, SCENE_ID, arrays), arrays


def _expected_invalid_10m() -> np.ndarray:
    invalid = np.zeros((8, 8), bool)
    for r, c in [(0, 1), (1, 0), (1, 3)]:
        invalid[2 * r : 2 * r + 2, 2 * c : 2 * c + 2] = True
    invalid[7, 1] = True
    return invalid


def test_s2_folder_reflectance_applies_boa_offset_and_scl(s2_folder):
    folder, arrays = s2_folder
    scene = read_scene(folder)
    assert isinstance(scene["red"].data, da.Array)
    assert scene["red"].dtype == np.float32
    assert scene.rio.crs.to_epsg() == 32647
    assert scene.rio.transform() == rasterio.Affine(10, 0, LEFT, 0, -10, TOP)
    assert scene["time"].values == np.datetime64("2025-01-12T04:05:19.024", "ns")
    # (DN + BOA_ADD_OFFSET) / 10000 with the MTD's -1000
    assert scene["red"].values[4, 4] == pytest.approx(0.25, abs=1e-6)
    assert scene["nir"].values[4, 4] == pytest.approx(0.50, abs=1e-6)
    assert scene["swir1"].values[4:6, 4:6] == pytest.approx(np.full((2, 2), 0.12), abs=1e-6)
    expected_invalid = _expected_invalid_10m()
    np.testing.assert_array_equal(~scene["valid"].values, expected_invalid)
    blue = scene["blue"].values
    assert np.isnan(blue[expected_invalid]).all()
    dn = arrays["blue"].astype(np.float64)
    np.testing.assert_allclose(
        blue[~expected_invalid], ((dn - 1000) / 10000)[~expected_invalid], atol=1e-6
    )


def test_s2_snow_masked_only_on_request(s2_folder):
    folder, _ = s2_folder
    assert read_scene(folder, ["red"])["valid"].values[6:8, 6:8].all()
    assert not read_scene(folder, ["red"], mask_snow=True)["valid"].values[6:8, 6:8].any()


def test_s2_stac_item_matches_folder_and_honours_scale_offset(s2_folder):
    folder, arrays = s2_folder
    item = folder / f"{SCENE_ID}.json"
    from_item = read_scene(item, ["red", "nir", "swir1"])
    from_folder = read_scene(folder, ["red", "nir", "swir1"])
    for band in ("red", "nir", "swir1"):
        np.testing.assert_allclose(from_item[band].values, from_folder[band].values, atol=1e-6)
    np.testing.assert_array_equal(from_item["valid"].values, ~_expected_invalid_10m())
    # a different raster:bands scale/offset is honoured exactly
    write_s2_stac_item(
        folder, SCENE_ID, arrays, start="2025-01-12T04:05:19Z", scale=2e-4, offset=0.01
    )
    rescaled = read_scene(item, ["red"])
    assert rescaled["red"].values[4, 4] == pytest.approx(3500 * 2e-4 + 0.01, abs=1e-6)


def test_s2_old_baseline_has_no_offset(tmp_path):
    arrays = _s2_known()
    folder = write_s2_folder(
        tmp_path, SCENE_ID, arrays, baseline="03.01", offset=None, with_stac=False
    )
    assert read_scene(folder, ["red"])["red"].values[4, 4] == pytest.approx(0.35, abs=1e-6)


def test_s2_safe_layout_with_jp2_prefers_10m(tmp_path):
    arrays = _s2_known()
    safe = tmp_path / "S2B_MSIL2A_20250112T040519_N0511_R004_T47QNA_20250112T071523.SAFE"
    img = safe / "GRANULE" / "L2A_T47QNA_A040000_20250112T040516" / "IMG_DATA"
    stem = "T47QNA_20250112T040519"
    for band_id, name in (("B04", "red"), ("B08", "nir")):
        write_tif(img / "R10m" / f"{stem}_{band_id}_10m.jp2", arrays[name], driver="JP2OpenJPEG")
        coarse = (arrays[name][::2, ::2] // 2).astype(np.uint16)  # a different 20 m product
        write_tif(img / "R20m" / f"{stem}_{band_id}_20m.jp2", coarse, res=20, driver="JP2OpenJPEG")
    write_tif(img / "R20m" / f"{stem}_SCL_20m.jp2", arrays["scl"], res=20, driver="JP2OpenJPEG")
    from tests.geo.fixtures_imagery import mtd_xml

    (safe / "MTD_MSIL2A.xml").write_text(mtd_xml("2025-01-12T04:05:19.024Z"), encoding="utf-8")
    scene = read_scene(safe)
    assert set(scene.data_vars) == {"red", "nir", "valid"}
    assert scene["red"].values[4, 4] == pytest.approx(0.25, abs=1e-6)  # lossless JP2, 10 m file
    np.testing.assert_array_equal(~scene["valid"].values, _expected_invalid_10m())


def test_grid_resampling_and_outside_footprint(s2_folder):
    folder, arrays = s2_folder
    # 20 m grid, aligned, one extra pixel column west of the scene
    grid = AnalysisGrid.from_bounds((LEFT - 20, TOP - 80, LEFT + 80, TOP), "EPSG:32647", 20)
    scene = read_scene(folder, ["swir1", "red"], grid)
    assert scene["swir1"].shape == (4, 5)
    assert not scene["valid"].values[:, 0].any()
    assert np.isnan(scene["swir1"].values[:, 0]).all()
    assert scene["swir1"].values[2, 3] == pytest.approx(0.12, abs=1e-6)  # native 20 m pixel
    # equal-area grid: same CRS for every sensor, values still from the scene
    ea = AnalysisGrid.for_area(
        (LEFT, TOP - 80, LEFT + 80, TOP), "EPSG:32647", resolution=10, equal_area=True
    )
    projected = read_scene(folder, ["red"], ea)
    assert projected.rio.crs.to_epsg() == 6933
    red = projected["red"].values[projected["valid"].values]
    source = (arrays["red"][arrays["red"] > 0].astype(np.float64) - 1000) / 10000
    assert red.size > 20
    assert np.isin(
        np.round(red.astype(np.float64), 4), np.round(source, 4)
    ).all()  # nearest: only source values


def test_landsat_c2l2_scale_and_qa_bits(tmp_path):
    clear = 21824  # bits 6, 8, 10, 12, 14: clear, low confidences
    qa = np.full((4, 4), clear, dtype=np.uint16)
    qa[0, 0] = 1  # fill
    qa[0, 1] = clear | 1 << 1  # dilated cloud
    qa[0, 2] = clear | 1 << 2  # cirrus
    qa[0, 3] = clear | 1 << 3  # cloud
    qa[1, 0] = clear | 1 << 4  # cloud shadow
    qa[1, 1] = clear | 1 << 5  # snow: kept by default
    qa[1, 2] = (clear & ~(1 << 6)) | 1 << 7  # water: kept
    sr = {n: np.full((4, 4), 8000 + 1000 * n, dtype=np.uint16) for n in range(1, 8)}
    sr[4][2, 2] = 10000
    sr[5][3, 3] = 0  # fill in NIR only
    folder = write_landsat_scene(tmp_path, sr, qa)
    scene = read_scene(folder)
    assert list(scene.data_vars) == [
        "coastal", "blue", "green", "red", "nir", "swir1", "swir2", "valid"
    ]  # fmt: skip
    assert scene["time"].values == np.datetime64("2025-01-20T03:52:41.279526", "ns")
    assert scene["red"].values[2, 2] == pytest.approx(10000 * 0.0000275 - 0.2, abs=1e-6)
    assert scene["nir"].values[2, 3] == pytest.approx(13000 * 0.0000275 - 0.2, abs=1e-6)
    expected_valid = np.ones((4, 4), bool)
    expected_valid[0, :] = False
    expected_valid[1, 0] = False
    expected_valid[3, 3] = False
    np.testing.assert_array_equal(scene["valid"].values, expected_valid)
    assert not read_scene(folder, ["red"], mask_snow=True)["valid"].values[1, 1]
    # the MTL file itself is also a valid source
    mtl = next(folder.glob("*_MTL.txt"))
    assert read_scene(mtl, ["red"])["red"].values[2, 2] == pytest.approx(0.075, abs=1e-6)


def test_drone_rgb_alpha_mask_and_scaling(tmp_path):
    rgb = np.zeros((3, 6, 6), np.uint8)
    rgb[0], rgb[1], rgb[2] = 51, 255, 102  # 0.2, 1.0, 0.4
    alpha = np.full((6, 6), 255, np.uint8)
    alpha[0, :] = 0
    path = write_drone_rgba(tmp_path / "segment_1.tif", rgb, alpha)
    scene = read_scene(path)
    assert list(scene.data_vars) == ["red", "green", "blue", "valid"]
    assert scene["time"].values == np.datetime64("2025-01-15T10:30:00", "ns")
    assert scene.rio.resolution() == (0.1, -0.1)
    assert scene["red"].values[3, 3] == pytest.approx(0.2, abs=1e-6)
    assert scene["green"].values[3, 3] == pytest.approx(1.0, abs=1e-6)
    assert scene["blue"].values[3, 3] == pytest.approx(0.4, abs=1e-6)
    np.testing.assert_array_equal(scene["valid"].values[0], np.zeros(6, bool))
    assert scene["valid"].values[1:].all()


def test_drone_multispectral_profile_and_custom_order(tmp_path):
    bands = np.stack([np.full((5, 5), 6553.5 * k, np.float64) for k in (1, 2, 3, 4, 5)])
    bands = np.round(bands).astype(np.uint16)  # 6554, 13107, 19660, 26214, 32768 (approx 0.1..0.5)
    bands[:, 0, 0] = 0  # nodata corner
    path = write_drone_ms5(tmp_path / "ms.tif", bands)
    scene = read_scene(path)  # auto: 5 bands -> multispectral5
    assert list(scene.data_vars) == ["blue", "green", "red", "rededge1", "nir", "valid"]
    assert scene["nir"].values[2, 2] == pytest.approx(32768 / 65535, abs=1e-6)
    assert scene["rededge1"].values[2, 2] == pytest.approx(26214 / 65535, abs=1e-6)
    assert not scene["valid"].values[0, 0] and scene["valid"].values[1:, 1:].all()
    custom = SensorProfile("reversed", ("nir", "rededge1", "red", "green", "blue"), scale=1e-5)
    reread = read_scene(DroneOrtho(path, custom, time="2025-01-16"), ["nir"])
    assert reread["nir"].values[2, 2] == pytest.approx(6554 * 1e-5, abs=1e-6)
    with pytest.raises(ImageryError, match="profile rgb lists 3 bands"):
        read_scene(DroneOrtho(path, "rgb"))


def test_read_season_sorts_and_skips_with_warnings(tmp_path):
    items = []
    for day, seed in (("2025-02-20", 3), ("2024-12-03", 4), ("2025-01-12", 5)):
        stamp = day.replace("-", "")
        folder = write_s2_folder(
            tmp_path, f"S2A_MSIL2A_{stamp}T040519_X", s2_arrays(seed=seed), start=f"{day}T04:05:19Z"
        )
        items.append(folder / f"{folder.name}.json")
    cloudy = s2_arrays(seed=6)
    cloudy["scl"][:] = 9
    items.append(write_s2_folder(tmp_path, "S2A_MSIL2A_20250101T040519_CLOUD", cloudy))
    far = write_s2_folder(tmp_path, "S2A_MSIL2A_20250105T040519_FAR", s2_arrays(), left=700000)
    items.append(far)
    grid = AnalysisGrid.from_bounds((LEFT, TOP - 80, LEFT + 80, TOP), "EPSG:32647", 10)
    with pytest.warns(UserWarning) as caught:
        season = read_season(items, grid, ["red", "nir"])
    messages = " ".join(str(w.message) for w in caught)
    assert "CLOUD" in messages and "no clear pixel" in messages
    assert "FAR" in messages and "does not intersect" in messages
    assert season["time"].dtype == np.dtype("datetime64[ns]")
    assert [str(t)[:10] for t in season["time"].values] == [
        "2024-12-03",
        "2025-01-12",
        "2025-02-20",
    ]
    assert season["red"].dims == ("time", "y", "x") and season["red"].shape == (3, 8, 8)
    expected = (s2_arrays(seed=4)["red"][0, 0] - 1000) / 10000
    assert season["red"].values[0, 0, 0] == pytest.approx(expected, abs=1e-6)
    assert season.rio.crs.to_epsg() == 32647


def test_stac_search_on_static_catalogue(tmp_path):
    catalog = pystac.Catalog(id="local", description="offline test catalogue")
    for day, cloud in (("2024-10-05", 80.0), ("2024-12-03", 5.0), ("2025-05-01", 1.0)):
        stamp = day.replace("-", "")
        folder = write_s2_folder(
            tmp_path / "scenes", f"S2A_{stamp}", s2_arrays(), start=f"{day}T04:05:19Z"
        )
        item_path = folder / f"S2A_{stamp}.json"
        payload = json.loads(item_path.read_text())
        payload["properties"]["eo:cloud_cover"] = cloud
        item_path.write_text(json.dumps(payload))
        item = pystac.Item.from_file(str(item_path))
        item.make_asset_hrefs_absolute()
        catalog.add_item(item)
    catalog.normalize_hrefs(str(tmp_path / "catalog"))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    west, south, east, north = transform_bounds(
        "EPSG:32647", "EPSG:4326", LEFT, TOP - 80, LEFT + 80, TOP
    )
    bbox = (west - 0.01, south - 0.01, east + 0.01, north + 0.01)
    found = search_scenes(
        tmp_path / "catalog" / "catalog.json", bbox, "2024-09-01", "2025-03-31", max_cloud_cover=20
    )
    assert [item.id for item in found] == ["S2A_20241203"]
    scene = read_scene(found[0], ["red"])
    assert scene["red"].shape == (8, 8)
    assert (
        search_scenes(
            tmp_path / "catalog" / "catalog.json", (10, 10, 11, 11), "2024-01-01", "2025-12-31"
        )
        == []
    )


# --- bad input -------------------------------------------------------------------


def test_missing_band_names_file_and_band(s2_folder):
    folder, _ = s2_folder
    with pytest.raises(ImageryError, match=r"rededge1.*not found"):
        read_scene(folder, ["red", "rededge1"])
    with pytest.raises(ImageryError, match=r"rededge1.*no asset"):
        read_scene(folder / f"{SCENE_ID}.json", ["rededge1"])
    with pytest.raises(ImageryError, match="unknown band name"):
        read_scene(folder, ["infrared"])


def test_corrupt_file_is_named(s2_folder):
    folder, _ = s2_folder
    red = folder / f"{SCENE_ID}_B04_10m.tif"
    red.write_bytes(b"II*\x00garbage, not a TIFF any more")
    with pytest.raises(ImageryError, match=r"B04_10m\.tif.*corrupt"):
        read_scene(folder, ["red"])


def test_truncated_file_fails_at_read_naming_file(tmp_path):
    arrays = _s2_known()
    arrays["red"] = np.random.default_rng(0).integers(1000, 9000, (600, 600), dtype=np.uint16)
    arrays["nir"] = arrays["red"].copy()
    arrays = {k: arrays[k] for k in ("red", "nir", "scl")}
    folder = write_s2_folder(tmp_path, SCENE_ID, arrays, with_stac=False)
    red = folder / f"{SCENE_ID}_B04_10m.tif"
    red.write_bytes(red.read_bytes()[: red.stat().st_size // 2])
    out = tmp_path / "out" / "red.tif"
    from geo.composite import write_cog

    with pytest.raises(ImageryError, match=r"B04_10m\.tif"):
        scene = read_scene(folder, ["red", "nir"], require_clear=False)
        write_cog(scene["red"], out)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # nothing half-written


def test_mismatched_crs_between_assets(s2_folder):
    folder, arrays = s2_folder
    write_tif(folder / f"{SCENE_ID}_B08_10m.tif", arrays["nir"], crs="EPSG:32648")
    with pytest.raises(ImageryError, match=r"different CRS.*B08_10m\.tif"):
        read_scene(folder, ["red", "nir"])


def test_scene_outside_grid_and_all_cloud_raise_for_single_scene(s2_folder, tmp_path):
    folder, arrays = s2_folder
    far = AnalysisGrid.from_bounds((0, 0, 100, 100), "EPSG:32647", 10)
    with pytest.raises(NoOverlapError, match=SCENE_ID):
        read_scene(folder, ["red"], far)
    cloudy = dict(arrays, scl=np.full_like(arrays["scl"], 8))
    cloud_folder = write_s2_folder(tmp_path / "c", SCENE_ID, cloudy)
    with pytest.raises(AllMaskedError, match="no clear pixel"):
        read_scene(cloud_folder, ["red"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageryError, match="no usable scene"):
            warnings.simplefilter("ignore")
            read_season([cloud_folder], far)


def test_unknown_source_kind(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(ImageryError, match="not a STAC item"):
        read_scene(tmp_path / "notes")
    with pytest.raises(ImageryError, match="no such file"):
        read_scene(tmp_path / "missing.tif")
    bad_json = tmp_path / "item.json"
    bad_json.write_text("{not json", encoding="utf-8")
    with pytest.raises(ImageryError, match="not a readable STAC item"):
        read_scene(bad_json)
    shutil.rmtree(tmp_path / "notes")


def test_chunks_follow_chunk_px(s2_folder):
    folder, _ = s2_folder
    scene = read_scene(folder, ["red"], chunk_px=3)
    assert scene["red"].chunks == ((3, 3, 2), (3, 3, 2))
    full = read_scene(folder, ["red"])
    np.testing.assert_array_equal(scene["red"].values, full["red"].values)


def test_stac_item_without_raster_bands_uses_sensor_scaling(s2_folder):
    folder, _ = s2_folder
    item_path = folder / f"{SCENE_ID}.json"
    payload = json.loads(item_path.read_text())
    for asset in payload["assets"].values():
        asset.pop("raster:bands")
    item_path.write_text(json.dumps(payload))
    with pytest.warns(UserWarning, match=r"no raster scale/offset declared: DN / 10000 -0.1"):
        scene = read_scene(item_path, ["red"])
    assert scene["red"].values[4, 4] == pytest.approx(0.25, abs=1e-6)


def test_landsat_stac_item_qa_pixel_and_nir08(tmp_path):
    sr = {n: np.full((3, 3), 20000, dtype=np.uint16) for n in (4, 5)}
    qa = np.full((3, 3), 21824, dtype=np.uint16)
    qa[1, 1] = 21824 | 1 << 3  # cloud
    folder = write_landsat_scene(tmp_path, sr, qa)
    files = {p.name.rsplit("_", 1)[-1]: p.name for p in folder.iterdir()}
    raster = [{"data_type": "uint16", "nodata": 0, "scale": 2.75e-05, "offset": -0.2}]
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": folder.name,
        "bbox": [99.9, 19.8, 100.0, 19.9],
        "geometry": {"type": "Point", "coordinates": [99.95, 19.85]},
        "properties": {"datetime": "2025-01-20T03:52:41Z", "platform": "landsat-9"},
        "links": [],
        "assets": {
            "red": {
                "href": files["B4.TIF"],
                "eo:bands": [{"name": "SR_B4", "common_name": "red"}],
                "raster:bands": raster,
            },
            "nir08": {
                "href": files["B5.TIF"],
                "eo:bands": [{"name": "SR_B5", "common_name": "nir08"}],
                "raster:bands": raster,
            },
            "qa_pixel": {"href": "./" + next(p for p in files.values() if "QA_PIXEL" in p)},
        },
    }
    item_path = folder / "item.json"
    item_path.write_text(json.dumps(item))
    scene = read_scene(item_path)
    assert list(scene.data_vars) == ["red", "nir", "valid"]
    assert scene["nir"].values[0, 0] == pytest.approx(20000 * 2.75e-5 - 0.2, abs=1e-6)
    assert not scene["valid"].values[1, 1] and scene["valid"].values.sum() == 8


@pytest.mark.parametrize("shift_px", [0, 1, 3])
def test_20m_band_on_10m_grid_matches_gdal_nearest(s2_folder, shift_px):
    """The windowed-read + repeat path gives what GDAL's nearest warp gives."""
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    folder, _ = s2_folder
    left = LEFT - 10 * shift_px  # grid starts west of the scene, on a 10 m edge
    grid = AnalysisGrid.from_bounds((left, TOP - 70, left + 70, TOP), "EPSG:32647", 10)
    scene = read_scene(folder, ["swir1"], grid, chunk_px=3)
    swir_path = folder / f"{SCENE_ID}_B11_20m.tif"
    expected = np.zeros(grid.shape, np.float32)
    with rasterio.open(swir_path) as src:
        reproject(
            rasterio.band(src, 1),
            expected,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=0,
            resampling=Resampling.nearest,
        )
    expected = np.where(expected > 0, (expected - 1000) / 10000, np.nan)
    got = scene["swir1"].values
    seen = scene["valid"].values
    np.testing.assert_allclose(got[seen], expected[seen], atol=1e-6)
    assert np.isnan(expected[:, :shift_px]).all() and not seen[:, :shift_px].any()
    bilinear = read_scene(folder, ["swir1"], grid, resampling=Resampling.bilinear)
    assert np.nanmin(bilinear["swir1"].values) >= np.nanmin(expected) - 1e-6


def test_season_mixes_sentinel2_and_landsat_on_one_grid(s2_folder, tmp_path):
    folder, arrays = s2_folder
    sr = {n: np.full((3, 3), 20000, dtype=np.uint16) for n in range(1, 8)}  # 30 m pixels
    sr[4][1, 1] = 12000
    qa = np.full((3, 3), 21824, dtype=np.uint16)
    landsat = write_landsat_scene(tmp_path / "landsat", sr, qa, date="2025-01-05")
    grid = AnalysisGrid.from_bounds((LEFT, TOP - 80, LEFT + 80, TOP), "EPSG:32647", 10)
    season = read_season([folder, landsat], grid)
    # common bands only: Landsat has no S2 red-edge, S2 fixture has no coastal band
    assert [v for v in season.data_vars] == [
        "blue", "green", "red", "nir", "swir1", "swir2", "valid"
    ]  # fmt: skip
    assert [str(t)[:10] for t in season["time"].values] == ["2025-01-05", "2025-01-12"]
    # 10 m pixel (4, 4) lies in Landsat 30 m pixel (1, 1)
    assert season["red"].values[0, 4, 4] == pytest.approx(12000 * 2.75e-5 - 0.2, abs=1e-6)
    assert season["red"].values[0, 2, 2] == pytest.approx(20000 * 2.75e-5 - 0.2, abs=1e-6)
    assert season["red"].values[1, 4, 4] == pytest.approx(0.25, abs=1e-6)
    assert list(season["source"].values) == [str(landsat), str(folder)]


def test_reads_the_demo_generator_layout(tmp_path):
    """The synthetic region's scenes read the same from their STAC items and folders."""
    synthetic = pytest.importorskip("synthetic")
    region = synthetic.build_demo_region(tmp_path / "demo", size=(64, 64))
    items = region.scenes[min(region.scenes)]
    first = read_scene(items[0])
    folder = read_scene(items[0].parent)
    for band in ("blue", "red", "nir", "swir1", "swir2"):
        np.testing.assert_array_equal(first[band].values, folder[band].values)
    with rasterio.open(items[0].parent / f"{items[0].stem}_B04_10m.tif") as src:
        dn = src.read(1).astype(np.float64)
    seen = first["valid"].values
    np.testing.assert_allclose(first["red"].values[seen], ((dn - 1000) / 10000)[seen], atol=1e-6)
    grid = AnalysisGrid.from_bounds(first.rio.bounds(), first.rio.crs, 10)
    season = read_season(items, grid)
    assert season.sizes["time"] == len(items)
    assert np.all(np.diff(season["time"].values) > np.timedelta64(0, "s"))


def test_s2_plain_band_file_names_without_mtd_take_the_baseline_from_the_name(tmp_path):
    arrays = _s2_known()
    folder = tmp_path / "S2B_MSIL2A_20250112T040519_N0511_R004_T47QNA_20250112T071523"
    write_tif(folder / "B04.tif", arrays["red"])
    write_tif(folder / "B08.tif", arrays["nir"])
    write_tif(folder / "SCL.tif", arrays["scl"], res=20)
    with pytest.warns(UserWarning, match="no MTD_MSIL2A.xml.*-1000 assumed for baseline 05.11"):
        scene = read_scene(folder)
    assert any("baseline 05.11" in text for text in scene.attrs["assumptions"])
    assert set(scene.data_vars) == {"red", "nir", "valid"}
    assert scene["time"].values == np.datetime64("2025-01-12T04:05:19", "ns")
    assert scene["red"].values[4, 4] == pytest.approx(0.25, abs=1e-6)
    np.testing.assert_array_equal(~scene["valid"].values, _expected_invalid_10m())


def test_near_square_geotiff_reads_on_its_own_grid_and_non_square_names_the_file(tmp_path):
    """A 3-band uint8 GeoTIFF with the pixel size of rasterio's RGB.byte.tif (300.038 x 300.042 m)."""
    rgb = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5) + 1
    path = tmp_path / "RGB.byte.tif"
    profile = dict(driver="GTiff", width=5, height=4, count=3, dtype="uint8", crs="EPSG:32618")
    transform = rasterio.Affine(300.0379266750948, 0.0, 101985.0, 0.0, -300.041782729805, 2826915.0)
    with rasterio.open(path, "w", transform=transform, **profile) as dst:
        dst.write(rgb)
    scene = read_scene(DroneOrtho(path, profile="rgb"), require_clear=False)
    assert scene.rio.resolution()[0] == pytest.approx(300.0379266750948)
    assert scene["red"].values[2, 3] == pytest.approx(rgb[0, 2, 3] / 255, abs=1e-4)
    squashed = tmp_path / "squashed.tif"
    with rasterio.open(
        squashed, "w", transform=rasterio.Affine(300, 0, 101985, 0, -150, 2826915), **profile
    ) as dst:
        dst.write(rgb)
    with pytest.raises(
        ImageryError, match=r"squashed.tif: cannot be read on its own grid.*300 x 150"
    ):
        read_scene(DroneOrtho(squashed, profile="rgb"), require_clear=False)
