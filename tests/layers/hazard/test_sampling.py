"""Sampling a hazard: depth and class per building, along lines, at points, in zones; flooded share."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

from layers.hazard.sampling import class_at_points, depth_at_points, geometry_hazard, max_depth_along_lines
from layers.hazard.sources import HazardRaster, HazardZones, open_hazard
from tests.helpers import UTM, write_raster


@pytest.fixture
def grid4(tmp_path):
    """4×4 cells of 1 m, origin (0, 4); depth = row*0.5 + col*0.1, one nodata cell at row 0 col 3."""
    r, c = np.mgrid[0:4, 0:4]
    values = r * 0.5 + c * 0.1
    values[0, 3] = -9999
    return open_hazard(write_raster(tmp_path / "d.tif", values))


def test_building_depth_class_and_share(grid4):
    """Max depth over touched cells; class of the deepest; flooded share exact on a part-flooded footprint."""
    b = gpd.GeoSeries(
        [
            box(0.5, 0.5, 1.5, 1.5),  # rows 2-3, cols 0-1: max = 1.5 + 0.1
            box(0.2, 3.2, 0.8, 3.8),  # row 0 col 0: depth 0 -> not affected
            box(3.2, 3.2, 3.8, 3.8),  # nodata cell only
            box(0.5, 3.5, 1.5, 3.9),
        ],  # row 0: cells 0 (0.0) and 1 (0.1): half in 'low'
        crs=UTM,
    )
    res = geometry_hazard(b, grid4, share=True)
    assert res["depth_max_m"].tolist()[:2] == pytest.approx([1.6, 0.0])
    assert np.isnan(res["depth_max_m"][2])
    assert res["hazard_class"].tolist() == [2, -1, -1, 0]
    assert res["flooded_share"].tolist() == pytest.approx([1.0, 0.0, 0.0, 0.5])


def test_class_bounds_are_lower_inclusive(tmp_path):
    """0.1 is low, 0.7 is medium, 1.5 is high, 0.0999 is nothing."""
    h = open_hazard(write_raster(tmp_path / "b.tif", [[0.0999, 0.1, 0.7, 1.5]]))
    pts = gpd.GeoSeries([Point(c + 0.5, 0.5) for c in range(4)], crs=UTM)
    assert class_at_points(pts, h).tolist() == [-1, 0, 1, 2]
    assert depth_at_points(pts, h) == pytest.approx([0.0999, 0.1, 0.7, 1.5], abs=1e-6)


def test_geographic_raster_and_projected_buildings(tmp_path):
    """Buildings in UTM are placed on a EPSG:4326 grid by reprojecting the buildings, not the grid."""
    t = from_origin(106.80, -6.10, 0.001, 0.001)
    values = np.zeros((10, 10))
    values[4, 6] = 2.0
    h = open_hazard(write_raster(tmp_path / "g.tif", values, transform=t, crs="EPSG:4326"))
    centre = gpd.GeoSeries([Point(106.8065, -6.1045)], crs="EPSG:4326").to_crs(UTM)
    b = gpd.GeoSeries([centre.iloc[0].buffer(10), centre.iloc[0].buffer(10).buffer(0).centroid.buffer(1)], crs=UTM)
    res = geometry_hazard(b, h)
    assert res["hazard_class"].tolist() == [2, 2]


def test_max_depth_along_lines(grid4):
    lines = gpd.GeoSeries(
        [LineString([(0.5, 0.5), (0.5, 3.5)]), LineString([(0.2, 3.5), (2.5, 3.5)]), LineString([(10, 10), (11, 11)])],
        crs=UTM,
    )
    got = max_depth_along_lines(lines, grid4)
    assert got[:2] == pytest.approx([1.5, 0.2])
    assert np.isnan(got[2])


def test_vector_zones_text_classes(tmp_path):
    """FLOODPRONE YES/yes/NO mixed case: 'wet:yes' matches case-insensitively; touching borders do not count."""
    zones = gpd.GeoDataFrame(
        {"FLOODPRONE": ["YES", "no", "yes"]}, geometry=[box(0, 0, 2, 2), box(2, 0, 4, 2), box(10, 10, 12, 12)], crs=UTM
    )
    zones.to_file(tmp_path / "z.gpkg")
    h = open_hazard(tmp_path / "z.gpkg", classes="wet:yes", field="FLOODPRONE")
    assert isinstance(h, HazardZones)
    assert len(h.zones) == 2
    b = gpd.GeoSeries([box(1, 1, 3, 1.5), box(2, 0, 3, 1), box(11, 11, 13, 13)], crs=UTM)
    res = geometry_hazard(b, h, share=True)
    assert res["hazard_class"].tolist() == [0, -1, 0]
    assert res["flooded_share"].tolist() == pytest.approx([0.5, 0.0, 0.25])
    assert np.isinf(max_depth_along_lines(gpd.GeoSeries([LineString([(1, 1), (3, 1)])], crs=UTM), h)[0])


def test_vector_zones_numeric_depth(tmp_path):
    """Numeric zone values are depths: the most severe overlapping zone wins."""
    zones = gpd.GeoDataFrame(
        {"depth": [0.5, 2.0, 0.05]}, geometry=[box(0, 0, 4, 4), box(1, 1, 2, 2), box(5, 5, 6, 6)], crs=UTM
    )
    zones.to_file(tmp_path / "z.gpkg")
    h = open_hazard(tmp_path / "z.gpkg", field="depth")
    res = geometry_hazard(gpd.GeoSeries([box(1.5, 1.5, 3, 3), box(3, 3, 3.5, 3.5)], crs=UTM), h)
    assert res["hazard_class"].tolist() == [2, 0]
    assert res["depth_max_m"].tolist() == [2.0, 0.5]
    polys = h.class_polygons()
    assert polys.area.sum() == pytest.approx(16.0)  # no double counting where zones overlap


def test_sobek_grid_in_epsg23834(shared_data, sample_area_dir):
    """The Sobek forecast (EPSG:23834, 200 m) opens; Jakarta buildings (UTM) land on it and some are wet."""
    h = open_hazard(shared_data / "jakarta" / "sobek_forecast_6h.tif")
    assert isinstance(h, HazardRaster)
    assert h.crs.to_epsg() == 23834
    b = gpd.read_file(sample_area_dir / "buildings.gpkg")
    res = geometry_hazard(b.geometry, h)
    with rasterio.open(h.path) as src:
        grid = src.read(1).astype(float)
    assert 0 < (res["hazard_class"] >= 0).sum() < len(b)
    assert np.nanmax(res["depth_max_m"]) <= grid.max() + 1e-9


def test_jakarta_building_classes_match_exactextract(shared_data):
    """jakarta_building.gpkg × jakarta_continuous_flood.tif: our all-touched max depth equals
    exactextract's max over cells with coverage > 0, for every building."""
    from exactextract import exact_extract

    path = shared_data / "jakarta" / "jakarta_continuous_flood.tif"
    b = gpd.read_file(shared_data / "jakarta" / "jakarta_building.gpkg")
    h = open_hazard(path)
    ours = geometry_hazard(b.geometry, h)
    ref = exact_extract(str(path), b.to_crs(h.crs), ["max"], output="pandas")["max"].to_numpy(float)
    both = ~np.isnan(ref) & ~np.isnan(ours["depth_max_m"].to_numpy())
    assert both.sum() > 7000
    np.testing.assert_allclose(ours["depth_max_m"].to_numpy()[both], ref[both], rtol=0, atol=1e-6)
    counts = np.bincount(ours["hazard_class"].to_numpy() + 1, minlength=4)
    ref_counts = np.bincount(h.classes.classify(ref) + 1, minlength=4)
    assert counts.tolist() == ref_counts.tolist()
    assert counts.sum() == 7689
    assert counts[1:].sum() > 3000


