"""The USSD menu, subscriptions a moderator adds, and a phone number that never reaches anyone but a
moderator (every anonymous answer is searched for it)."""

from __future__ import annotations

import requests

from geoapp.messaging.models import Contact, Inbound
from geoapp.models import Report
from tests.helpers import bearer
from tests.web.messaging.fakes import AT, at_sms, rows

PHONE = "+254711000123"


def test_moderator_subscribes_a_number(live, make_user):
    url, app, _ = live
    _, mod = make_user(app, "moderator")
    _, vol = make_user(app, "volunteer")
    hook = f"{url}/api/messages/subscriptions"
    body = {"phone": "+255754111222", "place": "Kebon Bawang RW 03", "language": "sw"}
    assert requests.post(hook, json=body, headers=bearer(vol), timeout=30).status_code == 403
    r = requests.post(hook, json=body, headers=bearer(mod), timeout=30)
    assert r.status_code == 201, r.text
    assert r.json()["place"] == "KEBON BAWANG RW 03"
    again = requests.post(hook, json=body, headers=bearer(mod), timeout=30)  # the same number and place: one
    assert again.json()["subscription"] == r.json()["subscription"]
    bad = requests.post(hook, json={**body, "place": "rw 04"}, headers=bearer(mod), timeout=30)
    assert bad.status_code == 400
    assert "place" in bad.json()["error"]["message"]
    assert requests.post(hook, json={**body, "language": "de"}, headers=bearer(mod), timeout=30).status_code == 400
    assert requests.post(hook, json={**body, "phone": "call me"}, headers=bearer(mod), timeout=30).status_code == 400
    counts = requests.get(f"{url}/api/messages/subscribers", headers=bearer(mod), timeout=30).json()["neighbourhoods"]
    assert counts == [
        {"boundary": "rw", "area_id": r.json()["area_id"], "name": "KEBON BAWANG RW 03", "subscribers": 1}
    ]
    assert rows(app, Contact)[0].language == "sw"


def test_ussd_menu_stores_a_report(live):
    url, app, _ = live
    hook = f"{url}/api/messages/africastalking/ussd?secret={AT['callback_secret']}"

    def step(text):
        form = {
            "sessionId": "ATUid_session_1",
            "serviceCode": "*384*1234#",
            "phoneNumber": PHONE,
            "networkCode": "63902",
            "text": text,
        }
        r = requests.post(hook, data=form, timeout=30)
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.text

    first = step("")
    assert first.startswith("CON ")
    assert "1 Flood" in first
    page1 = step("1")
    assert page1.startswith("CON ")
    assert "0 More" in page1
    page2 = step("1*0")
    names1 = [line[2:] for line in page1.splitlines()[1:] if line[:1].isdigit() and not line.startswith("0 ")]
    names2 = [line[2:] for line in page2.splitlines()[1:] if line[:1].isdigit() and not line.startswith("0 ")]
    assert names1 != names2
    assert names1 == sorted(names1)
    assert step("1*0*3").startswith("CON ")  # depth asked for a flood
    done = step("1*0*3*2")
    assert done.startswith("END ")
    assert step("1*0*3*2") == done  # the gateway repeats the last step: same answer, one report
    reps = rows(app, Report)
    assert len(reps) == 1
    rep = reps[0]
    assert (rep.source, rep.status, rep.attributes["depth_m"]) == ("ussd", "pending", 0.5)
    assert rep.attributes["place"].upper().startswith(names2[2].upper().rstrip("…")[:20])
    assert rows(app, Inbound)[0].ref in done
    assert step("9").startswith("END ")  # not a choice
    # A typed name also works, and 8 subscribes to alerts.
    assert step("8*Kampung Melayu RW 04").startswith("END ")


def test_phone_number_never_public(live, make_user):
    url, app, gw = live
    phone = "+6281399887766"
    at_sms(url, "BANJIR 60cm kampung melayu rw 04", "ATXid_priv_1", phone)
    at_sms(url, "rusak rumah kebon bawang rw 3 hubungi 081399887766", "ATXid_priv_2", phone)
    at_sms(url, "JOIN kampung melayu rw 04", "ATXid_priv_3", phone)
    _, mod = make_user(app, "moderator")
    for rep in rows(app, Report):
        r = requests.post(
            f"{url}/api/reports/{rep.id}/review", json={"status": "published"}, headers=bearer(mod), timeout=30
        )
        assert r.status_code == 200, r.text
    digits = phone.lstrip("+")
    local = "0" + digits[2:]
    anonymous = [
        "/api/reports",
        "/api/reports?format=csv",
        "/ogcapi/collections/reports/items?f=json",
        "/ogcapi/collections/reports/items?f=html",
        "/dashboard",
        "/map",
        "/api/messages/status",
        "/api/messages/log",
        "/api/messages/subscribers",
        f"/api/messages/reports/{rows(app, Report)[0].id}/sender",
    ]
    for path in anonymous:
        body = requests.get(url + path, timeout=60).text
        assert digits not in body, path
        assert local not in body, path
        assert digits[-8:] not in body, path
    # Moderators see it, like reporter_contact.
    r = requests.get(f"{url}/api/messages/reports/{rows(app, Report)[0].id}/sender", headers=bearer(mod), timeout=30)
    assert r.json()["phone"] == phone
    log = requests.get(f"{url}/api/messages/log", headers=bearer(mod), timeout=30).json()["messages"]
    assert log
    assert all(digits not in m["to"] for m in log)
