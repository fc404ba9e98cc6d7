"""The risk map and dashboard in a real browser (Debian's headless Chromium through Playwright).

The app serves the session's build of the Jakarta sample (``built_area``: exposure,
evacuation and precarity per scenario) and one published field report whose
text is an HTML injection attempt.
Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid

import pyogrio
import pytest
from werkzeug.serving import WSGIRequestHandler

from layers.publish.export import read_metadata
from tests.helpers import CHROMIUM_ARGS, ROOT, live_server, require

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
NEIGHBOURHOOD = "PASAR BARU RW 08"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # hundreds of tile requests: keep test output readable
        pass


def _wait_until(page, expression: str, timeout_ms: int = 30_000) -> None:
    """Poll ``expression`` from Python: Playwright's wait_for_function evaluates strings with eval,
    which the pages' Content-Security-Policy (no 'unsafe-eval') rightly refuses."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium")
    if not path:
        require("GEOAPP_REQUIRE_BROWSER", "Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(built_area, tmp_path_factory):
    """The app on a local port, with the exposure build and one published (hostile) field report."""
    from sqlalchemy.orm import Session

    from geoapp import create_app
    from geoapp.auth import create_user

    tmp = tmp_path_factory.mktemp("browser")
    build = built_area
    assert "exposure_areas" in set(pyogrio.list_layers(build)[:, 0]), "the build should hold the exposure analysis"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "DATABASE_URL": f"sqlite:///{tmp / 'r.db'}",
            "BUILD": str(build),
            "MAP_TILES": "",
            "ANON_RATE_LIMIT": "1000/hour",
        }
    )
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        _, volunteer = create_user(s, "vol", "volunteer")
        _, moderator = create_user(s, "mod", "moderator")
    client = app.test_client()
    rid = str(uuid.uuid4())
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [106.8345, -6.1655]},
        "properties": {"id": rid, "category": "flooding_observed", "description": XSS},
    }
    assert client.post("/api/reports", json=feature, headers={"Authorization": f"Bearer {volunteer}"}).status_code < 300
    assert (
        client.post(
            f"/api/reports/{rid}/review", json={"status": "published"}, headers={"Authorization": f"Bearer {moderator}"}
        ).status_code
        == 200
    )
    with live_server(app, request_handler=_QuietHandler) as url:
        yield {"url": url, "build": build, "report": rid, "app": app}


@pytest.fixture
def page(chromium, server):
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server["url"] + "/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    yield page
    context.close()


def _idle(page):
    _wait_until(page, "window.geoappMap.pending() === 0", timeout_ms=30_000)
    page.wait_for_timeout(300)  # Leaflet prunes the previous zoom's tiles 250 ms after the new ones load


def test_map_loads_without_console_errors(page, server):
    _idle(page)
    assert page.errors == []
    names = page.evaluate("window.geoappMap.config.layers.map(l => l.name)")
    assert {"buildings", "facilities", "boundaries_rw", "reports"} <= set(names)
    assert page.evaluate("window.geoappMap.layers.buildings.featureCount()") > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "riskmap.png"))


def test_each_layer_toggles(page):
    for name in page.evaluate("window.geoappMap.config.layers.map(l => l.name)"):
        box = page.locator(f"#layer-{name}")
        before = box.is_checked()
        box.click()
        assert page.evaluate(f"window.geoappMap.map.hasLayer(window.geoappMap.layers['{name}'])") is (not before)
        if not before:  # switched on: its tiles arrive and draw features
            _idle(page)
            if name != "reports":  # the one report lies in a tile of its own
                assert page.evaluate(f"window.geoappMap.layers['{name}'].featureCount()") > 0, name
        box.click()
        assert page.evaluate(f"window.geoappMap.map.hasLayer(window.geoappMap.layers['{name}'])") is before
    assert page.errors == []


def test_scenario_switch_changes_the_hazard_overlay(page):
    assert page.evaluate("window.geoappMap.overlay()._url").endswith("/map/hazard/current.png")
    seen = []
    page.on("request", lambda r: seen.append(r.url))
    page.locator("#scenario-design").check()
    assert page.evaluate("window.geoappMap.overlay()._url").endswith("/map/hazard/design.png")
    _wait_until(page, "document.querySelector('.leaflet-image-layer').complete")
    assert page.get_attribute("body", "data-scenario") == "design"
    _idle(page)
    assert any("/map/tiles/buildings/" in u and "scenario=design" in u for u in seen)
    assert "0.1–0.7 m" in page.inner_text("#depth-legend")
    assert page.errors == []


def _zoom_to(page, lat, lon, zoom=16):
    page.evaluate(f"() => {{ window.geoappMap.map.setView([{lat}, {lon}], {zoom}, {{animate: false}}); }}")
    _idle(page)


