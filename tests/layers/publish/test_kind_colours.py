"""The newer outputs draw each hazard in its kind's colours, as the web map does: an earthquake in the non-water
purples of ``hazard_colours(n, "intensity")``, a flood still in blues. Checked in the output itself: the PNG
XYZ tile's pixels, the hazard raster classes of the .qgs inside the .qgz, an MBTiles pixel."""

from __future__ import annotations

import io
import math
import sqlite3
import textwrap
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import box

from layers.area import load_area
from layers.hazard.kinds import get_kind
from layers.publish.hazard_tiles import tile_png
from layers.publish.mbtiles import BACKGROUND, HAZARD_OPACITY, offline_map
from layers.publish.qgis_project import write_project
from layers.publish.styles import DEPTH_RAMP, hazard_colours
from tests.helpers import UTM, write_raster

E, N = 700_000.0, 9_300_000.0  # a patch of UTM 48S near Jakarta
FLOOD_M, QUAKE_MMI = 1.0, 8.0  # flood class medium (0.7-1.5 m); MMI VIII


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _is_blue(rgb) -> bool:
    """Water blue (ColorBrewer Blues): green well above red, blue above green."""
    r, g, b = rgb[:3]
    return b > g and g - r > 10


def _is_purple(rgb) -> bool:
    """Purples: blue above green, red level with or above green (no water blue)."""
    r, g, b = rgb[:3]
    return b > g and r >= g - 2


@pytest.fixture(scope="module")
def patch(tmp_path_factory):
    """A 400 m × 400 m area with a flood and an earthquake scenario over it, and a small build."""
    root = tmp_path_factory.mktemp("kinds")
    write_raster(root / "flood.tif", np.full((40, 40), FLOOD_M), transform=from_origin(E, N + 400, 10, 10))
    write_raster(root / "mmi.tif", np.full((40, 40), QUAKE_MMI), transform=from_origin(E, N + 400, 10, 10))
    (root / "area.toml").write_text(
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
            [[hazard]]
            id = "quake"
            title = "Quake"
            kind = "earthquake"
            file = "mmi.tif"
            """
        )
    )
    squares = [box(E + 20, N + 20, E + 80, N + 80), box(E + 320, N + 320, E + 380, N + 380)]
    buildings = gpd.GeoDataFrame({"hazard_class": [None, None]}, geometry=squares, crs=UTM)
    buildings.to_file(root / "buildings.gpkg", layer="buildings")
    built = root / "patch.gpkg"
    for scenario in ("flood", "quake"):
        frame = buildings.assign(scenario=scenario)
        frame.to_file(built, layer="exposure_buildings", mode="a" if scenario == "quake" else "w")
    return load_area(root), built


def _expected(area, scenario: str) -> str:
    """The web map's colour of the class the patch's value falls in (styles.hazard_colours for the kind)."""
    h = area.hazard(scenario)
    value = FLOOD_M if scenario == "flood" else QUAKE_MMI
    index = int(h.classes.classify(np.array([value]))[0])
    return hazard_colours(len(h.classes.names), get_kind(h.hazard_kind).measure)[index]


def test_expected_colours_are_a_blue_and_a_purple(patch):
    area, _ = patch
    assert area.hazard("quake").classes.names[int(area.hazard("quake").classes.classify(np.array([8.0]))[0])] == "VIII"
    assert _is_blue(_rgb(_expected(area, "flood")))
    assert _expected(area, "flood") in DEPTH_RAMP
    assert _is_purple(_rgb(_expected(area, "quake")))
    assert _expected(area, "quake") not in DEPTH_RAMP


def _centre_tile(z: int) -> tuple[int, int, float, float]:
    """The XYZ tile holding the patch's centre, and the centre's pixel in it."""
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(E + 200, N + 200)
    n = 2**z
    fx = (lon + 180) / 360 * n
    fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int(fx), int(fy), (fx % 1) * 256, (fy % 1) * 256


def test_hazard_tiles_png_uses_the_kinds_colours(patch):
    area, _ = patch
    x, y, px, py = _centre_tile(16)
    for scenario in ("flood", "quake"):
        h = area.hazard(scenario)
        png = tile_png(h.path, h.classes, 16, x, y, kind=h.hazard_kind)
        pixel = Image.open(io.BytesIO(png)).convert("RGBA").getpixel((int(px), int(py)))
        assert pixel[:3] == _rgb(_expected(area, scenario)), scenario
        assert (_is_blue if scenario == "flood" else _is_purple)(pixel), scenario


def test_qgis_project_hazard_classes_use_the_kinds_colours(patch, tmp_path):
    area, built = patch
    out = tmp_path / "patch.qgz"
    (tmp_path / built.name).write_bytes(built.read_bytes())
    write_project(
        area,
        tmp_path / built.name,
        out,
        hazards={"flood": area.hazard("flood").path, "quake": area.hazard("quake").path},
    )
    with zipfile.ZipFile(out) as zf:
        qgs = ET.fromstring(zf.read(next(n for n in zf.namelist() if n.endswith(".qgs"))))
    for scenario in ("flood", "quake"):
        layer = next(el for el in qgs.iter("maplayer") if el.findtext("id") == f"hazard_{scenario}")
        items = [i for i in layer.iter("item") if i.get("alpha") != "0"]
        h = area.hazard(scenario)
        assert [i.get("color") for i in items] == hazard_colours(len(h.classes.names), get_kind(h.hazard_kind).measure)
        check = _is_blue if scenario == "flood" else _is_purple
        assert all(check(_rgb(i.get("color"))) for i in items), scenario
    assert "VIII (mmi)" in {i.get("label") for i in qgs.iter("item")}


def test_mbtiles_hazard_uses_the_kinds_colours(patch, tmp_path):
    area, built = patch
    z = 16
    x, y, px, py = _centre_tile(z)
    for scenario in ("flood", "quake"):
        out = tmp_path / f"{scenario}.mbtiles"
        offline_map(area, built, out, scenario=scenario, min_zoom=z, max_zoom=z)
        with sqlite3.connect(out) as con:
            row = con.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, 2**z - 1 - y),  # MBTiles rows count from the south (TMS)
            ).fetchone()
        pixel = Image.open(io.BytesIO(row[0])).convert("RGBA").getpixel((int(px), int(py)))
        # The hazard is drawn at the package's opacity over the background: the hue is the kind's.
        blend = (1 - HAZARD_OPACITY) * np.array(BACKGROUND) + HAZARD_OPACITY * np.array(_rgb(_expected(area, scenario)))
        assert np.abs(np.array(pixel[:3]) - blend).max() <= 1, (scenario, pixel, blend)
        assert (_is_blue if scenario == "flood" else _is_purple)(pixel), (scenario, pixel)
        assert pixel[3] == 255
