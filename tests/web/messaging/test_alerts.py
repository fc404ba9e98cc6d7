"""Alerts over real HTTP to a local fake of the gateway: once per subscriber, STOP honoured mid-alert, from a
planner (API and dashboard form) and after a build (the nearest safe shelter of its evacuation layers)."""

from __future__ import annotations

import threading
import time

import geopandas as gpd
import pytest
import requests
import shapely

from geoapp.messaging.models import Alert, Outbound
from tests.helpers import SAMPLE_AREA, bearer
from tests.web.messaging.fakes import at_sms, bodies_to, rows, wait_until

A, B, C = "+254711000001", "+254711000002", "+254711000003"


def test_alert_once_stop_midway_and_resend(live, make_user):
    url, app, gw = live
    for i, phone in enumerate((A, B, C)):
        at_sms(url, "JOIN Kampung Melayu RW 04", f"join-{i}", phone)
    wait_until(lambda: len(gw.sent()) == 3)
    assert all("KAMPUNG MELAYU RW 04" in b for p in (A, B, C) for b in bodies_to(gw, p))
    _, planner = make_user(app, "planner")
    gw.hold = threading.Event()
    r = requests.post(
        f"{url}/api/messages/alerts",
        json={"place": "kampung melayu rw 04", "shelter": "SDN 01 Kampung Melayu", "key": "flood-2026-12-05"},
        headers=bearer(planner),
        timeout=30,
    )
    assert r.status_code == 202, r.text
    assert r.json()["messages"] == 3
    assert gw.held.wait(30)  # the first alert is at the gateway; the others wait behind it
    at_sms(url, "STOP", "stop-c", C)  # C says STOP while the alert is going out
    stopped = rows(app, Outbound, Outbound.kind == "alert", Outbound.status == "cancelled")
    assert len(stopped) == 1
    gw.hold.set()
    wait_until(lambda: len(bodies_to(gw, B)) == 2)
    wait_until(lambda: len(bodies_to(gw, C)) == 2)  # its JOIN receipt and the STOP confirmation only
    alerts_sent = [r["form"] for r in gw.sent() if "FLOOD ALERT" in r["form"]["message"]]
    assert sorted(f["to"] for f in alerts_sent) == [A, B]
    for f in alerts_sent:
        assert len(f["message"]) <= 160
        assert "KAMPUNG MELAYU RW 04" in f["message"]
        assert "SDN 01 Kampung Melayu" in f["message"]
        assert "higher ground" in f["message"]
    assert "no more messages" in bodies_to(gw, C)[-1]
    # The planner clicks again (same key): nothing is sent twice.
    r = requests.post(
        f"{url}/api/messages/alerts",
        json={"place": "kampung melayu rw 04", "key": "flood-2026-12-05"},
        headers=bearer(planner),
        timeout=30,
    )
    assert r.json()["messages"] == 0
    time.sleep(0.3)
    assert len([r for r in gw.sent() if "FLOOD ALERT" in r["form"]["message"]]) == 2
    assert len(rows(app, Alert)) == 1
    # Subscribers per neighbourhood: C left.
    counts = requests.get(f"{url}/api/messages/subscribers", headers=bearer(planner), timeout=30).json()
    assert counts["neighbourhoods"][0]["name"] == "KAMPUNG MELAYU RW 04"
    assert counts["neighbourhoods"][0]["subscribers"] == 2
    page = requests.get(f"{url}/dashboard", timeout=60).text  # the dashboard shows the same count
    assert '<tr><th scope="row">KAMPUNG MELAYU RW 04</th><td data-key="subscribers">2</td></tr>' in page
    assert A not in page
    # A scenario alert needs a build; a bad log limit is one clear error.
    r = requests.post(f"{url}/api/messages/alerts", json={"scenario": "current"}, headers=bearer(planner), timeout=30)
    assert r.status_code == 404
    assert "geoapp build" in r.json()["error"]["message"]
    _, mod = make_user(app, "moderator")
    r = requests.get(f"{url}/api/messages/log?limit=lots", headers=bearer(mod), timeout=30)
    assert r.status_code == 400
    assert "limit" in r.json()["error"]["message"]
    # Volunteers may not alert.
    _, vol = make_user(app, "volunteer")
    assert (
        requests.post(f"{url}/api/messages/alerts", json={"place": "x"}, headers=bearer(vol), timeout=30).status_code
        == 403
    )


