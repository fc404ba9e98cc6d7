"""Telling a message's sender what became of their report (called by moderation on each review)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geoapp.messaging import outbox
from geoapp.messaging.models import Contact, Inbound
from geoapp.messaging.texts import text
from geoapp.models import Report, Review
from layers.errors import InvalidInputError

MESSAGE_SOURCES = ("sms", "whatsapp", "ussd")


def check_review(rep: Report, status: str, changes: dict | None) -> None:
    """A message report still without a place cannot be published until a moderator gives lon/lat."""
    attrs = dict(rep.attributes or {})
    if rep.source not in MESSAGE_SOURCES or not attrs.get("needs_location"):
        return
    if changes and ("lon" in changes or "lat" in changes):
        attrs.pop("needs_location", None)
        rep.attributes = attrs
        return
    if status == "published":
        raise InvalidInputError(
            "this message report has no location yet (needs_location): give lon and lat in edits to publish it"
        )


def review_message(s: Session, rep: Report, status: str, reason: str | None) -> list[int]:
    """Queue "published" / "not published: <reason>" to the sender, in their language (once per review)."""
    if rep.source not in MESSAGE_SOURCES or status not in ("published", "rejected"):
        return []
    row = s.execute(
        select(Inbound, Contact).join(Contact, Contact.id == Inbound.contact_id).where(Inbound.report_id == rep.id)
    ).first()
    if row is None:
        return []
    msg, contact = row
    n = s.scalar(select(func.count()).select_from(Review).where(Review.report_id == rep.id))
    lang = contact.language
    body = (
        text(lang, "published", ref=msg.ref)
        if status == "published"
        else text(lang, "rejected", ref=msg.ref, reason=(reason or "-").strip()[:100])
    )
    s.flush()
    i = outbox.queue(s, contact, kind="review", body=body, dedupe_key=f"review:{rep.id}:{n}", report_id=rep.id)
    ids = [i] if i is not None else []
    outbox.dispatch(ids)  # in a request: after the response, when the review is committed
    return ids
