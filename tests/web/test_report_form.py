"""The volunteer form /report: light page, translations, and (in a real Chromium) offline queueing and resend."""

from __future__ import annotations

import shutil
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geoapp.models import Report
from tests.helpers import CHROMIUM_ARGS, live_server, require


def test_form_page_is_light_and_says_what_is_public(client):
    page = client.get("/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "What will be public" in html
    assert "never public" in html
    assert "<script src" not in html.replace('<script src="/static/report_form.js">', "")  # one script, no map library
    assert 'data-js="/static/map/vendor/leaflet/leaflet.js"' in html  # the optional map loads only when asked for
    js = client.get("/static/report_form.js")
    css = client.get("/static/report_form.css")
    total = len(page.data) + len(js.data) + len(css.data)
    js.close()
    css.close()
    assert total < 40_000, total  # one small page for a slow 3G phone
    assert 'data-blur="100"' in html
    assert 'value="need_food"' in html
    assert 'value="community_boundary"' not in html  # polygons are drawn elsewhere, not on the phone form


@pytest.mark.parametrize(("lang", "text"), [("fr", "Ce qui sera public"), ("sw", "Kitakachoonekana hadharani")])
def test_form_is_translated(client, lang, text):
    assert text in client.get(f"/report?lang={lang}").get_data(as_text=True)


def _wait_until(page, expression: str, timeout_s: float = 10.0) -> None:
    """Poll a JS expression with page.evaluate: wait_for_function evaluates text, which the page's CSP forbids."""
    end = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < end, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _count(app) -> int:
    with Session(app.extensions["geoapp.db"]) as s:
        return s.scalar(select(func.count()).select_from(Report))


@pytest.mark.browser
def test_offline_submission_is_kept_and_sent_once_when_back_online(app):
    chromium = shutil.which("chromium")
    if not chromium:
        require("GEOAPP_REQUIRE_BROWSER", "Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("GEOAPP_REQUIRE_BROWSER", "playwright")
    with live_server(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/report")
        assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # installed, page cached
        # The form opens again without a network (the service worker kept it).
        context.set_offline(True)
        page.reload()
        assert page.locator("#send").is_visible()
        assert page.evaluate("fetch('/api/reports?limit=1').then(() => 'online', () => 'offline')") == "offline"
        page.select_option("#category", "need_water")
        assert "100" in page.text_content("#public-text")
        page.fill("#description", "no clean water since Monday")
        page.fill("#lat", "-6.2")
        page.fill("#lon", "106.83")
        page.click("#send")
        _wait_until(page, "JSON.parse(localStorage.getItem('geoapp.reports.queue') || '[]').length === 1")
        assert "offline" in page.text_content("#status").lower()
        time.sleep(0.5)
        assert _count(app) == 0
        queued_id = page.evaluate("JSON.parse(localStorage.getItem('geoapp.reports.queue'))[0].properties.id")
        context.set_offline(False)
        _wait_until(page, "JSON.parse(localStorage.getItem('geoapp.reports.queue') || '[]').length === 0", 15)
        assert _count(app) == 1
        # A second tab resending the same queued item (e.g. a lost answer) must not duplicate it.
        page.evaluate(
            """id => fetch('/api/reports', {method: 'POST', headers: {'Content-Type': 'application/json'},
               body: JSON.stringify({type: 'Feature', geometry: {type: 'Point', coordinates: [106.83, -6.2]},
               properties: {id: id, category: 'need_water'}})}).then(r => r.status)""",
            queued_id,
        )
        page.reload()
        page.wait_for_timeout(500)
        browser.close()
    assert _count(app) == 1
    with Session(app.extensions["geoapp.db"]) as s:
        rep = s.get(Report, queued_id)
        assert rep.source == "web"
        assert rep.description == "no clean water since Monday"
        assert rep.status == "pending"


@pytest.mark.browser
def test_moderator_approves_and_rejects_in_bulk_in_the_browser(app, make_user):
    """Log in, see the pending queue on the map and list, approve two, reject one with a reason."""
    chromium = shutil.which("chromium")
    if not chromium:
        require("GEOAPP_REQUIRE_BROWSER", "Debian's chromium")
    from playwright.sync_api import sync_playwright

    from tests.helpers import feature

    make_user(app, "moderator", name="mia", password="pw-mia")
    client = app.test_client()
    ids = []
    for i in range(3):
        f = feature("blocked_drain", (106.83 + i * 0.001, -6.2), description=f"drain {i}")
        client.post("/api/reports", json=f)
        ids.append(f["properties"]["id"])
    with live_server(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/moderate")
        assert "/login" in page.url
        page.fill("#name", "mia")
        page.fill("#password", "pw-mia")
        page.click("button[type=submit]")
        page.wait_for_selector("#queue li input[type=checkbox]")
        assert page.locator("#queue li").count() == 3
        assert page.locator(".leaflet-interactive").count() == 3  # the same reports on the map
        page.check(f"input[value='{ids[0]}']")
        page.check(f"input[value='{ids[1]}']")
        page.click("#approve")
        _wait_until(page, "document.querySelectorAll('#queue li input[type=checkbox]').length === 1")
        page.check(f"input[value='{ids[2]}']")
        page.click("#reject")
        assert "reason" in page.text_content("#mod-status").lower()
        page.fill("#reason", "duplicate")
        page.click("#reject")
        _wait_until(page, "document.querySelectorAll('#queue li input[type=checkbox]').length === 0")
        browser.close()
    with Session(app.extensions["geoapp.db"]) as s:
        assert [s.get(Report, i).status for i in ids] == ["published", "published", "rejected"]
