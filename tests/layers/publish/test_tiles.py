"""GeoJSON tiles: each feature in exactly one tile, simplified, clustered when a tile holds too many."""

import json
import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from layers.errors import InvalidInputError
from layers.publish.tiles import EARTH_HALF, TileIndex, collection_json, pixel_m, tile_bounds


def _tile_of(lon, lat, z):
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _points(n=10, seed=1):
    rng = np.random.default_rng(seed)
    lon = 106.80 + rng.random(n) * 0.01
    lat = -6.20 + rng.random(n) * 0.01
    return gpd.GeoDataFrame(
        {
            "fid": np.arange(100, 100 + n),
            "category": np.where(np.arange(n) % 3 == 0, "school", "clinic"),
            "capacity": np.where(np.arange(n) % 2 == 0, np.nan, 50.0),
        },
        geometry=[Point(x, y) for x, y in zip(lon, lat, strict=False)],
        crs="EPSG:4326",
    ).to_crs(32748)


def _parse(tile):
    return json.loads(collection_json(tile))


def test_tile_bounds_and_pixel_size():
    assert tile_bounds(0, 0, 0) == pytest.approx((-EARTH_HALF, -EARTH_HALF, EARTH_HALF, EARTH_HALF))
    assert tile_bounds(1, 1, 0) == pytest.approx((0, 0, EARTH_HALF, EARTH_HALF))
    assert pixel_m(0) == pytest.approx(156543.03, rel=1e-6)
    for z, x, y in ((-1, 0, 0), (23, 0, 0), (2, 4, 0), (2, 0, -1)):
        with pytest.raises(InvalidInputError, match="tile|zoom"):
            tile_bounds(z, x, y)


def test_features_with_ids_and_properties_in_their_tile():
    index = TileIndex(_points(), properties=["category", "capacity"], id_column="fid")
    x, y = _tile_of(106.805, -6.195, 12)
    fc = _parse(index.tile(12, x, y))
    assert fc["clustered"] is False
    assert sorted(f["id"] for f in fc["features"]) == list(range(100, 110))
    first = next(f for f in fc["features"] if f["id"] == 100)
    assert first["properties"] == {"category": "school", "capacity": None}
    assert first["geometry"]["type"] == "Point"
    lon, lat = first["geometry"]["coordinates"]
    assert 106.80 <= lon <= 106.81
    assert -6.20 <= lat <= -6.19
    assert _parse(index.tile(12, x + 3, y))["features"] == []


def test_each_feature_lands_in_exactly_one_tile():
    """Polygons straddling tile edges are sent once, with the tile of their representative point."""
    polys = gpd.GeoDataFrame(
        {"building_id": range(1, 401)},
        geometry=[
            box(106.80 + i * 0.0004, -6.20 + j * 0.0004, 106.8003 + i * 0.0004, -6.1997 + j * 0.0004)
            for i in range(20)
            for j in range(20)
        ],
        crs="EPSG:4326",
    )
    index = TileIndex(polys, id_column="building_id")
    z = 16
    x0, y1 = _tile_of(106.80, -6.20, z)
    x1, y0 = _tile_of(106.809, -6.191, z)
    seen = []
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            seen += [f["id"] for f in _parse(index.tile(z, x, y))["features"]]
    assert sorted(seen) == list(range(1, 401))


def test_too_many_features_become_clusters_that_count_them_all():
    index = TileIndex(_points(200), properties=["category"], id_column="fid", group="category")
    x, y = _tile_of(106.805, -6.195, 12)
    fc = _parse(index.tile(12, x, y, max_features=50, cluster_px=64))
    assert fc["clustered"] is True
    assert sum(f["properties"]["cluster_count"] for f in fc["features"]) == 200
    schools = sum(f["properties"]["counts"].get("school", 0) for f in fc["features"])
    assert schools == len(range(0, 200, 3))
    assert all("id" not in f for f in fc["features"])


def test_simplification_shrinks_polygons_at_low_zoom_but_keeps_them():
    ring = [(106.8 + 0.001 * math.cos(a), -6.2 + 0.001 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 400)]
    from shapely.geometry import Polygon

    gdf = gpd.GeoDataFrame({"area_id": [1]}, geometry=[Polygon(ring)], crs="EPSG:4326")
    index = TileIndex(gdf, id_column="area_id")
    coarse = _parse(index.tile(12, *_tile_of(106.8, -6.2, 12)))["features"][0]["geometry"]["coordinates"][0]
    fine = _parse(index.tile(20, *_tile_of(106.8, -6.1990, 20)))["features"]
    assert 4 <= len(coarse) < 50
    assert fine == [] or len(fine[0]["geometry"]["coordinates"][0]) > len(coarse)


def test_feature_returns_the_whole_row_or_none():
    index = TileIndex(_points(), properties=["category"], id_column="fid")
    assert index.feature(103) == {"fid": 103, "category": "school", "capacity": 50.0}
    assert index.feature("103") == index.feature(103)
    assert index.feature(999) is None
    no_ids = TileIndex(_points())
    assert no_ids.feature(0)["fid"] == 100
    assert no_ids.feature("x") is None
    assert no_ids.feature(10) is None


def test_empty_and_missing_geometries_are_dropped():
    gdf = _points(3)
    gdf.loc[1, "geometry"] = None
    index = TileIndex(gdf, id_column="fid")
    assert len(index) == 2
    assert TileIndex(gdf.iloc[:0]).bounds() is None


def test_collection_and_rows_for_standalone_maps():
    index = TileIndex(_points(5), properties=["category"], id_column="fid")
    fc = index.collection(zoom=15)
    assert [f["id"] for f in fc["features"]] == [100, 101, 102, 103, 104]
    assert index.rows()["104"]["category"] == "clinic"


def test_big_layer_tiles_stay_small():
    """100k buildings: a city-wide tile is clusters, a street-level tile a few hundred features; both small."""
    rng = np.random.default_rng(7)
    n = 100_000
    x = 106.70 + rng.random(n) * 0.25
    y = -6.35 + rng.random(n) * 0.25
    import shapely

    gdf = gpd.GeoDataFrame(
        {"building_id": np.arange(n), "hazard_class": rng.choice(["low", "medium", "high", None], n)},
        geometry=shapely.box(x, y, x + 0.0001, y + 0.0001),
        crs="EPSG:4326",
    )
    index = TileIndex(gdf, properties=["hazard_class"], id_column="building_id", group="hazard_class")
    city = collection_json(index.tile(11, *_tile_of(106.82, -6.22, 11), max_features=1500))
    street = collection_json(index.tile(16, *_tile_of(106.82, -6.22, 16), max_features=1500))
    assert json.loads(city)["clustered"]
    assert len(city) < 300_000
    assert not json.loads(street)["clustered"]
    assert 0 < len(json.loads(street)["features"]) < 1500
    assert len(street) < 400_000
