"""The report form's road pick in a real browser (headless Chromium): for a road closure, the point tapped on
the small map snaps to the nearest road line of the map's roads tiles."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.helpers import CHROMIUM_ARGS, live_server, require

pytestmark = [pytest.mark.browser]

JAKARTA = Path(__file__).resolve().parents[2] / "data" / "jakarta"
START = (106.8272, -6.1750)  # lon, lat: central Jakarta, about 13 m from a footway
OFFSET_PX = (7, 5)  # where the test taps, from the map's centre (the marker sits at the centre)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from geoapp import create_app
    from layers.area import load_area
    from layers.publish.geopackage import write_geopackage

    tmp = tmp_path_factory.mktemp("roadpick")
    area = load_area(JAKARTA / "area.toml")
    roads = area.roads()
    build = tmp / "area.gpkg"
    write_geopackage({"roads": roads}, build, metadata=area.metadata())
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp / 'r.db'}", "BUILD": str(build)}
    )
    with live_server(app) as url:
        yield url, roads


def test_a_closure_snaps_to_the_nearest_road(server):
    path = shutil.which("chromium")
    if not path:
        require("GEOAPP_REQUIRE_BROWSER", "Debian's chromium")
    from playwright.sync_api import sync_playwright

    url, roads = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        # No service worker: it reloads the page once it controls it, which would reset the form.
        page = browser.new_context(viewport={"width": 800, "height": 900}, service_workers="block").new_page()
        page.goto(url + "/report")
        page.select_option("select[name=category]", "road_closed")
        page.fill("input[name=lon]", str(START[0]))
        page.fill("input[name=lat]", str(START[1]))
        page.click("#show-map")
        page.wait_for_selector("#mini-map .leaflet-marker-icon", timeout=20_000)
        page.locator("#mini-map").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        box = page.locator("#mini-map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.click(cx + OFFSET_PX[0], cy + OFFSET_PX[1])
        page.wait_for_selector("#mini-map path.leaflet-interactive", timeout=20_000)  # the picked road, drawn
        lon, lat = float(page.input_value("input[name=lon]")), float(page.input_value("input[name=lat]"))
        browser.close()

    # Where the tap landed (Web Mercator at zoom 16, 256-px tiles, from the centre's pixel).
    scale = 256 * 2**16
    x0 = (START[0] + 180) / 360 * scale
    y0 = (1 - math.log(math.tan(math.radians(START[1])) + 1 / math.cos(math.radians(START[1]))) / math.pi) / 2 * scale
    tap_lon = (x0 + OFFSET_PX[0]) / scale * 360 - 180
    n = math.pi - 2 * math.pi * (y0 + OFFSET_PX[1]) / scale
    tap_lat = math.degrees(math.atan(math.sinh(n)))
    # Independent: the nearest point of the roads to the tap, in the metric working CRS.
    tap = gpd.GeoSeries([shapely.Point(tap_lon, tap_lat)], crs=4326).to_crs(roads.crs).iloc[0]
    near = roads.geometry.iloc[int(roads.distance(tap).argmin())]
    expect = shapely.line_interpolate_point(near, near.project(tap))
    got = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(roads.crs).iloc[0]
    assert tap.distance(expect) <= 50
    # Tiles simplify lines to half a pixel (~1.2 m at zoom 16) and the form keeps 6 decimals.
    assert got.distance(expect) < 3.0
    assert got.distance(tap) > 0.5 or tap.distance(expect) < 0.5  # it moved onto the road
