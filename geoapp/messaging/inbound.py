"""A message received: the sender's contact, the report or command it carries, and the answer.

Every message-born report is ``pending`` with ``source`` = ``sms``, ``whatsapp`` or ``ussd``; the
gateway's message id (hashed with the gateway's name) is the idempotency key, so a gateway's retry is
answered again but stores nothing twice. The phone number is kept only as a keyed hash and encrypted.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geoapp.messaging import outbox, places
from geoapp.messaging.crypto import encrypt, normalise_phone, phone_key
from geoapp.messaging.models import Contact, Inbound, Subscription
from geoapp.messaging.texts import text
from geoapp.models import utcnow
from geoapp.reports.query import report_config, reports_extent
from geoapp.reports.store import StoreSummary, store_batch, write_transaction
from layers.reports.messages import ParsedMessage, Place
from layers.reports.parse import normalise_reports

REF_ALPHABET = "ACDEFHJKMNPRTUVWXY347"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B: read aloud and typed on a keypad
_LONG_NUMBER = re.compile(r"\+?\d[\d\s\-]{6,}\d")


@dataclass
class Received:
    reply: str
    outbound: list[int]
    duplicate: bool = False
    report_id: str | None = None
    ref: str | None = None


def message_key(gateway: str, message_id: str) -> str:
    return hashlib.sha256(f"{gateway}\x1f{message_id}".encode()).hexdigest()


def contact_for(s: Session, phone: str, *, gateway: str, channel: str | None = None) -> Contact:
    """The contact of a number (created on first contact); its gateway and channel follow its last message."""
    number, kind = normalise_phone(phone)
    channel = channel or kind
    key = phone_key(number)
    c = s.scalar(select(Contact).where(Contact.phone_key == key))
    if c is None:
        c = Contact(phone_key=key, phone_enc=encrypt(number), gateway=gateway, channel=channel, created_at=utcnow())
        s.add(c)
        s.flush()
    elif channel != "ussd":  # a USSD session cannot be answered later: replies go by SMS on the same gateway
        c.gateway, c.channel = gateway, channel
    if c.channel == "ussd":
        c.channel = "sms"
    return c


def receive(*, gateway: str, message_id: str, phone: str, body: str, channel: str | None = None) -> Received:
    """Handle one inbound SMS/WhatsApp message (inside its own write transaction); queue the answer."""
    key = message_key(gateway, message_id)
    body = "".join(ch for ch in str(body or "") if ch >= " " or ch in "\n\t")[:5000]  # no NUL/control characters
    parsed = places.parser().parse(body)
    try:
        with write_transaction() as s:
            seen = s.scalar(select(Inbound).where(Inbound.message_key == key))
            if seen is not None:
                return Received(seen.reply or "", [], duplicate=True, report_id=seen.report_id, ref=seen.ref)
            contact = contact_for(s, phone, gateway=gateway, channel=channel)
            result = _handle(s, contact, parsed, body=body, key=key, gateway=gateway, channel=channel)
    except IntegrityError:  # the same message from a concurrent retry got in first
        with write_transaction() as s:
            seen = s.scalar(select(Inbound).where(Inbound.message_key == key))
            return Received(seen.reply or "" if seen else "", [], duplicate=True)
    outbox.dispatch(result.outbound)
    return result


def _handle(
    s: Session, contact: Contact, parsed: ParsedMessage, *, body: str, key: str, gateway: str, channel: str | None
) -> Received:
    lang = parsed.language or contact.language
    if parsed.language:
        contact.language = parsed.language
    inbound = Inbound(
        message_key=key,
        gateway=gateway,
        channel=channel or contact.channel,
        contact_id=contact.id,
        kind=parsed.kind,
        parse="command",
        language=parsed.language,
        received_at=utcnow(),
    )
    s.add(inbound)
    s.flush()
    report_id = ref = None
    if parsed.kind == "stop":
        stop(s, contact)
        reply = text(lang, "stopped")
    elif parsed.kind == "join":
        if parsed.place is not None:
            subscribe(s, contact, parsed.place)
            reply = text(lang, "subscribed", where=parsed.place.name)
        elif parsed.candidates:
            reply = text(lang, "which", options=" / ".join(parsed.candidates[:3]))
        else:
            reply = text(lang, "no_place")
    elif parsed.kind == "report" and parsed.category is not None:
        ref = new_ref(s)
        report_id = store_message_report(s, parsed, body=body, channel=inbound.channel, key=key, ref=ref)
        inbound.parse = "full" if parsed.complete else "moderator"
        reply = receipt_text(lang, parsed, ref)
    else:
        inbound.parse = "unknown" if parsed.kind in ("unknown", "report") else "command"
        reply = text(lang, "help")
    inbound.ref, inbound.report_id, inbound.reply = ref, report_id, reply
    ids = []
    if inbound.channel != "ussd":
        kind = "receipt" if report_id else "reply"
        ids.append(outbox.queue(s, contact, kind=kind, body=reply, dedupe_key=f"in:{inbound.id}", report_id=report_id))
    return Received(reply, [i for i in ids if i is not None], report_id=report_id, ref=ref)


def new_ref(s: Session) -> str:
    while True:
        ref = "".join(secrets.choice(REF_ALPHABET) for _ in range(6))
        if s.scalar(select(Inbound.id).where(Inbound.ref == ref)) is None:
            return ref


def category_word(language: str | None, category: str) -> str:
    """How the sender's language names a category: its first keyword, in capitals (``BANJIR``)."""
    langs = places.keywords().categories.get(category, {})
    words = langs.get(language or "en") or langs.get("en") or [category]
    return words[0].upper()


