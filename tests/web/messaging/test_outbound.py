"""Outbound messages over real HTTP to a local fake of each gateway's send API: alerts (once each, STOP
honoured mid-alert), retries, review outcomes in the sender's language, delivery callbacks, build alerts."""

from __future__ import annotations

import requests

from geoapp.messaging.models import Outbound
from geoapp.models import Report
from tests.helpers import bearer
from tests.web.messaging.fakes import AT, TWILIO, at_sms, bodies_to, rows, twilio_sign, wait_until

A, B, C = "+254711000001", "+254711000002", "+254711000003"


def test_failed_send_is_retried(live):
    url, app, gw = live
    gw.fail_next = 2
    at_sms(url, "FLOOD 60cm kebon bawang rw 3", "retry-1", A)
    out = wait_until(lambda: [o for o in rows(app, Outbound) if o.status in ("sent", "failed")])
    assert (out[0].status, out[0].attempts) == ("sent", 3)
    assert [r["failed"] for r in gw.requests] == [True, True, False]
    assert len({r["form"]["message"] for r in gw.requests}) == 1  # the same message each time


def test_failed_send_gives_up(live):
    url, app, gw = live
    app.config["MESSAGES_SEND_ATTEMPTS"] = 2
    gw.fail_next = 5
    at_sms(url, "FLOOD 60cm kebon bawang rw 3", "retry-2", A)
    out = wait_until(lambda: [o for o in rows(app, Outbound) if o.status in ("sent", "failed")])
    assert (out[0].status, out[0].attempts) == ("failed", 2)
    assert "500" in out[0].error


def test_review_outcome_in_the_senders_language(live, make_user):
    url, app, gw = live
    at_sms(url, "BANJIR 60cm kampung melayu rw 04", "rev-1", A)
    at_sms(url, "MAFURIKO 0.6 kebon bawang rw 3", "rev-2", B)
    wait_until(lambda: len(gw.sent()) == 2)
    _, mod = make_user(app, "moderator")
    by_src = {r.attributes["message_ref"]: r for r in rows(app, Report)}
    ref_a = next(k for k, r in by_src.items() if "KAMPUNG" in r.attributes["place"])
    ref_b = next(k for k in by_src if k != ref_a)
    r = requests.post(
        f"{url}/api/reports/{by_src[ref_a].id}/review", json={"status": "published"}, headers=bearer(mod), timeout=30
    )
    assert r.json() == {"id": by_src[ref_a].id, "status": "published"}
    r = requests.post(
        f"{url}/api/reports/{by_src[ref_b].id}/review",
        json={"status": "rejected", "reason": "duplicate of another report"},
        headers=bearer(mod),
        timeout=30,
    )
    assert r.status_code == 200
    wait_until(lambda: len(gw.sent()) == 4)
    assert bodies_to(gw, A)[-1] == f"Laporan {ref_a} sudah diterbitkan. Terima kasih."
    assert bodies_to(gw, B)[-1] == f"Ripoti yako {ref_b} haijachapishwa: duplicate of another report"


def test_report_without_place_waits_for_a_location(live, make_user):
    url, app, _ = live
    at_sms(url, "BANJIR 60cm RT03 RW04", "noplace-1", A)
    rep = rows(app, Report)[0]
    assert rep.attributes["needs_location"] is True
    assert rep.status == "pending"
    _, mod = make_user(app, "moderator")
    r = requests.post(
        f"{url}/api/reports/{rep.id}/review", json={"status": "published"}, headers=bearer(mod), timeout=30
    )
    assert r.status_code == 400
    assert "needs_location" in r.json()["error"]["message"]
    r = requests.post(
        f"{url}/api/reports/{rep.id}/review",
        json={"status": "published", "edits": {"lon": 106.861, "lat": -6.216}},
        headers=bearer(mod),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    rep = rows(app, Report)[0]
    assert "needs_location" not in rep.attributes
    assert (rep.status, rep.lon, rep.lat) == ("published", 106.861, -6.216)


def test_delivery_status_callbacks(live):
    url, app, gw = live
    at_sms(url, "FLOOD 60cm kebon bawang rw 3", "dlr-1", A)
    out = wait_until(lambda: [o for o in rows(app, Outbound) if o.status == "sent"])[0]
    form = {
        "id": out.gateway_message_id,
        "status": "Success",
        "phoneNumber": A,
        "networkCode": "63902",
        "retryCount": "0",
    }
    hook = f"{url}/api/messages/africastalking/delivery?secret={AT['callback_secret']}"
    assert requests.post(hook, data=form, timeout=30).json() == {"known": True}
    assert rows(app, Outbound)[0].status == "delivered"
    # Twilio: a WhatsApp message, then its signed status callback.
    hook = f"{url}/api/messages/twilio/sms"
    params = {
        "MessageSid": "SM" + "c" * 32,
        "AccountSid": TWILIO["account_sid"],
        "From": "whatsapp:" + B,
        "To": "whatsapp:+14155238886",
        "Body": "flood 50cm kebon bawang rw 3",
        "NumMedia": "0",
    }
    requests.post(
        hook, data=params, headers={"X-Twilio-Signature": twilio_sign(hook, params, TWILIO["auth_token"])}, timeout=30
    )
    tw = wait_until(lambda: [o for o in rows(app, Outbound) if o.gateway == "twilio" and o.status == "sent"])[0]
    status_hook = f"{url}/api/messages/twilio/status"
    cb = {
        "MessageSid": tw.gateway_message_id,
        "MessageStatus": "delivered",
        "AccountSid": TWILIO["account_sid"],
        "To": "whatsapp:" + B,
        "ApiVersion": "2010-04-01",
    }
    assert requests.post(status_hook, data=cb, timeout=30).status_code == 403
    sig = twilio_sign(status_hook, cb, TWILIO["auth_token"])
    assert requests.post(status_hook, data=cb, headers={"X-Twilio-Signature": sig}, timeout=30).status_code == 204
    assert [o.status for o in rows(app, Outbound, Outbound.gateway == "twilio")] == ["delivered"]
    # A late "sent" never steps a delivered message back.
    cb2 = dict(cb, MessageStatus="sent")
    requests.post(
        status_hook,
        data=cb2,
        headers={"X-Twilio-Signature": twilio_sign(status_hook, cb2, TWILIO["auth_token"])},
        timeout=30,
    )
    assert [o.status for o in rows(app, Outbound, Outbound.gateway == "twilio")] == ["delivered"]


def test_sent_through_the_job_queue(live):
    """The default path: each message is an ``sms_send`` job (in-process pool here, RQ with REDIS_URL)."""
    url, app, gw = live
    app.config["MESSAGES_USE_JOBS"] = True
    at_sms(url, "FLOOD 60cm kebon bawang rw 3", "job-1", A)
    wait_until(lambda: bodies_to(gw, A))
    from geoapp import jobs

    def finished():
        with app.app_context():
            return [j for j in jobs.recent(kind="sms_send") if j.status == "finished"]

    job = wait_until(finished)[0]
    assert job.result["status"] == "sent"
    assert [o.status for o in rows(app, Outbound)] == ["sent"]
