"""Tables of the message channels: contacts (phone encrypted), subscriptions, inbound and outbound messages, alerts.

A phone number is stored twice, neither time in clear: ``phone_key`` (HMAC-SHA256 with a key derived from
the app secret) finds a contact again; ``phone_enc`` (Fernet) lets a moderator read it and the gateway
send to it. Neither column leaves the service except to moderators.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models import Base, UTCDateTime, utcnow


class Contact(Base):
    __tablename__ = "message_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_key: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str] = mapped_column(Text)
    gateway: Mapped[str] = mapped_column(String(20))  # africastalking | twilio | smssync
    channel: Mapped[str] = mapped_column(String(10))  # sms | whatsapp | ussd
    language: Mapped[str] = mapped_column(String(5), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # STOP: nothing is sent until a new JOIN


class Subscription(Base):
    __tablename__ = "message_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("message_contacts.id", ondelete="CASCADE"))
    boundary_set: Mapped[str] = mapped_column(String(50))
    boundary_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # a moderator, or None (by message)

    __table_args__ = (
        Index("ux_message_subscriptions", "contact_id", "boundary_set", "boundary_id", unique=True),
        Index("ix_message_subscriptions_unit", "boundary_set", "boundary_id", "active"),
    )


class Inbound(Base):
    """One message received: the gateway's message id (hashed) makes a gateway's retry a no-op."""

    __tablename__ = "message_inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    gateway: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    contact_id: Mapped[int] = mapped_column(ForeignKey("message_contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # report | join | stop | help | unknown
    parse: Mapped[str] = mapped_column(String(10))  # full | moderator | command | unknown
    language: Mapped[str | None] = mapped_column(String(5))
    ref: Mapped[str | None] = mapped_column(String(8), unique=True)  # the reference code told to the sender
    report_id: Mapped[str | None] = mapped_column(String(36), index=True)
    reply: Mapped[str | None] = mapped_column(Text)  # what was answered (a USSD or resent message gets the same)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    __tablename__ = "message_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    boundary_set: Mapped[str] = mapped_column(String(50))
    boundary_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str | None] = mapped_column(String(100))
    what: Mapped[str] = mapped_column(String(50))
    shelter: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class Outbound(Base):
    """One message to send, and what became of it (the gateway's id and delivery status)."""

    __tablename__ = "message_outbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)  # alert:<id>:<contact>, receipt:<inbound>...
    contact_id: Mapped[int] = mapped_column(ForeignKey("message_contacts.id", ondelete="CASCADE"), index=True)
    gateway: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(12))  # receipt | review | alert | reply
    body: Mapped[str] = mapped_column(Text)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("message_alerts.id"))
    report_id: Mapped[str | None] = mapped_column(String(36))
    # queued -> sending -> sent -> delivered | undelivered; failed (after retries); cancelled (STOP)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    gateway_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_message_outbound_status", "status", "gateway"),)