def receipt_text(lang: str | None, parsed: ParsedMessage, ref: str) -> str:
    what = category_word(lang, parsed.category or "")
    if parsed.depth_m is not None:
        what += f" {parsed.depth_m:g} m"
    if parsed.place is None:
        return text(lang, "receipt_no_place", what=what, ref=ref)
    return text(lang, "receipt", what=what, where=parsed.place.name[:60], ref=ref)


def store_message_report(
    s: Session, parsed: ParsedMessage, *, body: str, channel: str, key: str, ref: str, source: str | None = None
) -> str | None:
    """Store a parsed report as ``pending`` (inside the caller's transaction); returns its public id.

    An unresolved place stores the area's centre with ``needs_location`` set: a moderator must place
    the report before it can be published. Long digit runs (phone numbers) are masked in the text.
    """
    place = parsed.place
    attrs: dict = {"message_ref": ref, "language": parsed.language}
    if place is None:
        lat, lon = places.parser().gazetteer.reference
        accuracy = None
        attrs["needs_location"] = True
        if parsed.candidates:
            attrs["place_candidates"] = list(parsed.candidates)
    else:
        lon, lat, accuracy = place.lon, place.lat, place.accuracy_m
        attrs.update(place=place.name, place_source=place.source)
    raw = pd.DataFrame(
        {
            "id": [f"message:{key}"],
            "category": [parsed.category],
            "description": [_LONG_NUMBER.sub("[number]", " ".join(body.split()))[:5000] or None],
            "lon": [repr(lon)],
            "lat": [repr(lat)],
            "accuracy_m": [None if accuracy is None else repr(accuracy)],
            "depth_m": [None if parsed.depth_m is None else repr(parsed.depth_m)],
            "source": [source or channel],
            "row": [1],
        },
        dtype=object,
    )
    raw["attributes"] = [attrs]
    result = normalise_reports(raw, config=report_config(), source=source or channel, extent=reports_extent())
    if result.errors:
        return None
    summary = StoreSummary()
    store_batch(s, result, user=None, summary=summary)
    return summary.ids[0] if summary.ids else None


def subscribe(s: Session, contact: Contact, place: Place, *, by: int | None = None) -> Subscription:
    """Subscribe ``contact`` to the neighbourhood ``place`` (a JOIN also ends an earlier STOP)."""
    contact.stopped_at = None
    bset = place.boundary_set or ""
    bid = place.boundary_ids[0] if place.boundary_ids else place.name
    sub = s.scalar(
        select(Subscription).where(
            Subscription.contact_id == contact.id, Subscription.boundary_set == bset, Subscription.boundary_id == bid
        )
    )
    if sub is None:
        sub = Subscription(
            contact_id=contact.id,
            boundary_set=bset,
            boundary_id=bid,
            name=place.name,
            created_by=by,
            created_at=utcnow(),
        )
        s.add(sub)
    sub.active = True
    s.flush()
    return sub


def stop(s: Session, contact: Contact) -> None:
    """STOP, at once: no subscription stays active and nothing still queued goes out."""
    contact.stopped_at = utcnow()
    s.execute(update(Subscription).where(Subscription.contact_id == contact.id).values(active=False))
    outbox.cancel_for(s, contact.id)