def test_classified_grid(tmp_path):
    """A grid of class codes (0 dry, 1 low, 2 medium, 3 high; int16 with nodata) classified by code ranges."""
    codes = np.array([[0, 1], [2, 3]], dtype=np.int16)
    path = tmp_path / "codes.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="int16",
        crs=UTM,
        transform=from_origin(0, 2, 1, 1),
        nodata=-1,
    ) as dst:
        dst.write(codes, 1)
    h = open_hazard(path, classes="low:1-2,medium:2-3,high:3-4")
    pts = gpd.GeoSeries([Point(0.5, 1.5), Point(1.5, 1.5), Point(0.5, 0.5), Point(1.5, 0.5)], crs=UTM)
    assert class_at_points(pts, h).tolist() == [-1, 0, 1, 2]
    assert geometry_hazard(gpd.GeoSeries([box(0.5, 0.5, 1.5, 1.5)], crs=UTM), h)["hazard_class"].tolist() == [2]


def test_jakarta_flooded_share_matches_exactextract(shared_data, tmp_path):
    """flooded_share equals exactextract's coverage-weighted mean of a flooded/dry mask, building by building."""
    from exactextract import exact_extract

    path = shared_data / "jakarta" / "jakarta_continuous_flood.tif"
    h = open_hazard(path)
    with rasterio.open(path) as src:
        profile = src.profile | {"dtype": "float32", "nodata": -1}
        mask = np.where(h.class_grid() >= 0, 1.0, 0.0).astype("float32")
        mask[np.isnan(h.read())] = -1
    with rasterio.open(tmp_path / "wet.tif", "w", **profile) as dst:
        dst.write(mask, 1)
    b = gpd.read_file(shared_data / "jakarta" / "jakarta_building.gpkg").to_crs(h.crs)
    ours = geometry_hazard(b.geometry, h, share=True)["flooded_share"].to_numpy()
    ee = exact_extract(str(tmp_path / "wet.tif"), b, ["mean", "count"], output="pandas")
    ref = ee["mean"].to_numpy(float)
    # exactextract leaves nodata out of the mean; ours is a share of the whole footprint: compare where all is data.
    cell = abs(h.transform.a * h.transform.e)
    ok = ~np.isnan(ref) & (ee["count"].to_numpy(float) * cell >= shapely.area(b.geometry.to_numpy()) * (1 - 1e-6))
    assert ok.sum() > 7000
    assert 0.05 < (ours[ok] % 1 > 0).mean() < 0.95
    np.testing.assert_allclose(ours[ok], ref[ok], atol=1e-6)


def test_flooded_share_of_a_comb(tmp_path):
    """Two prongs in one cell (two strip pieces) count that cell's area once: share = 1.15 / 1.4."""
    h = open_hazard(write_raster(tmp_path / "w.tif", [[1.0, 0.0], [1.0, 0.0]], transform=from_origin(0, 2, 1, 1)))
    comb = shapely.union_all([box(0.2, 0, 1.5, 0.5), box(0.2, 0.5, 0.4, 2), box(0.6, 0.5, 0.9, 2)])
    res = geometry_hazard(gpd.GeoSeries([comb], crs=UTM), h, share=True)
    assert res["hazard_class"].tolist() == [1]
    assert res["flooded_share"][0] == pytest.approx(1.15 / 1.4)
