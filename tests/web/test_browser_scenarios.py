"""The scenario upload page in a real browser: log in, upload, watch the build's progress, open the map on it.

Jobs run in the server's thread pool (not in the request), so the page really polls a queued, then
running, then finished build. The area is the cropped corner of ``test_scenarios``.
"""

from __future__ import annotations

import shutil
import time
import warnings

import pytest

from tests.helpers import CHROMIUM_ARGS, live_server, require
from tests.web.test_scenarios import make_app, small_area, split_flood

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait_until(page, expression: str, timeout_ms: int = 180_000) -> None:
    """Poll from Python (the page's CSP forbids the eval Playwright's wait_for_function uses)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}: {page.inner_text('body')[:2000]}")
        page.wait_for_timeout(200)


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


def test_upload_page_shows_progress_then_the_map_shows_the_scenario(chromium, tmp_path):
    from sqlalchemy.orm import Session

    from geoapp.auth import create_user
    from layers.area import load_area
    from layers.build import build_area

    folder = small_area(tmp_path / "area")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_area(load_area(folder), folder / "build" / "area.gpkg", progress=False)
    app = make_app(folder, tmp_path)
    app.config.update(JOBS_SYNC=False, MAP_TILES="")
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        create_user(s, "planner-b", "planner", password="pw-browser-1")
    flood, _ = split_flood(tmp_path / "flood_today.tif")

    # The build job runs in a server thread: its data warnings (pytest makes them errors) must not fail it.
    with live_server(app) as base, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/scenarios/new")
        assert "/login" in page.url  # anonymous: sent to log in first, then back
        page.fill("input[name=name]", "planner-b")
        page.fill("input[name=password]", "pw-browser-1")
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(f"{base}/scenarios/new")

        page.set_input_files("#scen-file", str(flood))
        page.fill("#scen-title", "Flood seen today")
        page.click("#scen-form button[type=submit]")
        # the page polls the scenario: a progress bar while it builds, then a link to the map
        _wait_until(page, "!!document.querySelector('#scen-status a.button')")
        status = page.inner_text("#scen-status")
        assert "Flood seen today" in status
        assert "Ready" in status
        _wait_until(page, "document.querySelectorAll('#scen-list li').length === 1")
        assert "Flood seen today" in page.inner_text("#scen-list")

        page.click("#scen-status a.button")
        page.wait_for_url("**/?scenario=*")
        scenario = page.url.split("scenario=")[1]
        _wait_until(page, f"document.body.getAttribute('data-scenario') === '{scenario}'", 60_000)
        assert page.is_checked(f"#scenario-{scenario}")
        assert page.inner_text("#scenarios").count("Flood seen today") == 1
        assert page.get_attribute("#add-scenario", "href").endswith("/scenarios/new")
        assert errors == []
        page.close()
