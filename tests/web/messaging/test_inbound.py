"""Inbound messages over real HTTP: each gateway's documented payload, its signature or secret, resends,
the USSD menu, and a phone number that never reaches anyone but a moderator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp.messaging.models import Contact, Inbound, Outbound
from geoapp.models import Report
from tests.helpers import bearer, live_server

from .conftest import AT, SMSSYNC, TWILIO

PHONE = "+254711000123"


def wait_until(check, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def rows(app, model, *where):
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s:
        return list(s.scalars(select(model).where(*where)))


def at_sms(url, text, msg_id, phone=PHONE, secret=AT["callback_secret"]):
    """Africa's Talking's incoming-message callback, as its documentation lists the fields."""
    form = {
        "date": "2026-12-05 06:59:58",
        "from": phone,
        "id": msg_id,
        "linkId": "SampleLinkId123",
        "text": text,
        "to": "21525",
        "networkCode": "63902",
    }
    return requests.post(f"{url}/api/messages/africastalking/sms?secret={secret}", data=form, timeout=30)


def twilio_sign(url: str, params: dict, token: str) -> str:
    """Twilio's documented algorithm, written out here: the full URL, then each parameter sorted by name
    as name+value, HMAC-SHA1 with the auth token, base64."""
    s = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), s.encode("utf-8"), hashlib.sha1).digest()).decode()


def twilio_payload(sid, body, sender):
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "ID",
        "To": "+15005550006",
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": TWILIO["account_sid"],
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def test_africastalking_sms_report_receipt_and_resend(live):
    url, app, gw = live
    r = at_sms(url, "FLOOD 60 RW04 Kampung Melayu near the mosque", "ATXid_sample_1")
    assert r.status_code == 200
    reps = rows(app, Report, Report.source == "sms")
    assert len(reps) == 1
    rep = reps[0]
    assert (rep.status, rep.category, rep.attributes["depth_m"]) == ("pending", "flooding_observed", 0.6)
    assert rep.attributes["place"] == "KAMPUNG MELAYU RW 04"
    assert rep.accuracy_m > 0
    assert rep.reporter_contact is None  # the number is never stored in clear
    sent = wait_until(gw.sent)
    assert sent[0]["path"] == "/version1/messaging"
    assert sent[0]["headers"]["apikey"] == AT["api_key"]
    form = sent[0]["form"]
    assert (form["username"], form["to"], form["from"]) == (AT["username"], PHONE, AT["sender_id"])
    ref = rows(app, Inbound)[0].ref
    assert ref in form["message"]
    assert len(form["message"]) <= 160
    # The gateway retries the same message: answered, nothing stored or sent twice.
    assert at_sms(url, "FLOOD 60 RW04 Kampung Melayu near the mosque", "ATXid_sample_1").status_code == 200
    time.sleep(0.5)
    assert len(rows(app, Report, Report.source == "sms")) == 1
    assert len(rows(app, Outbound)) == 1
    assert len(gw.sent()) == 1
    contact = rows(app, Contact)[0]
    assert PHONE not in contact.phone_enc
    assert PHONE not in contact.phone_key
    assert PHONE.lstrip("+") not in contact.phone_key


def test_africastalking_secret_checked(live):
    url, app, _ = live
    assert at_sms(url, "FLOOD 60", "x1", secret="wrong").status_code == 403
    assert requests.post(f"{url}/api/messages/africastalking/sms", data={"from": PHONE}, timeout=30).status_code == 403
    r = requests.post(
        f"{url}/api/messages/africastalking/sms?secret={AT['callback_secret']}", data={"text": "x"}, timeout=30
    )
    assert r.status_code == 400
    assert "'id'" in r.json()["error"]["message"]
    assert rows(app, Report) == []
    # Control characters (a NUL no database stores in text) are dropped, not a 500.
    assert at_sms(url, "FLOOD\x00 60 kebon bawang rw 3\x07", "ctl-1").status_code == 200
    assert rows(app, Report)[0].description == "FLOOD 60 kebon bawang rw 3"


def test_twilio_sms_and_whatsapp_signed(live):
    url, app, gw = live
    hook = f"{url}/api/messages/twilio/sms"
    params = twilio_payload("SM" + "a" * 32, "BANJIR 60cm kampung melayu rw 02", "+6281234567890")
    r = requests.post(
        hook, data=params, headers={"X-Twilio-Signature": twilio_sign(hook, params, TWILIO["auth_token"])}, timeout=30
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/xml")
    assert "<Response>" in r.text
    # Tampered body, wrong token, no header: refused.
    bad = dict(params, Body="BANJIR 2m")
    sig = twilio_sign(hook, params, TWILIO["auth_token"])
    assert requests.post(hook, data=bad, headers={"X-Twilio-Signature": sig}, timeout=30).status_code == 403
    assert (
        requests.post(
            hook, data=params, headers={"X-Twilio-Signature": twilio_sign(hook, params, "nope")}, timeout=30
        ).status_code
        == 403
    )
    assert requests.post(hook, data=params, timeout=30).status_code == 403
    # WhatsApp: the same webhook, "whatsapp:" numbers; the answer goes back on WhatsApp.
    wa = twilio_payload("SM" + "b" * 32, "mafuriko 0.6 kebon bawang rw 3", "whatsapp:+255754000111")
    wa["To"] = "whatsapp:+14155238886"
    r = requests.post(
        hook, data=wa, headers={"X-Twilio-Signature": twilio_sign(hook, wa, TWILIO["auth_token"])}, timeout=30
    )
    assert r.status_code == 200
    reps = {r.source: r for r in rows(app, Report)}
    assert set(reps) == {"sms", "whatsapp"}
    assert reps["whatsapp"].attributes["place"] == "KEBON BAWANG RW 03"
    sent = wait_until(lambda: len(gw.sent()) >= 2 and gw.sent())
    by_to = {s["form"]["To"]: s for s in sent}
    assert set(by_to) == {"+6281234567890", "whatsapp:+255754000111"}
    assert by_to["whatsapp:+255754000111"]["form"]["From"] == "whatsapp:+14155238886"
    assert by_to["+6281234567890"]["form"]["Body"].startswith("Diterima")  # the sender wrote Indonesian
    assert by_to["whatsapp:+255754000111"]["form"]["Body"].startswith("Tumepokea")  # and Swahili


def test_smssync_inbound_and_outbox(live):
    url, app, _ = live
    hook = f"{url}/api/messages/smssync"
    form = {
        "from": "+255700000999",
        "message": "MAFURIKO 0.6 Kebon Bawang RW 03",
        "message_id": "a1b2c3d4-0000-4000-8000-000000000001",
        "sent_to": "+255700000001",
        "secret": SMSSYNC["secret"],
        "device_id": "1",
        "sent_timestamp": "1764918000000",
    }
    r = requests.post(hook, data={**form, "secret": "wrong"}, timeout=30)
    assert r.status_code == 403
    assert r.json()["payload"]["success"] is False
    r = requests.post(hook, data=form, timeout=30)
    assert r.json() == {"payload": {"success": True, "error": None}}
    assert rows(app, Report)[0].source == "sms"
    # The phone asks for its outbox (task=send), sends, then confirms (task=sent): the receipt is logged sent.
    task = requests.get(hook, params={"task": "send", "secret": SMSSYNC["secret"]}, timeout=30).json()["payload"]
    assert task["task"] == "send"
    assert [m["to"] for m in task["messages"]] == ["+255700000999"]
    assert "Kumb" in task["messages"][0]["message"]
    uuid = task["messages"][0]["uuid"]
    again = requests.get(hook, params={"task": "send", "secret": SMSSYNC["secret"]}, timeout=30).json()["payload"]
    assert again["messages"] == []  # handed out once
    r = requests.post(f"{hook}?task=sent&secret={SMSSYNC['secret']}", json={"queued_messages": [uuid]}, timeout=30)
    assert r.json() == {"message_uuids": [uuid]}
    assert rows(app, Outbound)[0].status == "sent"
    result = {
        "message_result": [
            {
                "uuid": uuid,
                "sent_result_code": 0,
                "sent_result_message": "SMSSync Message Sent",
                "delivered_result_code": 0,
                "delivered_result_message": "SMS Delivered",
            }
        ]
    }
    r = requests.post(f"{hook}?task=result&secret={SMSSYNC['secret']}", json=result, timeout=30)
    assert r.json()["payload"]["success"] is True
    assert rows(app, Outbound)[0].status == "delivered"


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
    at_sms(url, "BANJIR 60cm kampung melayu rw 04", "ATXid_priv_1", phone=phone)
    at_sms(url, "rusak rumah kebon bawang rw 3 hubungi 081399887766", "ATXid_priv_2", phone=phone)
    at_sms(url, "JOIN kampung melayu rw 04", "ATXid_priv_3", phone=phone)
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


def test_off_without_gateway(app, client, make_user):
    """No gateway configured: webhooks 404 naming the setting, alerts 503, status says messages are off."""
    r = client.post("/api/messages/africastalking/sms", data={"from": PHONE, "id": "1", "text": "FLOOD"})
    assert r.status_code == 404
    assert "MESSAGES_AFRICASTALKING" in r.json["error"]["message"]
    assert client.post("/api/messages/twilio/sms").status_code == 404
    assert client.get("/api/messages/smssync?task=send").status_code == 404
    assert client.get("/api/messages/status").json["enabled"] is False
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="messages-off"' in page
    assert "no SMS gateway" in page
    _, planner = make_user(app, "planner")
    r = client.post("/api/messages/alerts", json={"place": "Kampung Melayu RW 04"}, headers=bearer(planner))
    assert r.status_code == 503
    assert "no SMS gateway" in r.json["error"]["message"]


@pytest.mark.parametrize("path", ["/api/messages/subscribers", "/api/messages/log"])
def test_staff_endpoints_need_a_login(live, path):
    url, _, _ = live
    assert requests.get(url + path, timeout=30).status_code == 401


def test_live_server_helper_used(storage_app):
    with live_server(storage_app) as url:
        assert urllib.parse.urlsplit(url).hostname == "127.0.0.1"