def _click_map(page, lat, lon):
    x, y = page.evaluate(
        f"(() => {{ const p = window.geoappMap.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()"
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_a_neighbourhood_popup_shows_the_exposure_figures(page, server):
    areas = pyogrio.read_dataframe(server["build"], layer="exposure_areas")
    if "boundary" in areas.columns:
        areas = areas[areas["boundary"] == "rw"]
    row = areas[(areas["name"] == NEIGHBOURHOOD) & (areas["scenario"] == "current")].iloc[0]
    point = row.geometry.representative_point()
    import geopandas as gpd

    lonlat = gpd.GeoSeries([point], crs=areas.crs).to_crs(4326).iloc[0]
    for other in ("buildings", "facilities", "reports"):
        page.locator(f"#layer-{other}").uncheck()
    _zoom_to(page, lonlat.y, lonlat.x)
    _click_map(page, lonlat.y, lonlat.x)
    popup = page.locator(".leaflet-popup-content")
    popup.locator("table").wait_for(timeout=10_000)
    text = popup.inner_text()
    assert NEIGHBOURHOOD in text
    assert f"{round(row['pop_affected']):,}" in text
    assert f"{round(row['pop_total']):,}" in text
    assert f"Buildings flooded\t{int(row['buildings_affected']):,}" in text
    assert f"People displaced\t{round(row['displaced']):,}" in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "riskmap-popup.png"))


def test_field_report_text_is_shown_as_text(page, server):
    for other in ("buildings", "facilities", "boundaries_rw"):
        page.locator(f"#layer-{other}").uncheck()
    _zoom_to(page, -6.1655, 106.8345, 17)
    # The public sees the report at a blurred place: click where the map drew it.
    lat, lon = page.evaluate("""() => {
        let at = null;
        window.geoappMap.layers.reports.group.eachLayer(part => part.eachLayer(m => { at = m.getLatLng(); }));
        return [at.lat, at.lng];
    }""")
    _click_map(page, lat, lon)
    popup = page.locator(".leaflet-popup-content")
    popup.locator("table").wait_for(timeout=10_000)
    assert XSS in popup.inner_text()
    assert popup.locator("img").count() == 0
    assert popup.locator("script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.errors == []


def test_dashboard_numbers_equal_the_analysis(chromium, server):
    build = server["build"]
    buildings = pyogrio.read_dataframe(build, layer="exposure_buildings", read_geometry=False)
    areas = pyogrio.read_dataframe(build, layer="exposure_areas", read_geometry=False)
    if "boundary" in areas.columns:  # the dashboard shows the first boundary set by default
        areas = areas[areas["boundary"] == "rw"]
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server["url"] + "/dashboard")
    for col, scenario in enumerate(("current", "design")):
        b = buildings[buildings["scenario"] == scenario]
        cell = page.locator('td[data-key="buildings.affected"]').nth(col).inner_text()
        assert cell == f"{int(b['hazard_class'].notna().sum()):,} / {len(b):,}"
        # people: the analysis' own summary for the whole area, stored in the build's metadata
        summary = json.loads(read_metadata(build)[f"exposure_summary:{scenario}"])
        want = round(summary["population"]["affected"])
        assert page.locator('td[data-key="population.affected"]').nth(col).inner_text() == f"{want:,}"
    first = page.locator("#ranking tbody tr").first.locator("td").nth(1).inner_text()
    current = areas[areas["scenario"] == "current"]
    assert first == current.loc[current["pop_affected"].idxmax(), "name"]
    page.locator("#ranking thead button[data-col='2']").click()  # sort by people affected, descending then ascending
    page.locator("#ranking thead button[data-col='2']").click()
    assert page.get_attribute("#ranking thead th:nth-child(3)", "aria-sort") == "ascending"
    assert page.locator('dd[data-key="published"]').inner_text() == "1"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert errors == []
    page.close()


def test_plain_background_when_map_tiles_cannot_load(chromium, server):
    server["app"].config["MAP_TILES"] = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens on port 9
    try:
        page = chromium.new_page()
        page.goto(server["url"] + "/")
        page.wait_for_selector("#map.plain-basemap", timeout=20_000)
        assert (
            "Background map unavailable" in page.inner_text("#map-status") or page.locator("#map.plain-basemap").count()
        )
        page.close()
    finally:
        server["app"].config["MAP_TILES"] = ""


def test_layers_toggle_from_the_keyboard(page):
    box = page.locator("#layer-buildings")
    box.focus()
    page.keyboard.press("Space")
    assert not box.is_checked()
    assert page.evaluate("window.geoappMap.map.hasLayer(window.geoappMap.layers.buildings)") is False
    page.locator("#scenario-current").focus()
    page.keyboard.press("ArrowDown")  # radio group: arrows move the choice
    assert page.get_attribute("body", "data-scenario") == "design"


def test_standalone_map_opens_from_disk_without_a_server(chromium, server, tmp_path):
    from layers.area import load_area
    from layers.publish.standalone import standalone_map

    out = standalone_map(load_area(ROOT / "data" / "jakarta"), tmp_path / "jakarta.html", built=server["build"])
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.route("http*://**", lambda route: route.abort())  # no network at all
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    first = page.evaluate("window.geoappMap.overlay()._url")
    assert first.startswith("data:image/png;base64,")
    page.locator("#scenario-design").check()
    assert page.evaluate("window.geoappMap.overlay()._url") != first
    assert page.evaluate("window.geoappMap.layers.buildings.featureCount()") == 7689
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "standalone-map.png"))
    context.close()
