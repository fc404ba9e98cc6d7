"""Helpers of the message tests: a local HTTP server implementing the gateways' send APIs, the gateways'
inbound payloads, and small waits. (Imported by the tests and their conftest; it holds no tests.)

The fake gateway implements what geoapp calls: Africa's Talking ``POST /version1/messaging`` (form
``username, to, message, from``, header ``apiKey``) and Twilio ``POST /2010-04-01/Accounts/{Sid}/Messages.json``
(basic auth, form ``To, From, Body``). It records every request, can fail the next N with a 500, and can
hold a send until the test releases it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

AT = {"username": "sandbox", "api_key": "at-key-123", "sender_id": "GEOAPP", "callback_secret": "at-callback-secret"}
TWILIO = {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "twilio-token-xyz", "from": "+15005550006"}
SMSSYNC = {"secret": "smssync-secret"}


class FakeGateway:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next = 0
        self.hold: threading.Event | None = None  # once set, the next send waits until the test sets it
        self.held = threading.Event()
        self.lock = threading.Lock()
        self.n = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                with fake.lock:
                    fake.n += 1
                    n = fake.n
                    fail = fake.fail_next > 0
                    fake.fail_next -= 1 if fail else 0
                    fake.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "form": form,
                            "failed": fail,
                        }
                    )
                if fake.hold is not None and not fake.held.is_set():  # the first send after hold is set waits
                    fake.held.set()
                    fake.hold.wait(30)
                if fail:
                    return self._answer(500, {"error": "temporary failure"})
                if self.path == "/version1/messaging":
                    if self.headers.get("apiKey") != AT["api_key"]:
                        return self._answer(401, {"error": "bad key"})
                    rec = {
                        "statusCode": 101,
                        "number": form.get("to"),
                        "status": "Success",
                        "cost": "KES 0.8000",
                        "messageId": f"ATXid_{n}",
                    }
                    return self._answer(201, {"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [rec]}})
                if self.path == f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages.json":
                    auth = base64.b64encode(f"{TWILIO['account_sid']}:{TWILIO['auth_token']}".encode()).decode()
                    if self.headers.get("Authorization") != f"Basic {auth}":
                        return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return self._answer(201, {"sid": f"SM{n:032d}", "status": "queued", "to": form.get("To")})
                return self._answer(404, {"error": "no such API"})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def sent(self) -> list[dict]:
        """Requests answered with success (not the failed ones)."""
        with self.lock:
            return [r for r in self.requests if not r["failed"]]

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def configure(app, gateway: FakeGateway, *, which=("africastalking", "twilio", "smssync")) -> None:
    """Point the app's gateways at the fake (retries quick, no rate wait)."""
    if "africastalking" in which:
        app.config["MESSAGES_AFRICASTALKING"] = {**AT, "base_url": gateway.url, "rate_per_s": 1000}
    if "twilio" in which:
        app.config["MESSAGES_TWILIO"] = {
            **TWILIO,
            "base_url": gateway.url,
            "rate_per_s": 1000,
            "whatsapp_from": "whatsapp:+14155238886",
        }
    if "smssync" in which:
        app.config["MESSAGES_SMSSYNC"] = dict(SMSSYNC)
    app.config["MESSAGES_RETRY_BACKOFF_S"] = 0.01
    app.config["MESSAGES_USE_JOBS"] = False  # sent after the response: the test waits on the fake gateway


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
        return list(s.scalars(select(model).where(*where).order_by(model.id)))


def at_sms(url, text, msg_id, phone, secret=AT["callback_secret"]):
    """Africa's Talking's incoming-message callback, with the fields its documentation lists."""
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


def bodies_to(gw, phone):
    return [r["form"].get("message") for r in gw.sent() if r["form"].get("to") == phone]
