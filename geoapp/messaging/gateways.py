"""The send APIs of the gateways, over plain HTTP (``urllib``): Africa's Talking and Twilio.

- Africa's Talking: ``POST {base}/version1/messaging`` with the ``apiKey`` header and form fields
  ``username, to, message, from``; the answer's ``SMSMessageData.Recipients[0]`` has ``statusCode``
  (100-102 accepted) and ``messageId``.
- Twilio: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth
  (AccountSid, AuthToken) and form fields ``To, From, Body`` (WhatsApp numbers prefixed ``whatsapp:``);
  201 with ``sid``.

Network errors, 429 and 5xx are worth retrying; other 4xx answers are not.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from flask import current_app

from geoapp.messaging.settings import Gateway

AT_ACCEPTED = {100, 101, 102}
AT_RETRY = {500, 501, 502}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: str | None = None
    error: str | None = None
    retry: bool = False


def send(gw: Gateway, *, to: str, body: str, channel: str) -> SendResult:
    if gw.name == "africastalking":
        return _africastalking(gw, to, body)
    if gw.name == "twilio":
        return _twilio(gw, to, body, channel)
    return SendResult(False, error=f"{gw.name} does not send by HTTP", retry=False)


def _post(url: str, form: dict, headers: dict) -> tuple[int, bytes]:
    data = urllib.parse.urlencode({k: v for k, v in form.items() if v is not None}).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers)
    timeout = float(current_app.config["MESSAGES_HTTP_TIMEOUT_S"])
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the configured gateway URL
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _africastalking(gw: Gateway, to: str, body: str) -> SendResult:
    url = f"{gw.base_url}/version1/messaging"
    form = {"username": gw.get("username"), "to": to, "message": body, "from": gw.get("sender_id")}
    headers = {
        "apiKey": str(gw.get("api_key")),
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    try:
        status, raw = _post(url, form, headers)
    except OSError as exc:
        return SendResult(False, error=f"Africa's Talking unreachable: {exc}", retry=True)
    if status == 429 or status >= 500:
        return SendResult(False, error=f"Africa's Talking answered {status}", retry=True)
    try:
        recipient = json.loads(raw)["SMSMessageData"]["Recipients"][0]
        code = int(recipient.get("statusCode"))
    except (ValueError, KeyError, IndexError, TypeError):
        return SendResult(False, error=f"Africa's Talking answered {status}: {raw[:200]!r}", retry=status >= 500)
    if code in AT_ACCEPTED:
        return SendResult(True, message_id=str(recipient.get("messageId")))
    return SendResult(False, error=f"Africa's Talking: {recipient.get('status')} ({code})", retry=code in AT_RETRY)


def _twilio(gw: Gateway, to: str, body: str, channel: str) -> SendResult:
    sid = str(gw.get("account_sid"))
    url = f"{gw.base_url}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json"
    sender = gw.get("whatsapp_from") if channel == "whatsapp" else gw.get("from")
    form = {
        "To": f"whatsapp:{to}" if channel == "whatsapp" else to,
        "From": sender,
        "MessagingServiceSid": gw.get("messaging_service_sid") if not sender else None,
        "Body": body,
        "StatusCallback": _callback_url("/api/messages/twilio/status"),
    }
    auth = base64.b64encode(f"{sid}:{gw.get('auth_token')}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Accept": "application/json"}
    try:
        status, raw = _post(url, form, headers)
    except OSError as exc:
        return SendResult(False, error=f"Twilio unreachable: {exc}", retry=True)
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = {}
    if status in (200, 201) and answer.get("sid"):
        return SendResult(True, message_id=str(answer["sid"]))
    error = f"Twilio answered {status}: {answer.get('message') or raw[:200]!r}"
    return SendResult(False, error=error, retry=status == 429 or status >= 500)


def _callback_url(path: str) -> str | None:
    base = current_app.config.get("MESSAGES_PUBLIC_URL")
    return f"{str(base).rstrip('/')}{path}" if base else None
