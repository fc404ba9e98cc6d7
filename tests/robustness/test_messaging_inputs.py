"""Message webhooks and the alerts API fed bad input: wrong secrets and signatures are 403, broken payloads a
4xx JSON error naming the field, odd texts a clean answer; a gateway's resend stores nothing twice."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import bearer
from tests.robustness.checks import http_problem
from tests.web.messaging.fakes import AT, SMSSYNC, TWILIO, FakeGateway, configure, twilio_payload, twilio_sign

pytestmark = pytest.mark.filterwarnings("ignore")
AT_SMS = "/api/messages/africastalking/sms"
AT_USSD = "/api/messages/africastalking/ussd"
AT_DELIVERY = "/api/messages/africastalking/delivery"
SECRET = f"?secret={AT['callback_secret']}"


@pytest.fixture(scope="module")
def msg(corner_area, corner_build, tmp_path_factory):
    from sqlalchemy.orm import Session

    from geoapp import create_app
    from geoapp.auth import create_user

    tmp = tmp_path_factory.mktemp("msg")
    area = tmp / "area"
    shutil.copytree(corner_area, area)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "robust",
            "AREA": str(area),
            "BUILD": str(corner_build),
            "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
            "ANON_RATE_LIMIT": "1000000/hour",
            "EXPORT_DIR": str(tmp / "exports"),
        }
    )
    gateway = FakeGateway()
    configure(app, gateway)
    tokens = {}
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        for role in ("volunteer", "moderator", "planner"):
            _, tokens[role] = create_user(s, f"msg-{role}", role)
    app.tokens = tokens  # type: ignore[attr-defined]
    yield app
    gateway.close()


def _count(app, model_name: str) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from geoapp.messaging import models

    model = getattr(models, model_name)
    with Session(app.extensions["geoapp.db"]) as s:
        return s.scalar(select(func.count()).select_from(model))


def _at_form(**over):
    form = {"from": "+254711000111", "to": "21525", "id": "ATid-base", "text": "BANJIR 60", "date": "2026-12-05"}
    form.update(over)
    return {k: v for k, v in form.items() if v is not None}


# name -> (url, form, expected status; None = any clean answer)
AT_CASES = {
    "no_secret": (AT_SMS, _at_form(id="a1"), 403),
    "wrong_secret": (AT_SMS + "?secret=nope", _at_form(id="a2"), 403),
    "empty_secret": (AT_SMS + "?secret=", _at_form(id="a3"), 403),
    "secret_nul": (AT_SMS + "?secret=%00", _at_form(id="a4"), 403),
    "secret_prefix": (AT_SMS + "?secret=" + AT["callback_secret"][:-1], _at_form(id="a5"), 403),
    "secret_unicode": (AT_SMS + "?secret=%F0%9F%92%A5", _at_form(id="a6"), 403),
    "missing_id": (AT_SMS + SECRET, _at_form(id=None), 400),
    "missing_from": (AT_SMS + SECRET, _at_form(id="a7", **{"from": None}), 400),
    "phone_letters": (AT_SMS + SECRET, _at_form(id="a8", **{"from": "hello"}), 400),
    "phone_huge": (AT_SMS + SECRET, _at_form(id="a9", **{"from": "+" + "1" * 5000}), 400),
    "phone_nul": (AT_SMS + SECRET, _at_form(id="a10", **{"from": "+2547\x001100"}), 400),
    "text_missing": (AT_SMS + SECRET, _at_form(id="a11", text=None), None),
    "text_nul": (AT_SMS + SECRET, _at_form(id="a12", text="BANJIR\x00 60\x00"), None),
    "text_huge": (AT_SMS + SECRET, _at_form(id="a13", text="BANJIR 60 " * 20000), None),
    "text_unicode": (AT_SMS + SECRET, _at_form(id="a14", text="МАФУРИКО 💥 ٦٠ 𝟔𝟎 ²"), None),
    "text_rtl_controls": (AT_SMS + SECRET, _at_form(id="a15", text="\u202ebanjir\u200b 60\ufeff"), None),
    "id_huge": (AT_SMS + SECRET, _at_form(id="x" * 10000), None),
    "ussd_missing_session": (AT_USSD + SECRET, {"phoneNumber": "+254711000111", "text": ""}, 400),
    "ussd_missing_phone": (AT_USSD + SECRET, {"sessionId": "s1", "text": ""}, 400),
    "ussd_wrong_secret": (AT_USSD + "?secret=x", {"sessionId": "s1", "phoneNumber": "+254711000111"}, 403),
    "ussd_superscript_choice": (
        AT_USSD + SECRET,
        {"sessionId": "s2", "phoneNumber": "+254711000111", "text": "²"},
        None,
    ),
    "ussd_superscript_page": (
        AT_USSD + SECRET,
        {"sessionId": "s3", "phoneNumber": "+254711000111", "text": "1*²"},
        None,
    ),
    "ussd_huge_number": (
        AT_USSD + SECRET,
        {"sessionId": "s4", "phoneNumber": "+254711000111", "text": "9" * 5000},
        None,
    ),
    "ussd_many_pages": (
        AT_USSD + SECRET,
        {"sessionId": "s5", "phoneNumber": "+254711000111", "text": "1" + "*0" * 3000},
        None,
    ),
    "ussd_depth_odd": (AT_USSD + SECRET, {"sessionId": "s6", "phoneNumber": "+254711000111", "text": "1*1*-1"}, None),
    "ussd_stars_only": (AT_USSD + SECRET, {"sessionId": "s7", "phoneNumber": "+254711000111", "text": "****"}, None),
    "ussd_nul": (AT_USSD + SECRET, {"sessionId": "s8", "phoneNumber": "+254711000111", "text": "1*\x00"}, None),
    "delivery_unknown_id": (AT_DELIVERY + SECRET, {"id": "never-sent", "status": "Success"}, None),
    "delivery_missing_status": (AT_DELIVERY + SECRET, {"id": "never-sent"}, 400),
    "delivery_odd_status": (AT_DELIVERY + SECRET, {"id": "never-sent", "status": "\x00" * 10}, None),
    "delivery_wrong_secret": (AT_DELIVERY + "?secret=no", {"id": "x", "status": "Success"}, 403),
}


@pytest.mark.parametrize("case", list(AT_CASES))
def test_africastalking(msg, case):
    url, form, status = AT_CASES[case]
    before = _count(msg, "Inbound")
    resp = msg.test_client().post(url, data=form)
    if url.startswith(AT_USSD) and status is None:  # USSD answers text/plain CON/END
        assert resp.status_code == 200, resp.get_data()[:200]
        assert resp.get_data(as_text=True).startswith(("CON ", "END ")), resp.get_data()[:200]
        return
    problem = http_problem(resp, allow_ok=status is None)
    assert problem is None, problem
    if status:
        assert resp.status_code == status, resp.get_data()[:200]
        assert _count(msg, "Inbound") == before


def test_non_utf8_form_body(msg):
    """A gateway that sends Latin-1 bytes gets a clean answer, not a 500."""
    body = b"from=%2B254711000111&id=latin1&text=caf%E9+BANJIR+60"
    resp = msg.test_client().post(AT_SMS + SECRET, data=body, content_type="application/x-www-form-urlencoded")
    assert http_problem(resp, allow_ok=True) is None


def test_resend_is_not_stored_twice(msg):
    client = msg.test_client()
    form = _at_form(id="resend-1", text="BANJIR 60")
    first = client.post(AT_SMS + SECRET, data=form)
    assert first.status_code == 200, first.get_data()
    n = _count(msg, "Inbound")
    for _ in range(3):
        again = client.post(AT_SMS + SECRET, data=form)
        assert again.status_code == 200
        assert again.get_json()["duplicate"] is True
    assert _count(msg, "Inbound") == n


TW_URL = "http://localhost/api/messages/twilio/sms"
TW_STATUS = "http://localhost/api/messages/twilio/status"


def _twilio(msg, path, params, signature):
    return msg.test_client().post(path, data=params, headers={"X-Twilio-Signature": signature} if signature else {})


# name -> (path, params, how to sign, expected status)
TWILIO_CASES = {
    "no_signature": ("/api/messages/twilio/sms", twilio_payload("SM1", "BANJIR 60", "+6281200000"), None, 403),
    "wrong_signature": ("/api/messages/twilio/sms", twilio_payload("SM2", "BANJIR 60", "+6281200000"), "garbage", 403),
    "signed_other_url": (
        "/api/messages/twilio/sms",
        twilio_payload("SM3", "BANJIR 60", "+6281200000"),
        "other-url",
        403,
    ),
    "signed_other_token": (
        "/api/messages/twilio/sms",
        twilio_payload("SM4", "BANJIR 60", "+6281200000"),
        "other-token",
        403,
    ),
    "tampered_body": ("/api/messages/twilio/sms", twilio_payload("SM5", "BANJIR 60", "+6281200000"), "tampered", 403),
    "signature_unicode": ("/api/messages/twilio/sms", twilio_payload("SM6", "x", "+6281200000"), "💥", 403),
    "signed_missing_sid": ("/api/messages/twilio/sms", {"From": "+6281200000", "Body": "BANJIR"}, "good", 400),
    "signed_bad_from": ("/api/messages/twilio/sms", twilio_payload("SM7", "BANJIR 60", "whatsapp:nope"), "good", 400),
    "signed_whatsapp_ok": (
        "/api/messages/twilio/sms",
        twilio_payload("SM8", "BANJIR 60", "whatsapp:+6281200000"),
        "good",
        None,
    ),
    "status_no_signature": (
        "/api/messages/twilio/status",
        {"MessageSid": "SMx", "MessageStatus": "delivered"},
        None,
        403,
    ),
    "status_unknown_sid": (
        "/api/messages/twilio/status",
        {"MessageSid": "SMnever", "MessageStatus": "delivered"},
        "good",
        None,
    ),
    "status_missing_status": ("/api/messages/twilio/status", {"MessageSid": "SMnever"}, "good", 400),
}


@pytest.mark.parametrize("case", list(TWILIO_CASES))
def test_twilio(msg, case):
    path, params, how, status = TWILIO_CASES[case]
    url = "http://localhost" + path
    sig = {
        None: None,
        "garbage": "garbage",
        "💥": "💥",
        "good": twilio_sign(url, params, TWILIO["auth_token"]),
        "other-url": twilio_sign("http://evil.example" + path, params, TWILIO["auth_token"]),
        "other-token": twilio_sign(url, params, "not-the-token"),
        "tampered": twilio_sign(url, {**params, "Body": "something else"}, TWILIO["auth_token"]),
    }[how]
    before = _count(msg, "Inbound")
    resp = _twilio(msg, path, params, sig)
    if status is None:
        assert resp.status_code in (200, 204), resp.get_data()[:200]
        return
    problem = http_problem(resp)
    assert problem is None, problem
    assert resp.status_code == status, resp.get_data()[:200]
    assert _count(msg, "Inbound") == before


SMSSYNC_CASES = {
    "no_secret": ("POST", "", {"from": "+254711000111", "message": "x", "message_id": "s1"}, None, 403),
    "wrong_secret": (
        "POST",
        "",
        {"from": "+254711000111", "message": "x", "message_id": "s2", "secret": "no"},
        None,
        403,
    ),
    "missing_id": ("POST", "", {"from": "+254711000111", "message": "x", "secret": SMSSYNC["secret"]}, None, 400),
    "bad_phone": (
        "POST",
        "",
        {"from": "x", "message": "x", "message_id": "s3", "secret": SMSSYNC["secret"]},
        None,
        400,
    ),
    "get_no_task": ("GET", f"?secret={SMSSYNC['secret']}", None, None, 405),
    "unknown_task": ("GET", f"?secret={SMSSYNC['secret']}&task=explode", None, None, 405),
    "sent_not_json": ("POST", f"?secret={SMSSYNC['secret']}&task=sent", None, b"not json", 400),
    "sent_not_list": ("POST", f"?secret={SMSSYNC['secret']}&task=sent", None, b'{"queued_messages": "abc"}', 400),
    "sent_nested": ("POST", f"?secret={SMSSYNC['secret']}&task=sent", None, b'{"queued_messages": [[[{}]]]}', None),
    "sent_bomb": ("POST", f"?secret={SMSSYNC['secret']}&task=sent", None, b"[" * 50000 + b"]" * 50000, 400),
    "result_not_list": ("POST", f"?secret={SMSSYNC['secret']}&task=result", None, b'{"message_result": 5}', 400),
    "result_odd_items": (
        "POST",
        f"?secret={SMSSYNC['secret']}&task=result",
        None,
        b'{"message_result": [1, "x", null, {"uuid": ["a"]}, {"uuid": "nope", "sent_result_code": NaN}]}',
        None,
    ),
    "result_json_array": ("POST", f"?secret={SMSSYNC['secret']}&task=result", None, b"[1,2]", 400),
}


@pytest.mark.parametrize("case", list(SMSSYNC_CASES))
def test_smssync(msg, case):
    method, query, form, raw, status = SMSSYNC_CASES[case]
    client = msg.test_client()
    url = "/api/messages/smssync" + query
    if raw is not None:
        resp = client.open(url, method=method, data=raw, content_type="application/json")
    else:
        resp = client.open(url, method=method, data=form)
    body = resp.get_data()
    assert resp.status_code < 500, body[:200]
    assert b"Traceback" not in body
    if status:
        assert resp.status_code == status, body[:200]
        assert resp.is_json


# (url, role, json body, expected status)
STAFF_CASES = {
    "sub_not_json": ("/api/messages/subscriptions", "moderator", "raw:hello", 400),
    "sub_list": ("/api/messages/subscriptions", "moderator", [1, 2], 400),
    "sub_no_place": ("/api/messages/subscriptions", "moderator", {"phone": "+254711000111"}, 400),
    "sub_place_list": ("/api/messages/subscriptions", "moderator", {"phone": "+254711000111", "place": ["a"]}, 400),
    "sub_language_list": (
        "/api/messages/subscriptions",
        "moderator",
        {"phone": "+254711000111", "place": "x", "language": ["en"]},
        400,
    ),
    "sub_language_dict": (
        "/api/messages/subscriptions",
        "moderator",
        {"phone": "+254711000111", "place": "x", "language": {"a": 1}},
        400,
    ),
    "sub_language_unknown": (
        "/api/messages/subscriptions",
        "moderator",
        {"phone": "+254711000111", "place": "x", "language": "klingon"},
        400,
    ),
    "sub_volunteer": ("/api/messages/subscriptions", "volunteer", {"phone": "+254711000111", "place": "x"}, 403),
    "sub_anonymous": ("/api/messages/subscriptions", None, {"phone": "+254711000111", "place": "x"}, 401),
    "alert_moderator": ("/api/messages/alerts", "moderator", {"place": "x"}, 403),
    "alert_anonymous": ("/api/messages/alerts", None, {"place": "x"}, 401),
    "alert_not_json": ("/api/messages/alerts", "planner", "raw:{{{", 400),
    "alert_list": ("/api/messages/alerts", "planner", ["place"], 400),
    "alert_unknown_place": ("/api/messages/alerts", "planner", {"place": "Atlantis"}, 400),
    "alert_place_nul": ("/api/messages/alerts", "planner", {"place": "\x00"}, 400),
    "alert_place_huge": ("/api/messages/alerts", "planner", {"place": "x" * 100000}, 400),
    "alert_place_number": ("/api/messages/alerts", "planner", {"place": 1e308}, 400),
    "alert_unknown_scenario": ("/api/messages/alerts", "planner", {"scenario": "nope"}, 404),
    "alert_scenario_list": ("/api/messages/alerts", "planner", {"scenario": ["current"]}, 400),
    "alert_nested_bomb": ("/api/messages/alerts", "planner", "raw:" + "[" * 50000 + "]" * 50000, 400),
    "log_superscript": ("/api/messages/log?limit=%C2%B2", "moderator", None, 400),
    "log_negative": ("/api/messages/log?limit=-1", "moderator", None, 400),
    "log_huge": ("/api/messages/log?limit=" + "9" * 400, "moderator", None, 400),
    "log_anonymous": ("/api/messages/log", None, None, 401),
    "sender_unknown": ("/api/messages/reports/nope/sender", "moderator", None, 404),
    "sender_volunteer": ("/api/messages/reports/nope/sender", "volunteer", None, 403),
}


@pytest.mark.parametrize("case", list(STAFF_CASES))
def test_staff_endpoints(msg, case):
    url, role, body, status = STAFF_CASES[case]
    headers = bearer(msg.tokens[role]) if role else {}
    client = msg.test_client()
    if body is None:
        resp = client.get(url, headers=headers)
    elif isinstance(body, str) and body.startswith("raw:"):
        resp = client.post(url, data=body[4:], content_type="application/json", headers=headers)
    else:
        resp = client.post(url, json=body, headers=headers)
    problem = http_problem(resp)
    assert problem is None, problem
    assert resp.status_code == status, resp.get_data()[:300]
