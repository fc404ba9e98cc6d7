"""Outbound messages: queued once per dedupe key, sent through the gateway's HTTP API with retries and a
per-gateway rate limit, cancelled at once by STOP.

``queue`` writes a row in the caller's transaction; ``dispatch`` hands the ids to the job queue when it
exists (task ``sms_send``), else sends them after the response (or in a thread outside a request), so a
webhook never waits for a gateway. A row is claimed (``queued`` -> ``sending``) by one conditional
UPDATE, so two workers never send the same message, and an alert's rows are keyed ``alert:<id>:<contact>``,
so it reaches each subscriber once.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, has_request_context
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from geoapp import db
from geoapp.messaging import gateways
from geoapp.messaging.models import Contact, Outbound
from geoapp.messaging.settings import gateway
from geoapp.models import utcnow

_log = logging.getLogger(__name__)
ALWAYS = ("reply",)  # answers to the sender's own message (a STOP's confirmation) go out even after STOP


def queue(
    s: Session,
    contact: Contact,
    *,
    kind: str,
    body: str,
    dedupe_key: str,
    report_id: str | None = None,
    alert_id: int | None = None,
) -> int | None:
    """A message to send to ``contact`` (None when its key was queued before, or the contact said STOP)."""
    if contact.stopped_at is not None and kind not in ALWAYS:
        return None
    if s.scalar(select(Outbound.id).where(Outbound.dedupe_key == dedupe_key)) is not None:
        return None
    now = utcnow()
    row = Outbound(
        dedupe_key=dedupe_key,
        contact_id=contact.id,
        gateway=contact.gateway,
        channel=contact.channel,
        kind=kind,
        body=body,
        report_id=report_id,
        alert_id=alert_id,
        status="queued",
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    s.flush()
    return row.id


def cancel_for(s: Session, contact_id: int) -> int:
    """STOP: every message still waiting for this contact is cancelled (replies to its own messages aside)."""
    res = s.execute(
        update(Outbound)
        .where(
            Outbound.contact_id == contact_id,
            Outbound.status.in_(("queued", "retry")),
            Outbound.kind.not_in(ALWAYS),
        )
        .values(status="cancelled", error="the recipient sent STOP", updated_at=utcnow())
    )
    return int(getattr(res, "rowcount", 0) or 0)


def dispatch(ids: list[int]) -> None:
    """Send ``ids`` without holding up the caller. In a request this happens once the response is sent (the
    rows are committed by then); elsewhere the caller has committed them already."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if has_request_context():
        from flask import after_this_request

        @after_this_request
        def _later(response):
            response.call_on_close(lambda: _hand_over(app, ids))
            return response

        return
    _hand_over(app, ids, thread=True)


def _hand_over(app: Flask, ids: list[int], *, thread: bool = False) -> None:
    """To the job queue (task ``sms_send``) when this instance runs one, else sent here."""
    with app.app_context():
        if "geoapp.jobs" in app.extensions and app.config.get("MESSAGES_USE_JOBS", True):
            from geoapp import jobs

            for i in ids:
                jobs.submit("sms_send", {"id": i}, dedupe_key=f"sms_send:{i}")
            return
    if thread:
        threading.Thread(target=_send_in, args=(app, ids), daemon=True).start()
    else:
        _send_in(app, ids)


def _send_in(app: Flask, ids: list[int]) -> None:
    with app.app_context():
        for i in ids:
            try:
                send_one(i)
            except Exception:  # a crash on one message must not lose the others; it stays queued
                _log.exception("sending message %s failed", i)


def send_one(outbound_id: int) -> str:
    """Send one message with retries; returns its final status (``sent``, ``failed``, ``cancelled``...)."""
    attempts = int(current_app.config["MESSAGES_SEND_ATTEMPTS"])
    backoff = float(current_app.config["MESSAGES_RETRY_BACKOFF_S"])
    with Session(db.engine()) as s:
        if s.scalar(select(Outbound.gateway).where(Outbound.id == outbound_id)) == "smssync":
            return "queued"  # the phone fetches its messages (GET ?task=send): nothing to push
    while True:
        claimed = _claim(outbound_id)
        if claimed is None:
            with Session(db.engine()) as s:
                row = s.get(Outbound, outbound_id)
                return row.status if row else "missing"
        row, number = claimed
        gw = gateway(row.gateway)
        if gw is None:
            return _finish(outbound_id, "failed", error=f"the {row.gateway} gateway is not configured")
        _RATE.wait(gw.name, gw.rate_per_s)
        result = gateways.send(gw, to=number, body=row.body, channel=row.channel)
        if result.ok:
            return _finish(outbound_id, "sent", gateway_id=result.message_id)
        if not result.retry or row.attempts >= attempts:
            return _finish(outbound_id, "failed", error=result.error)
        _finish(outbound_id, "retry", error=result.error)
        time.sleep(backoff * 2 ** (row.attempts - 1))


