"""Zonal class area (exact fractions, true pixel area) and the stratified reference sample."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from pyproj import Geod
from shapely.geometry import Polygon, box

import geo.estimation.design as sampling_module
from core.errors import InvalidInputError
from geo.estimation import (
    combine_zone_class_rows,
    draw_reference_sample,
    row_pixel_area_m2,
    zonal_class_area,
    zone_class_rows,
)

UTM = "EPSG:32647"
X0, Y0, PIXEL_M = 500_000.0, 2_000_000.0, 10.0


def class_raster(codes: np.ndarray, transform: Affine, crs: str, nodata: int | None = 0):
    height, width = codes.shape
    xs = transform.c + transform.a * (np.arange(width) + 0.5)
    ys = transform.f + transform.e * (np.arange(height) + 0.5)
    data = xr.DataArray(codes, dims=("y", "x"), coords={"y": ys, "x": xs}, name="classes")
    data = data.rio.write_crs(crs).rio.write_transform(transform)
    return data if nodata is None else data.rio.write_nodata(nodata)


@pytest.fixture
def split_map():
    """100 x 100 pixels of 10 m: class 1 west of x = 500 300 m, class 3 east of it."""
    codes = np.full((100, 100), 3, dtype="uint8")
    codes[:, :30] = 1
    return class_raster(codes, Affine(PIXEL_M, 0, X0, 0, -PIXEL_M, Y0), UTM)


def zones_of(*geoms, crs=UTM, ids=None):
    ids = ids or [f"D{i + 1:02d}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"district_id": ids}, geometry=list(geoms), crs=crs)


def test_zonal_area_matches_shapely_areas_of_irregular_polygons(split_map):
    # Polygons cut pixels at arbitrary angles; exact fractions make areas equal to geometry.
    west = box(X0, Y0 - 1000, X0 + 300, Y0)
    triangle = Polygon([(X0 + 13.7, Y0 - 21.3), (X0 + 812.4, Y0 - 95.1), (X0 + 402.2, Y0 - 903.9)])
    quad = Polygon([(X0 + 555.5, Y0 - 444.4), (X0 + 987.6, Y0 - 512.3),
                    (X0 + 901.1, Y0 - 988.8), (X0 + 600.3, Y0 - 950.0)])  # fmt: skip
    zones = zones_of(triangle, quad)
    table = zonal_class_area(split_map, zones, "district_id")
    assert list(table.columns) == ["district_id", "class", "area_ha"]
    for zone_id, geom in zip(zones["district_id"], zones.geometry, strict=True):
        got = table[table["district_id"] == zone_id].set_index("class")["area_ha"]
        assert got[1] == pytest.approx(geom.intersection(west).area / 1e4, rel=1e-9, abs=1e-9)
        assert got[3] == pytest.approx(geom.difference(west).area / 1e4, rel=1e-9)
    # the quad lies wholly east: explicit zero row for class 1, not a missing row
    assert table.query("district_id == 'D02' and `class` == 1")["area_ha"].item() == 0.0


def test_batches_of_zones_combine_to_the_whole_table(split_map, caplog):
    # Batches run as parallel tasks: a batch that sees only class 3, a batch off the map,
    # and one in the west must give exactly the all-at-once table, zero rows included.
    zones = zones_of(
        box(X0 + 400, Y0 - 500, X0 + 900, Y0),
        box(X0 - 900, Y0 - 500, X0 - 400, Y0),
        box(X0, Y0 - 1000, X0 + 250, Y0 - 10),
        box(X0 + 100.5, Y0 - 700.2, X0 + 650.7, Y0 - 100.1),
    )
    whole = zonal_class_area(split_map, zones, "district_id")
    batches = [zones.iloc[[0]], zones.iloc[[1]], zones.iloc[2:]]
    parts = [zone_class_rows(split_map, batch, "district_id") for batch in batches]
    assert parts[1].empty
    assert sorted(parts[0]["class"]) == [3]
    combined = combine_zone_class_rows(parts, zones, "district_id")
    assert combined.equals(whole)
    assert "D02" in caplog.text
    with pytest.raises(InvalidInputError, match="no valid"):
        combine_zone_class_rows([parts[1]], zones.iloc[[1]], "district_id")


def test_zones_in_another_crs_are_reprojected(split_map):
    zone_utm = box(X0 + 100, Y0 - 600, X0 + 600, Y0 - 100)
    zones_wgs84 = zones_of(zone_utm).to_crs("EPSG:4326")
    table = zonal_class_area(split_map, zones_wgs84, "district_id")
    assert table["area_ha"].sum() == pytest.approx(25.0, rel=1e-4)  # 500 m x 500 m
    assert table.set_index("class")["area_ha"][1] == pytest.approx(10.0, rel=1e-3)


def test_geodesic_pixel_area_matches_pyproj_geod():
    geod = Geod(ellps="WGS84")
    for lat_top in (0.3, 21.7, 59.9):
        transform = Affine(0.0001, 0, 98.0, 0, -0.0001, lat_top)
        per_row = row_pixel_area_m2(transform, 3, "EPSG:4326")
        for row in range(3):
            top, bottom = lat_top - row * 1e-4, lat_top - (row + 1) * 1e-4
            cell_area, _ = geod.polygon_area_perimeter(
                [98.0, 98.0001, 98.0001, 98.0], [top, top, bottom, bottom]
            )
            assert per_row[row] == pytest.approx(abs(cell_area), rel=1e-6)


def test_zonal_area_in_geographic_crs_is_not_degree_count():
    # 0.001 deg pixels at 60 N: a nominal 111.32 km/deg square overstates area ~2x.
    codes = np.ones((50, 50), dtype="uint8")
    transform = Affine(0.001, 0, 25.0, 0, -0.001, 60.05)
    class_map = class_raster(codes, transform, "EPSG:4326")
    zone = box(25.0, 60.0, 25.05, 60.05)
    table = zonal_class_area(class_map, zones_of(zone, crs="EPSG:4326"), "district_id")
    geodesic_m2, _ = Geod(ellps="WGS84").polygon_area_perimeter(
        [25.0, 25.05, 25.05, 25.0], [60.05, 60.05, 60.0, 60.0]
    )
    # geodesic vs parallel edges differ by < 1e-4 over 5 km
    assert table["area_ha"].sum() == pytest.approx(abs(geodesic_m2) / 1e4, rel=1e-4)
    nominal_ha = 2500 * (0.001 * 111_320) ** 2 / 1e4
    assert nominal_ha / table["area_ha"].sum() > 1.9


def test_zonal_area_reads_a_geotiff_file(tmp_path, split_map):
    path = tmp_path / "classes.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=100, height=100, count=1, dtype="uint8",
        crs=UTM, transform=split_map.rio.transform(), nodata=0, tiled=True,
        blockxsize=32, blockysize=32, compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(split_map.values, 1)
    zones_path = tmp_path / "districts.gpkg"
    zones_of(box(X0, Y0 - 1000, X0 + 1000, Y0)).to_file(zones_path, layer="districts")
    table = zonal_class_area(path, zones_path, "district_id")
    assert table.set_index("class")["area_ha"].to_dict() == pytest.approx({1: 30.0, 3: 70.0})


def test_nodata_pixels_are_not_area(split_map):
    codes = split_map.values.copy()
    codes[:10, :] = 0  # top 100 m: no data
    class_map = class_raster(codes, split_map.rio.transform(), UTM)
    table = zonal_class_area(class_map, zones_of(box(X0, Y0 - 1000, X0 + 1000, Y0)), "district_id")
    assert table["area_ha"].sum() == pytest.approx(90.0)
    assert 0 not in set(table["class"])


def test_map_without_nodata_value_uses_legend_zero(split_map):
    codes = split_map.values.copy()
    codes[:, -10:] = 0
    class_map = class_raster(codes, split_map.rio.transform(), UTM, nodata=None)
    table = zonal_class_area(class_map, zones_of(box(X0, Y0 - 1000, X0 + 1000, Y0)), "district_id")
    assert table["area_ha"].sum() == pytest.approx(90.0)


def test_all_nodata_map_is_a_clear_error(split_map):
    empty = class_raster(np.zeros((100, 100), "uint8"), split_map.rio.transform(), UTM)
    with pytest.raises(InvalidInputError, match="no valid"):
        zonal_class_area(empty, zones_of(box(X0, Y0 - 500, X0 + 500, Y0)), "district_id")
    with pytest.raises(InvalidInputError, match="no valid pixel"):
        draw_reference_sample(empty, zones_of(box(X0, Y0 - 500, X0 + 500, Y0)), "district_id",
                              n_per_stratum=5, seed=0)  # fmt: skip


def test_zones_off_the_raster(split_map):
    far = box(X0 + 50_000, Y0 - 500, X0 + 51_000, Y0)
    with pytest.raises(InvalidInputError, match="no zone overlaps"):
        zonal_class_area(split_map, zones_of(far), "district_id")
    # one zone on, one off: explicit zero rows for the one off the map
    on_map = box(X0, Y0 - 100, X0 + 1000, Y0)
    table = zonal_class_area(split_map, zones_of(on_map, far), "district_id")
    off = table[table["district_id"] == "D02"]
    assert len(off) == 2 and (off["area_ha"] == 0).all()


def test_missing_or_unreadable_map_files(tmp_path, split_map):
    zones = zones_of(box(X0, Y0 - 500, X0 + 500, Y0))
    with pytest.raises(InvalidInputError, match="does not exist"):
        zonal_class_area(tmp_path / "nope.tif", zones, "district_id")
    broken = tmp_path / "classes.tif"
    broken.write_text("not a GeoTIFF")
    with pytest.raises(InvalidInputError, match="cannot be read"):
        zonal_class_area(broken, zones, "district_id")


@pytest.mark.parametrize(
    ("change", "words"),
    [("no_id", "no column 'district_id'"), ("float", "integers"), ("no_crs", "no CRS")],
)
def test_malformed_inputs(split_map, change, words):
    zones = zones_of(box(X0, Y0 - 500, X0 + 500, Y0))
    class_map = split_map
    if change == "no_id":
        zones = zones.rename(columns={"district_id": "code"})
    elif change == "float":
        class_map = split_map.astype("float32")
    else:
        zones = zones.set_crs(None, allow_override=True)
    with pytest.raises(InvalidInputError, match=words):
        zonal_class_area(class_map, zones, "district_id")


@pytest.fixture
def patchwork():
    """60 x 80 map with four classes, two zones split at x = 400 m, class 2 only 7 pixels."""
    rng = np.random.default_rng(3)
    codes = rng.choice(np.array([1, 3, 4], dtype="uint8"), size=(60, 80), p=[0.1, 0.4, 0.5])
    codes[5, 10:17] = 2
    return class_raster(codes, Affine(PIXEL_M, 0, X0, 0, -PIXEL_M, Y0), UTM)


def _values_at(class_map, points):
    transform = class_map.rio.transform()
    cols = (points.x.to_numpy() - transform.c) / transform.a
    rows = (points.y.to_numpy() - transform.f) / transform.e
    return class_map.values[rows.astype(int), cols.astype(int)]


@pytest.mark.parametrize("window_px", [1024, 16])
def test_reference_sample_is_stratified_and_valid(patchwork, monkeypatch, window_px):
    monkeypatch.setattr(sampling_module, "WINDOW_PX", window_px)  # several windows per map
    zones = zones_of(box(X0, Y0 - 600, X0 + 400, Y0), box(X0 + 400, Y0 - 600, X0 + 800, Y0))
    sample = draw_reference_sample(patchwork, zones, "district_id", n_per_stratum=12, seed=5)
    assert list(sample.columns[:3]) == ["sample_id", "district_id", "map_class"]
    assert sample.crs == UTM
    assert sample["sample_id"].is_unique
    assert (_values_at(patchwork, sample.geometry) == sample["map_class"]).all()
    joined = gpd.sjoin(sample, zones, predicate="within")
    assert (joined["district_id_left"] == joined["district_id_right"]).all()
    assert not sample.geometry.duplicated().any()
    counts = sample.groupby(["district_id", "map_class"]).size()
    west = patchwork.values[:, :40]
    for (zone, code), n in counts.items():
        pixels = int(((west if zone == "D01" else patchwork.values[:, 40:]) == code).sum())
        assert n == min(12, pixels)
    # the 7 cannabis pixels all lie in D01: taken whole, inclusion probability 1
    cannabis = sample[sample["map_class"] == 2]
    assert len(cannabis) == 7 and (cannabis["inclusion_probability"] == 1).all()
    assert (cannabis["stratum_pixels"] == 7).all()


def test_reference_sample_seed_and_allocation(patchwork):
    zones = zones_of(box(X0, Y0 - 600, X0 + 800, Y0))
    first = draw_reference_sample(patchwork, zones, "district_id", n_per_stratum=10, seed=1)
    again = draw_reference_sample(patchwork, zones, "district_id", n_per_stratum=10, seed=1)
    other = draw_reference_sample(patchwork, zones, "district_id", n_per_stratum=10, seed=2)
    assert first.geometry.equals(again.geometry)
    assert not first.geometry.equals(other.geometry)
    sized = draw_reference_sample(
        patchwork, zones, "district_id", n_per_stratum={1: 20, 3: 5, 4: 5}, seed=1
    )
    assert sized.groupby("map_class").size().to_dict() == {1: 20, 3: 5, 4: 5}


def test_reference_sample_is_uniform_within_a_stratum(patchwork):
    # Each class-1 pixel has the same inclusion probability: over many seeds the first
    # and second halves of the stratum (row-major) are drawn equally often.
    zones = zones_of(box(X0, Y0 - 600, X0 + 800, Y0))
    top_half = []
    for seed in range(60):
        sample = draw_reference_sample(patchwork, zones, "district_id",
                                       n_per_stratum={1: 10}, seed=seed)  # fmt: skip
        top_half.append((sample.geometry.y > Y0 - 300).mean())
    share_top = (patchwork.values[:30] == 1).sum() / (patchwork.values == 1).sum()
    assert np.mean(top_half) == pytest.approx(share_top, abs=0.04)


def test_a_class_map_file_is_measured_by_exactextract_on_the_file(tmp_path, monkeypatch):
    """Same hectares to 1e-9 as through the dask-backed raster, and exactextract gets the path."""
    import geo.estimation.map_area as map_area

    rng = np.random.default_rng(3)
    codes = rng.choice(np.array([0, 1, 2, 3, 7], dtype="uint8"), size=(300, 260))
    transform = Affine(PIXEL_M, 0, X0, 0, -PIXEL_M, Y0)
    path = tmp_path / "classes.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=260, height=300, count=1, dtype="uint8",
        crs=UTM, transform=transform, nodata=0, tiled=True, blockxsize=128, blockysize=128,
    ) as dst:  # fmt: skip
        dst.write(codes, 1)
    zones = zones_of(
        Polygon([(X0 + 13.7, Y0 - 21.3), (X0 + 2212.4, Y0 - 95.1), (X0 + 902.2, Y0 - 2903.9)]),
        box(X0 + 1500.5, Y0 - 2999.0, X0 + 2650.0, Y0 - 1200.3),  # past the raster's east edge
        box(X0 - 500, Y0 - 800, X0 + 401.9, Y0 - 333.3),
    )
    sources = []
    original = map_area.exact_extract
    monkeypatch.setattr(
        map_area,
        "exact_extract",
        lambda raster, *a, **k: sources.append(raster) or original(raster, *a, **k),
    )
    from_file = zone_class_rows(path, zones, "district_id")
    through_dask = zone_class_rows(rioxarray_open(path), zones, "district_id")
    assert isinstance(sources[0], str) and not isinstance(sources[1], str)
    assert len(from_file) == len(through_dask) > 6
    merged = from_file.merge(through_dask, on=["district_id", "class"], suffixes=("", "_dask"))
    assert len(merged) == len(from_file)
    np.testing.assert_allclose(merged["area_ha"], merged["area_ha_dask"], rtol=0, atol=1e-9)
    # and against geometry: the valid pixels' hectares never exceed the zone's area
    inside = zones.set_index("district_id").geometry.intersection(box(X0, Y0 - 3000, X0 + 2600, Y0))
    for zone_id, part in from_file.groupby("district_id"):
        assert part["area_ha"].sum() <= inside[zone_id].area / 1e4 + 1e-9


def rioxarray_open(path):
    import rioxarray

    return rioxarray.open_rasterio(path, chunks={"x": 128, "y": 128}).squeeze("band", drop=True)
