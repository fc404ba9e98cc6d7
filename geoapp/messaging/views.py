"""Webhooks of the gateways and the message API (``/api/messages``).

Inbound (each verifies its gateway; a gateway not configured answers 404 saying so):

- ``POST /api/messages/africastalking/sms?secret=`` fields ``from, to, text, date, id, linkId, networkCode``
- ``POST /api/messages/africastalking/ussd?secret=`` fields ``sessionId, serviceCode, phoneNumber, networkCode,
  text``; answers ``CON ...``/``END ...`` (text/plain)
- ``POST /api/messages/africastalking/delivery?secret=`` fields ``id, status, phoneNumber, failureReason``
- ``POST /api/messages/twilio/sms`` (SMS and WhatsApp) fields ``MessageSid, From, To, Body, ...``, signed
  ``X-Twilio-Signature``; answers empty TwiML (replies go through the API, logged)
- ``POST /api/messages/twilio/status`` fields ``MessageSid, MessageStatus, ErrorCode``, signed
- ``POST /api/messages/smssync`` fields ``from, message, message_id, sent_to, secret, device_id,
  sent_timestamp``; ``GET ?task=send`` hands the phone its messages, ``POST ?task=sent`` and ``?task=result``
  confirm them

Staff: ``GET /api/messages/status`` (who is configured), ``GET/POST /api/messages/subscriptions``
(moderators add a number), ``GET /api/messages/subscribers`` (counts), ``POST /api/messages/alerts``
(planners), ``GET /api/messages/log`` and ``GET /api/messages/reports/<id>/sender`` (moderators).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, request, url_for
from sqlalchemy import select, update

from geoapp import auth, db
from geoapp.errors import APIError
from geoapp.messaging import alerts, inbound, outbox, places, settings, ussd
from geoapp.messaging.crypto import decrypt, mask
from geoapp.messaging.models import Contact, Inbound, Outbound
from geoapp.messaging.signatures import secret_valid, twilio_valid
from geoapp.models import utcnow
from geoapp.reports.store import write_transaction
from layers.errors import InvalidInputError
from layers.hazard.kinds import get_kind

bp = Blueprint("messages", __name__, url_prefix="/api/messages")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _field(name: str, *, required: bool = True) -> str:
    value = request.form.get(name)
    if required and not value:
        raise InvalidInputError(f"field '{name}' is missing from the gateway's payload")
    return value or ""


def _at_secret(gw) -> None:
    if not secret_valid(gw.get("callback_secret"), request.args.get("secret")):
        raise APIError(403, "forbidden", "wrong or missing ?secret= (the callback_secret of MESSAGES_AFRICASTALKING)")


# --- Africa's Talking ---------------------------------------------------------------------------


@bp.post("/africastalking/sms")
def africastalking_sms():
    gw = settings.require_gateway("africastalking")
    _at_secret(gw)
    got = inbound.receive(
        gateway="africastalking", message_id=_field("id"), phone=_field("from"), body=_field("text", required=False)
    )
    return jsonify({"received": True, "duplicate": got.duplicate}), 200


@bp.post("/africastalking/ussd")
def africastalking_ussd():
    gw = settings.require_gateway("africastalking")
    _at_secret(gw)
    body = ussd.answer(session_id=_field("sessionId"), phone=_field("phoneNumber"), path=_field("text", required=False))
    return Response(body, mimetype="text/plain")


@bp.post("/africastalking/delivery")
def africastalking_delivery():
    gw = settings.require_gateway("africastalking")
    _at_secret(gw)
    known = outbox.record_status("africastalking", _field("id"), _field("status"), request.form.get("failureReason"))
    return jsonify({"known": known}), 200


# --- Twilio (SMS and WhatsApp) --------------------------------------------------------------------


def _twilio_checked():
    gw = settings.require_gateway("twilio")
    if not twilio_valid(str(gw.get("auth_token"))):
        raise APIError(403, "forbidden", "X-Twilio-Signature is missing or does not match this request")
    return gw


@bp.post("/twilio/sms")
def twilio_sms():
    _twilio_checked()
    inbound.receive(
        gateway="twilio", message_id=_field("MessageSid"), phone=_field("From"), body=_field("Body", required=False)
    )
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/twilio/status")
def twilio_status():
    _twilio_checked()
    error = request.form.get("ErrorCode")
    outbox.record_status(
        "twilio", _field("MessageSid"), _field("MessageStatus"), f"Twilio error {error}" if error else None
    )
    return Response("", status=204)


# --- SMSSync (an Android phone as the gateway) ----------------------------------------------------


def _smssync_payload(success: bool, error: str | None = None, status: int = 200, **extra):
    return jsonify({"payload": {"success": success, "error": error, **extra}}), status


@bp.route("/smssync", methods=["GET", "POST"])
def smssync():
    gw = settings.require_gateway("smssync")
    secret = request.values.get("secret")
    if not secret_valid(gw.get("secret"), secret):
        return _smssync_payload(False, "wrong or missing secret", 403)
    task = request.args.get("task")
    if task == "send":
        return _smssync_send(gw)
    if task == "sent":
        return _smssync_sent()
    if task == "result":
        return _smssync_result()
    if request.method != "POST":
        return _smssync_payload(False, "POST a message, or GET ?task=send", 405)
    inbound.receive(
        gateway="smssync", message_id=_field("message_id"), phone=_field("from"), body=_field("message", required=False)
    )
    return _smssync_payload(True)


def _smssync_send(gw):
    """The phone asks what to send: every queued SMSSync message, marked ``sending`` until it confirms."""
    with write_transaction() as s:
        rows = s.execute(
            select(Outbound, Contact)
            .join(Contact, Contact.id == Outbound.contact_id)
            .where(
                Outbound.gateway == "smssync", Outbound.status.in_(("queued", "retry")), Contact.stopped_at.is_(None)
            )
            .order_by(Outbound.id)
            .limit(50)
        ).all()
        messages = []
        for out, contact in rows:
            out.status, out.gateway_message_id, out.updated_at = "sending", f"geoapp-{out.id}", utcnow()
            out.attempts += 1
            messages.append({"to": decrypt(contact.phone_enc), "message": out.body, "uuid": out.gateway_message_id})
    return jsonify({"payload": {"task": "send", "secret": gw.get("secret"), "messages": messages}})


def _json_list(key: str) -> list:
    try:
        body = request.get_json(force=True, silent=False) or {}
    except Exception as exc:
        raise InvalidInputError(f"the body is not JSON with '{key}'") from exc
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InvalidInputError(f"'{key}' must be a list")
    return items


def _smssync_sent():
    uuids = [str(u) for u in _json_list("queued_messages")]
    with write_transaction() as s:
        s.execute(
            update(Outbound)
            .where(Outbound.gateway == "smssync", Outbound.gateway_message_id.in_(uuids), Outbound.status == "sending")
            .values(status="sent", updated_at=utcnow())
        )
    return jsonify({"message_uuids": uuids})


def _smssync_result():
    # SMSSync reports Android's result codes: 0 (RESULT_OK) for sent and for delivered, others are errors.
    for r in _json_list("message_result"):
        if isinstance(r, dict) and r.get("uuid"):
            if str(r.get("delivered_result_code")) == "0":
                word, error = "delivered", None
            elif str(r.get("sent_result_code")) == "0":
                word, error = "sent", None
            else:
                word, error = "failed", str(r.get("sent_result_message") or r.get("delivered_result_message") or "")
            outbox.record_status("smssync", str(r["uuid"]), word, error or None)
    return _smssync_payload(True)


# --- staff ------------------------------------------------------------------------------------------


@bp.get("/status")
def status():
    """Which gateways are on (no secrets); with none, says that messages are off."""
    names = settings.configured()
    body = {"enabled": bool(names), "gateways": names}
    if not names:
        body["message"] = "messages are off: no SMS gateway is configured on this instance"
    return jsonify(body)


@bp.get("/subscribers")
@auth.require("view_exact")
def subscribers():
    settings.require_any()
    return jsonify({"neighbourhoods": alerts.subscriber_counts()})


@bp.post("/subscriptions")
@auth.require("review")
def add_subscription():
    """A moderator subscribes a number: ``{"phone", "place" (name or code), "language"}``."""
    gw = settings.default_gateway()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object with 'phone' and 'place'")
    lang = body.get("language") or "en"
    if lang not in places.keywords().languages:
        raise InvalidInputError(f"language must be one of {', '.join(places.keywords().languages)}")
    place, candidates = places.parser().resolve_boundary(str(body.get("place") or ""))
    if place is None:
        hint = f"; did you mean one of {list(candidates)}" if candidates else ""
        raise InvalidInputError(f"place: no single neighbourhood is named {body.get('place')!r}{hint}")
    user = auth.current_user()
    with write_transaction() as s:
        contact = inbound.contact_for(s, str(body.get("phone") or ""), gateway=gw)
        contact.language = lang
        sub = inbound.subscribe(s, contact, place, by=user.id if user else None)
        out = {"subscription": sub.id, "place": place.name, "boundary": sub.boundary_set, "area_id": sub.boundary_id}
    return jsonify(out), 201


@bp.post("/alerts")
@auth.require("view_exact")
def send_alert():
    """A planner alerts one neighbourhood: ``{"place" or "boundary"+"area_id", "scenario"?, "shelter"?, "key"?,
    "kind"?}`` (``kind``: the hazard kind whose words the alert speaks; default the area's first scenario's)."""
    settings.require_any()
    user = auth.current_user()
    if user is None or user.role not in ("planner", "admin"):
        raise APIError(403, "forbidden", "only planners send alerts")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object naming a 'place' (or 'boundary' and 'area_id')")
    if any(not isinstance(body.get(k), (str, type(None))) for k in ("place", "area_id", "scenario", "boundary")):
        raise InvalidInputError("place, area_id, scenario and boundary must be strings (names or codes)")
    if body.get("scenario"):
        done = alerts.send_area_alerts(None, str(body["scenario"]), boundary=body.get("boundary"))
        return jsonify(done), 202
    place, candidates = places.parser().resolve_boundary(str(body.get("place") or body.get("area_id") or ""))
    if place is None or not place.boundary_ids:
        raise InvalidInputError(f"place: no single neighbourhood is named {body.get('place')!r}; {list(candidates)}")
    shelter = body.get("shelter")
    if shelter is not None and (not isinstance(shelter, str) or len(shelter) > 100):
        raise InvalidInputError("shelter must be a name of at most 100 characters")
    kind = get_kind(str(body["kind"])).key if body.get("kind") else None
    done = alerts.planner_alert(
        kind=kind,
        boundary=place.boundary_set or "",
        area_id=place.boundary_ids[0],
        name=place.name,
        shelter=shelter,
        user_id=user.id,
        key=str(body["key"]) if body.get("key") else None,
    )
    return jsonify(done), 202


@bp.post("/alerts/form")
@auth.require("view_exact")
def send_alert_form():
    """The dashboard's alert form (a planner's session, CSRF-checked): one neighbourhood with subscribers."""
    settings.require_any()
    user = auth.current_user()
    if user is None or user.role not in ("planner", "admin"):
        raise APIError(403, "forbidden", "only planners send alerts")
    unit = request.form.get("unit", "")
    by_key = {f"{r['boundary']}|{r['area_id']}": r for r in alerts.subscriber_counts()}
    if unit not in by_key:
        raise InvalidInputError("unit: choose a neighbourhood with subscribers from the list")
    shelter = (request.form.get("shelter") or "").strip()[:100] or None
    row = by_key[unit]
    done = alerts.planner_alert(
        boundary=row["boundary"], area_id=row["area_id"], name=row["name"], shelter=shelter, user_id=user.id, key=None
    )
    return redirect(url_for("dashboard.index", alert_sent=done["messages"]) + "#h-messages", code=303)


@bp.get("/log")
@auth.require("review")
def log():
    """The outbound log with delivery statuses (numbers masked; a moderator opens one with /sender)."""
    raw = request.args.get("limit", "200")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= 1000:  # not "²"
        raise InvalidInputError("limit must be a whole number from 1 to 1000")
    limit = int(raw)
    with db.transaction() as s:
        rows = s.execute(
            select(Outbound, Contact)
            .join(Contact, Contact.id == Outbound.contact_id)
            .order_by(Outbound.id.desc())
            .limit(limit)
        ).all()
        out = [
            {
                "id": o.id,
                "to": mask(decrypt(c.phone_enc)),
                "gateway": o.gateway,
                "kind": o.kind,
                "body": o.body,
                "status": o.status,
                "attempts": o.attempts,
                "error": o.error,
                "report_id": o.report_id,
                "alert_id": o.alert_id,
                "updated_at": o.updated_at.isoformat(),
            }
            for o, c in rows
        ]
    return jsonify({"messages": out})


@bp.get("/reports/<report_id>/sender")
@auth.require("review")
def sender(report_id: str):
    """The phone number that sent a report, for a moderator (like ``reporter_contact``)."""
    with db.transaction() as s:
        row = s.execute(
            select(Inbound, Contact)
            .join(Contact, Contact.id == Inbound.contact_id)
            .where(Inbound.report_id == report_id)
        ).first()
        if row is None:
            raise APIError(404, "not_found", f"report {report_id!r} did not come by message")
        i, c = row
        return jsonify(
            {
                "phone": decrypt(c.phone_enc),
                "channel": i.channel,
                "gateway": i.gateway,
                "language": c.language,
                "ref": i.ref,
            }
        )