def _claim(outbound_id: int) -> tuple[Outbound, str] | None:
    """Take the row for sending (one worker wins); None when it is not waiting or its contact said STOP."""
    from geoapp.messaging.crypto import decrypt

    with Session(db.engine(), expire_on_commit=False) as s, s.begin():
        contact_stopped = (
            select(Contact.id).where(Contact.id == Outbound.contact_id, Contact.stopped_at.is_not(None)).exists()
        )
        s.execute(
            update(Outbound)
            .where(Outbound.id == outbound_id, Outbound.status.in_(("queued", "retry")))
            .where(Outbound.kind.not_in(ALWAYS), contact_stopped)
            .values(status="cancelled", error="the recipient sent STOP", updated_at=utcnow())
        )
        res = s.execute(
            update(Outbound)
            .where(Outbound.id == outbound_id, or_(Outbound.status == "queued", Outbound.status == "retry"))
            .values(status="sending", attempts=Outbound.attempts + 1, updated_at=utcnow())
        )
        if not res.rowcount:  # type: ignore[attr-defined]
            return None
        row = s.get(Outbound, outbound_id)
        assert row is not None
        contact = s.get(Contact, row.contact_id)
        assert contact is not None
        return row, decrypt(contact.phone_enc)


def _finish(outbound_id, status, *, error=None, gateway_id=None) -> str:
    with Session(db.engine()) as s, s.begin():
        values: dict = {"status": status, "updated_at": utcnow(), "error": error}
        if gateway_id:
            values["gateway_message_id"] = gateway_id
        s.execute(update(Outbound).where(Outbound.id == outbound_id).values(**values))
    return status


class _RateLimiter:
    """At most ``rate`` messages a second per gateway (the gateways' own send limits).

    With ``REDIS_URL`` the slots are shared by every process (workers of the job queue): a slot is a
    Redis key set with NX and a time-to-live of one interval; without it, per process.
    """

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, name: str, rate: float) -> None:
        url = current_app.config.get("REDIS_URL")
        if url:
            self._wait_redis(url, f"{current_app.config.get('JOB_QUEUE', 'geoapp')}:sms-rate:{name}", rate)
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(name, now))
            self._next[name] = at + 1.0 / rate
        if at > now:
            time.sleep(at - now)

    @staticmethod
    def _wait_redis(url: str, key: str, rate: float) -> None:
        from redis import Redis

        interval_ms = max(1, round(1000.0 / rate))
        with Redis.from_url(url) as conn:
            while not conn.set(key, b"1", nx=True, px=interval_ms):
                left = conn.pttl(key)
                time.sleep(max(left, 1) / 1000.0)


_RATE = _RateLimiter()


# Delivery status words of each gateway's callback -> ours.
STATUS_WORDS = {
    "delivered": "delivered",
    "success": "delivered",
    "sent": "sent",
    "queued": "sent",
    "accepted": "sent",
    "buffered": "sent",
    "sending": "sent",
    "submitted": "sent",
    "undelivered": "undelivered",
    "failed": "undelivered",
    "rejected": "undelivered",
    "expired": "undelivered",
    "absentsubscriber": "undelivered",
}
RANK = {"sent": 1, "delivered": 2, "undelivered": 2}


def record_status(gateway_name: str, gateway_message_id: str, word: str, error: str | None = None) -> bool:
    """A delivery status from a gateway's callback; False when no message has that id."""
    status = STATUS_WORDS.get(str(word or "").strip().lower().replace(" ", ""))
    if status is None:
        return True  # a status we do not track (e.g. "read"): acknowledged, nothing changes
    with Session(db.engine()) as s, s.begin():
        row = s.scalar(
            select(Outbound).where(
                Outbound.gateway == gateway_name, Outbound.gateway_message_id == str(gateway_message_id)
            )
        )
        if row is None:
            return False
        if RANK.get(row.status, 0) <= RANK[status]:  # callbacks may arrive out of order: never step back
            row.status = status
            row.error = error if status == "undelivered" else row.error
            row.updated_at = utcnow()
    return True
