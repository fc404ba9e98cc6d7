"""The offline map package: `geoapp export --format mbtiles`, read back with Debian's GDAL 3.6 and with QGIS.

QField is QGIS on a phone (it opens MBTiles through the same GDAL raster
provider), so PyQGIS opening the package stands for it; ODK Collect and
OsmAnd read the same raster MBTiles 1.3 layout that GDAL's driver checks.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import textwrap

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from click.testing import CliRunner
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

from geoapp.cli import main
from layers.area import load_area
from layers.errors import TooLargeError
from layers.publish.mbtiles import ROUTE, SAFE, UNSAFE, offline_map
from layers.publish.styles import class_colours
from tests.helpers import SAMPLE_AREA, UTM, require, write_raster

E, N = 700_000.0, 9_300_000.0  # a patch of UTM 48S near Jakarta


def _gdal(tool: str) -> str:
    path = shutil.which(tool, path="/usr/bin")
    if path is None:
        require("GEOAPP_REQUIRE_GDAL", f"Debian's GDAL ({tool})")
    return path


@pytest.fixture
def small_area(tmp_path):
    """A 400 m × 400 m area: a hazard grid, four big buildings in known classes, a road, a route, two shelters."""
    write_raster(tmp_path / "flood.tif", np.full((40, 40), 1.0), transform=from_origin(E, N + 400, 10, 10))
    (tmp_path / "area.toml").write_text(
        textwrap.dedent(
            f"""
            [area]
            name = "patch"
            title = "Patch"
            crs = "{UTM}"
            [layers]
            buildings = "buildings.gpkg"
            [[hazard]]
            id = "flood"
            title = "Flood"
            file = "flood.tif"
            classes = "low:0.1-0.7,medium:0.7-1.5,high:1.5-"
            """
        )
    )
    squares = [box(E + x, N + y, E + x + 60, N + y + 60) for x, y in [(20, 20), (120, 20), (220, 20), (320, 300)]]
    buildings = gpd.GeoDataFrame(
        {"hazard_class": ["low", "medium", "high", None], "scenario": "flood"}, geometry=squares, crs=UTM
    )
    buildings.drop(columns="scenario").to_file(tmp_path / "buildings.gpkg", layer="buildings")
    built = tmp_path / "build.gpkg"
    buildings.to_file(built, layer="exposure_buildings")
    gpd.GeoDataFrame(geometry=[LineString([(E, N + 200), (E + 400, N + 200)])], crs=UTM).to_file(built, layer="roads")
    gpd.GeoDataFrame(
        {"people": [500.0], "scenario": "flood"},
        geometry=[LineString([(E + 200, N + 100), (E + 200, N + 380)])],
        crs=UTM,
    ).to_file(built, layer="evacuation_routes")
    gpd.GeoDataFrame(
        {"safe": [True, False], "scenario": "flood"},
        geometry=[Point(E + 50, N + 320), Point(E + 150, N + 320)],
        crs=UTM,
    ).to_file(built, layer="shelters")
    return load_area(tmp_path), built


def _pixel(mbtiles, e: float, n: float) -> tuple[int, ...]:
    """RGBA of the top-zoom pixel at UTM (e, n), read by Debian's gdallocationinfo (GDAL 3.6)."""
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(e, n)
    out = subprocess.run(
        [_gdal("gdallocationinfo"), "-valonly", "-wgs84", str(mbtiles), str(lon), str(lat)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return tuple(int(v) for v in out)


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


def test_offline_map_draws_each_layer_in_its_colour(small_area, tmp_path):
    area, built = small_area
    out = tmp_path / "patch.mbtiles"
    result = offline_map(area, built, out, min_zoom=14, max_zoom=18)
    colours = class_colours(["low", "medium", "high"])
    for (x, y), name in zip([(20, 20), (120, 20), (220, 20)], ["low", "medium", "high"], strict=True):
        assert _hex(_pixel(out, E + x + 30, N + y + 30)) == colours[name], name
    assert _pixel(out, E + 200, N + 250)[:3] == ROUTE
    assert _pixel(out, E + 50, N + 320)[:3] == SAFE
    assert _pixel(out, E + 150, N + 320)[:3] == UNSAFE
    with sqlite3.connect(out) as con:
        meta = dict(con.execute("SELECT name, value FROM metadata"))
        zooms = dict(con.execute("SELECT zoom_level, count(*) FROM tiles GROUP BY zoom_level"))
    assert (meta["format"], meta["minzoom"], meta["maxzoom"]) == ("png", "14", "18")
    assert sorted(zooms) == [14, 15, 16, 17, 18]
    assert sum(zooms.values()) == result["tiles"]
    # every building lies inside the advertised bounds
    west, south, east, north = map(float, meta["bounds"].split(","))
    bw, bs, be, bn = gpd.read_file(built, layer="exposure_buildings").to_crs(4326).total_bounds
    assert west <= bw
    assert south <= bs
    assert east >= be
    assert north >= bn


def test_gdal_36_and_its_overviews_read_the_package(small_area, tmp_path):
    area, built = small_area
    out = tmp_path / "patch.mbtiles"
    offline_map(area, built, out, min_zoom=15, max_zoom=18)
    info = json.loads(subprocess.run([_gdal("gdalinfo"), "-json", str(out)], capture_output=True, check=True).stdout)
    assert info["driverShortName"] == "MBTiles"
    assert len(info["bands"]) == 4
    # the lower zoom levels are the raster's overviews, each half the size of the one above
    sizes = [o["size"][0] for o in info["bands"][0].get("overviews", [])]
    assert sizes
    assert sizes == [info["size"][0] // 2 ** (i + 1) for i in range(len(sizes))]


def test_cli_exports_the_jakarta_package(built_area, tmp_path):
    out = tmp_path / "jakarta.mbtiles"
    args = ["export", str(SAMPLE_AREA), "--build", str(built_area), "--format", "mbtiles", "--out", str(out)]
    result = CliRunner().invoke(
        main, [*args, "--scenario", "design", "--min-zoom", "11", "--max-zoom", "13", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(out) as con:
        meta = dict(con.execute("SELECT name, value FROM metadata"))
        tiles = con.execute("SELECT zoom_level, tile_column, tile_row FROM tiles").fetchall()
    assert meta["name"] == "Jakarta, Indonesia: Design flood"
    by_zoom: dict[int, set] = {}
    for z, x, tms_y in tiles:
        by_zoom.setdefault(z, set()).add((x, (1 << z) - 1 - tms_y))
    # each tile of a lower level is made from tiles under it, and each tile under has its parent
    for z in (11, 12):
        assert {(x // 2, y // 2) for x, y in by_zoom[z + 1]} == by_zoom[z]
    # the top level covers the tiles of every building centroid
    b = pyogrio.read_dataframe(built_area, layer="buildings").to_crs(3857).geometry.centroid
    half = 20037508.342789244
    size = 2 * half / 2**13
    wanted = set(zip(((b.x + half) // size).astype(int), ((half - b.y) // size).astype(int), strict=True))
    assert wanted <= by_zoom[13]


def test_too_many_pixels_is_a_clear_error(built_area, tmp_path):
    with pytest.raises(TooLargeError, match="lower --max-zoom"):
        offline_map(load_area(SAMPLE_AREA), built_area, tmp_path / "x.mbtiles", max_zoom=19)
    result = CliRunner().invoke(
        main,
        ["export", str(SAMPLE_AREA), "--build", str(built_area), "--format", "mbtiles", "--out", "x.mbtiles"]
        + ["--max-zoom", "19", "--quiet"],
    )
    assert result.exit_code == 1
    assert result.output.startswith("error:")
    assert "--max-zoom" in result.output


QGIS_SCRIPT = """
import sys
from qgis.core import QgsApplication, QgsRasterLayer
app = QgsApplication([], False)
app.initQgis()
layer = QgsRasterLayer(sys.argv[1], "offline", "gdal")
e = layer.extent()
print(layer.isValid(), layer.bandCount(), layer.crs().authid(), e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum())
"""


def test_qgis_opens_the_package_as_qfield_would(small_area, tmp_path):
    if not os.path.exists("/usr/bin/python3") or subprocess.run(["/usr/bin/python3", "-c", "import qgis"]).returncode:
        require("GEOAPP_REQUIRE_QGIS", "QGIS (python3-qgis)")
    area, built = small_area
    out = tmp_path / "patch.mbtiles"
    offline_map(area, built, out, min_zoom=15, max_zoom=17)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run(
        ["/usr/bin/python3", "-c", QGIS_SCRIPT, str(out)], capture_output=True, text=True, env=env, timeout=120
    )
    valid, bands, crs, *extent = done.stdout.split()[-7:]
    assert (valid, bands, crs) == ("True", "4", "EPSG:3857"), done.stderr[-2000:]
    xmin, ymin, xmax, ymax = map(float, extent)
    b = gpd.read_file(built, layer="exposure_buildings").to_crs(3857).total_bounds
    assert xmin <= b[0]
    assert ymin <= b[1]
    assert xmax >= b[2]
    assert ymax >= b[3]
