"""Inbound messages over real HTTP: each gateway's documented payload, its signature or secret, resends,
the USSD menu, and a phone number that never reaches anyone but a moderator."""

from __future__ import annotations

import time
import urllib.parse

import pytest
import requests

from geoapp.messaging.models import Contact, Inbound, Outbound
from geoapp.models import Report
from tests.helpers import bearer, live_server
from tests.web.messaging.fakes import AT, SMSSYNC, TWILIO, at_sms, rows, twilio_payload, twilio_sign, wait_until

PHONE = "+254711000123"


def test_africastalking_sms_report_receipt_and_resend(live):
    url, app, gw = live
    r = at_sms(url, "FLOOD 60 RW04 Kampung Melayu near the mosque", "ATXid_sample_1", PHONE)
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
    assert at_sms(url, "FLOOD 60 RW04 Kampung Melayu near the mosque", "ATXid_sample_1", PHONE).status_code == 200
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
    assert at_sms(url, "FLOOD 60", "x1", PHONE, secret="wrong").status_code == 403
    assert requests.post(f"{url}/api/messages/africastalking/sms", data={"from": PHONE}, timeout=30).status_code == 403
    r = requests.post(
        f"{url}/api/messages/africastalking/sms?secret={AT['callback_secret']}", data={"text": "x"}, timeout=30
    )
    assert r.status_code == 400
    assert "'id'" in r.json()["error"]["message"]
    assert rows(app, Report) == []
    # Control characters (a NUL no database stores in text) are dropped, not a 500.
    assert at_sms(url, "FLOOD\x00 60 kebon bawang rw 3\x07", "ctl-1", PHONE).status_code == 200
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
