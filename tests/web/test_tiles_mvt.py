"""OGC API – Tiles (MVT of every collection) and the hazard as a COG and PNG XYZ tiles, checked independently.

Vector tiles are decoded with mapbox_vector_tile and compared with the layer read from the
GeoPackage (which features meet the tile, their properties, where points fall); the COG is
checked for GDAL's COG layout and for the source's exact values; the PNG tiles against the
source raster sampled at each pixel centre.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess

import mapbox_vector_tile
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from PIL import Image
from pyproj import Transformer

from geoapp import create_app
from layers.area import load_area
from tests.helpers import SAMPLE_AREA, require

EARTH_HALF = 20037508.342789244
MONAS = (106.8272, -6.1754)  # central Jakarta, lon/lat


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = 2 * EARTH_HALF / 2**z
    return -EARTH_HALF + x * size, EARTH_HALF - (y + 1) * size, -EARTH_HALF + (x + 1) * size, EARTH_HALF - y * size


@pytest.fixture(scope="module")
def app(built_area, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mvt")
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
            "ANON_RATE_LIMIT": "100000/hour",
            "EXPORT_DIR": str(tmp / "exports"),  # the COG is written there once per hazard file version
        }
    )


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def _mvt(client, name: str, z: int, x: int, y: int) -> dict:
    resp = client.get(f"/ogcapi/collections/{name}/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(resp.data)


@pytest.mark.parametrize(("name", "key"), [("roads", "road_class"), ("buildings", "building_type")])
def test_mvt_holds_every_feature_meeting_the_tile(client, built_area, name, key):
    gdf = pyogrio.read_dataframe(built_area, layer=name, fid_as_index=True).to_crs(3857)
    z = 15
    x, y = _tile_of(*MONAS, z)
    minx, miny, maxx, maxy = _bounds(z, x, y)
    pad = (maxx - minx) * 64 / 4096
    meets = gdf[gdf.intersects(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))]
    assert len(meets) > 10
    layer = _mvt(client, name, z, x, y)[name]
    assert layer["extent"] == 4096
    by_id = {f["id"]: f for f in layer["features"]}
    assert set(by_id) == set(meets.index)
    for fid, row in meets.head(50).iterrows():
        value = row[key]
        assert by_id[fid]["properties"].get(key) == (None if value is None else value)


def test_mvt_points_fall_where_the_features_are(client, built_area):
    shelters = pyogrio.read_dataframe(built_area, layer="shelters", fid_as_index=True).to_crs(3857)
    z = 14
    x, y = _tile_of(*MONAS, z)
    minx, miny, maxx, maxy = _bounds(z, x, y)
    inside = shelters.cx[minx:maxx, miny:maxy]
    assert len(inside) > 0
    feats = {f["id"]: f for f in _mvt(client, "shelters", z, x, y)["shelters"]["features"]}
    px = (maxx - minx) / 4096
    for fid, row in inside.iterrows():
        gx, gy = feats[fid]["geometry"]["coordinates"]  # y up (decoder default), in the 4096 grid
        assert abs(minx + gx * px - row.geometry.x) <= px
        assert abs(miny + gy * px - row.geometry.y) <= px
        assert feats[fid]["properties"]["safe"] == bool(row["safe"])
        assert feats[fid]["properties"]["scenario"] == row["scenario"]


def test_tilesets_tile_matrix_set_and_errors(client):
    doc = client.get("/ogcapi/collections/roads/tiles").get_json()
    assert doc["tilesets"][0]["dataType"] == "vector"
    tileset = client.get("/ogcapi/collections/roads/tiles/WebMercatorQuad").get_json()
    item = next(link for link in tileset["links"] if link["rel"] == "item")
    assert item["type"] == "application/vnd.mapbox-vector-tile"
    assert item["href"].endswith("/collections/roads/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    tms = client.get("/ogcapi/tileMatrixSets/WebMercatorQuad").get_json()
    assert tms["tileMatrices"][0]["matrixWidth"] == 1
    assert tms["tileMatrices"][15]["cellSize"] == pytest.approx(2 * EARTH_HALF / 256 / 2**15)
    links = client.get("/ogcapi/collections/roads").get_json()["links"]
    assert any(link["rel"].endswith("tilesets-vector") for link in links)
    conf = client.get("/ogcapi/conformance").get_json()["conformsTo"]
    assert any(c.endswith("ogcapi-tiles-1/1.0/conf/mvt") for c in conf)
    assert client.get("/ogcapi/collections/roads/tiles/WebMercatorQuad/23/0/0").status_code == 400
    assert client.get("/ogcapi/collections/roads/tiles/WebMercatorQuad/3/0/8").status_code == 400
    assert client.get("/ogcapi/collections/roads/tiles/WorldCRS84Quad/3/0/0").status_code == 404
    assert client.get("/ogcapi/collections/nosuch/tiles/WebMercatorQuad/3/0/0").status_code == 404
    # an empty tile far away is a valid, empty MVT
    assert _mvt(client, "roads", 3, 0, 0) == {} or not _mvt(client, "roads", 3, 0, 0)["roads"]["features"]
    # the web map's GeoJSON tiles still work
    x, y = _tile_of(*MONAS, 15)
    resp = client.get(f"/map/tiles/roads/15/{x}/{y}.json")
    assert resp.status_code == 200
    assert resp.get_json()["type"] == "FeatureCollection"


def test_hazard_cog_has_the_real_values_in_cog_layout(client, tmp_path):
    resp = client.get("/map/hazard/current.tif")
    assert resp.status_code == 200
    path = tmp_path / "current.tif"
    path.write_bytes(resp.data)
    spec = load_area(SAMPLE_AREA).hazard("current")
    with rasterio.open(path) as cog, rasterio.open(spec.path) as src:
        assert cog.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert cog.overviews(1)  # internal overviews
        assert cog.crs == src.crs
        assert cog.transform == src.transform
        assert cog.nodata == src.nodata or (np.isnan(cog.nodata) and np.isnan(src.nodata))
        np.testing.assert_array_equal(cog.read(1), src.read(1))
    gdalinfo = shutil.which("gdalinfo", path="/usr/bin")
    if gdalinfo is None:
        require("GEOAPP_REQUIRE_GDAL", "GDAL's gdalinfo")
    out = subprocess.run([str(gdalinfo), str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "LAYOUT=COG" in out
    assert client.get("/map/hazard/nosuch.tif").status_code == 404


def test_hazard_png_tiles_match_the_raster_sampled_at_each_pixel(client):
    spec = load_area(SAMPLE_AREA).hazard("current")
    z = 14
    x, y = _tile_of(*MONAS, z)
    resp = client.get(f"/map/hazard/current/{z}/{x}/{y}.png")
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    image = Image.open(io.BytesIO(resp.data))
    assert image.size == (256, 256)
    drawn = np.asarray(image.convert("P")) if image.mode != "P" else np.asarray(image)
    index = drawn.astype(int) - 1  # palette 0 is clear, i + 1 is class i
    minx, miny, maxx, maxy = _bounds(z, x, y)
    cell = (maxx - minx) / 256
    cx, cy = np.meshgrid(minx + (np.arange(256) + 0.5) * cell, maxy - (np.arange(256) + 0.5) * cell)
    with rasterio.open(spec.path) as src:
        tx, ty = Transformer.from_crs(3857, src.crs, always_xy=True).transform(cx.ravel(), cy.ravel())
        rows, cols = rasterio.transform.rowcol(src.transform, tx, ty)
        rows, cols = np.asarray(rows), np.asarray(cols)
        band = src.read(1)
        ok = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        values = np.full(rows.shape, np.nan)
        values[ok] = band[rows[ok], cols[ok]]
        if src.nodata is not None:
            values[values == src.nodata] = np.nan
    expected = spec.classes.classify(values).reshape(256, 256)
    assert (expected >= 0).sum() > 1000  # the tile shows flooding
    agree = (expected == index).mean()
    assert agree > 0.98  # pixels on a cell edge may pick the neighbour