@pytest.fixture
def small_build(tmp_path):
    """A build GeoPackage with the two layers alerts read: exposure_areas and shelters (one unsafe, nearer)."""
    from layers.area import load_area

    rw = load_area(SAMPLE_AREA).boundary_layer("rw")
    units = rw[rw["name"].isin(["KAMPUNG MELAYU RW 04", "KEBON BAWANG RW 03"])][["area_id", "name", "geometry"]].copy()
    units["scenario"] = "current"
    units["boundary"] = "rw"
    units["pop_affected"] = [120.0 if n == "KAMPUNG MELAYU RW 04" else 0.0 for n in units["name"]]
    path = tmp_path / "area.gpkg"
    gpd.GeoDataFrame(units, crs=rw.crs).to_file(path, layer="exposure_areas")
    c = units[units["name"] == "KAMPUNG MELAYU RW 04"].geometry.iloc[0].representative_point()
    shelters = gpd.GeoDataFrame(
        {
            "shelter_id": [1, 2, 3],
            "name": ["Masjid Dekat", "SDN 05 Pagi", "Gedung Jauh"],
            "safe": [False, True, True],
            "scenario": "current",
        },
        geometry=[shapely.Point(c.x + 50, c.y), shapely.Point(c.x + 400, c.y + 300), shapely.Point(c.x + 3000, c.y)],
        crs=rw.crs,
    )
    shelters.to_file(path, layer="shelters")
    return path, c.distance(shelters.geometry.iloc[1])


def test_build_alerts_reach_affected_neighbourhoods_once(live, small_build):
    url, app, gw = live
    path, distance = small_build
    app.config["BUILD"] = str(path)
    at_sms(url, "JOIN kampung melayu rw 04", "j-a", A)
    at_sms(url, "DAFTAR kebon bawang rw 3", "j-b", B)  # not affected in this build
    at_sms(url, "JIUNGE kampung melayu rw 04", "j-c", C)  # Swahili
    wait_until(lambda: len(gw.sent()) == 3)
    from geoapp.messaging import send_area_alerts
    from geoapp.messaging.alerts import alerts_after_build

    with app.app_context():
        done = send_area_alerts(None, "current")
        again = send_area_alerts(None, "current")  # the same build: nothing new
        after = alerts_after_build()  # what the build job calls: every scenario, nothing sent twice
    assert (done["units"], done["alerts"], done["messages"]) == (1, 1, 2)
    assert (again["alerts"], again["messages"]) == (0, 0)
    assert after["current"]["messages"] == 0
    assert "skipped" in after["design"]  # this build has no design scenario
    wait_until(lambda: len(gw.sent()) == 5)
    to_a, to_c = bodies_to(gw, A)[-1], bodies_to(gw, C)[-1]
    assert to_a.startswith("FLOOD ALERT KAMPUNG MELAYU RW 04: Move to higher ground now. Shelter: SDN 05 Pagi")
    assert f"{distance / 1000:.1f}km" in to_a
    assert to_c.startswith("TAHADHARI YA MAFURIKO KAMPUNG MELAYU RW 04: Hamia sehemu ya juu sasa. Makazi: SDN 05 Pagi")
    assert len(bodies_to(gw, B)) == 1
    assert max(len(b) for b in (to_a, to_c)) <= 160


def test_planner_alert_from_the_dashboard(live, make_user):
    """A planner logged in sends an alert with the dashboard's form (session + CSRF token)."""
    import re

    url, app, gw = live
    at_sms(url, "JOIN kampung melayu rw 04", "d-a", A)
    at_sms(url, "DAFTAR kampung melayu rw 04", "d-b", B)
    wait_until(lambda: len(gw.sent()) == 2)
    make_user(app, "planner", "plan", password="plan-pw-123")
    web = requests.Session()
    login = web.get(f"{url}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    login_form = {"name": "plan", "password": "plan-pw-123", "csrf_token": token, "next": "/dashboard"}
    assert web.post(f"{url}/login", data=login_form, timeout=60).status_code == 200
    page = web.get(f"{url}/dashboard", timeout=60).text
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*id="alert-form">(.*?)</form>', page, re.S)
    assert form is not None
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(2)).group(1)
    unit = re.search(r'<option value="([^"]+)">KAMPUNG MELAYU RW 04 \(2\)</option>', form.group(2)).group(1)
    assert web.post(url + form.group(1), data={"unit": unit}, timeout=30).status_code == 400  # no CSRF token
    r = web.post(url + form.group(1), data={"unit": unit, "shelter": "SDN 05", "csrf_token": token}, timeout=60)
    assert r.status_code == 200  # followed the redirect back to the dashboard
    assert "Alert queued for 2 subscribers." in r.text
    wait_until(lambda: len(gw.sent()) == 4)
    alerts = [
        s["form"]["message"]
        for s in gw.sent()
        if "ALERT" in s["form"]["message"] or "PERINGATAN" in s["form"]["message"]
    ]
    assert sorted(alerts) == sorted(
        [
            "FLOOD ALERT KAMPUNG MELAYU RW 04: Move to higher ground now. Shelter: SDN 05",
            "PERINGATAN BANJIR KAMPUNG MELAYU RW 04: Segera mengungsi ke tempat tinggi. Posko: SDN 05",
        ]
    )
    # Anonymous visitors and volunteers see the counts but no form.
    assert 'id="alert-form"' not in requests.get(f"{url}/dashboard", timeout=60).text
