"""Messages: SMS, WhatsApp and USSD reports, subscriptions and alerts.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05

Tables of :mod:`geoapp.messaging.models`: contacts (phone numbers keyed-hashed and encrypted, never in
clear), subscriptions per neighbourhood, inbound messages (the gateway's id makes a retry a no-op),
alerts and outbound messages with their delivery status.
"""

import sqlalchemy as sa
from alembic import op

from geoapp.models import UTCDateTime

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_contacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("phone_key", sa.String(64), nullable=False, unique=True),
        sa.Column("phone_enc", sa.Text, nullable=False),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(5), nullable=False, server_default="en"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("stopped_at", UTCDateTime),
    )
    op.create_table(
        "message_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("message_contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("boundary_set", sa.String(50), nullable=False),
        sa.Column("boundary_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id")),
    )
    op.create_index(
        "ux_message_subscriptions", "message_subscriptions", ["contact_id", "boundary_set", "boundary_id"], unique=True
    )
    op.create_index("ix_message_subscriptions_unit", "message_subscriptions", ["boundary_set", "boundary_id", "active"])
    op.create_table(
        "message_inbound",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_key", sa.String(64), nullable=False, unique=True),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("message_contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("parse", sa.String(10), nullable=False),
        sa.Column("language", sa.String(5)),
        sa.Column("ref", sa.String(8), unique=True),
        sa.Column("report_id", sa.String(36)),
        sa.Column("reply", sa.Text),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_message_inbound_contact_id", "message_inbound", ["contact_id"])
    op.create_index("ix_message_inbound_report_id", "message_inbound", ["report_id"])
    op.create_table(
        "message_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),
        sa.Column("boundary_set", sa.String(50), nullable=False),
        sa.Column("boundary_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scenario", sa.String(100)),
        sa.Column("what", sa.String(50), nullable=False),
        sa.Column("shelter", sa.String(200)),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "message_outbound",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dedupe_key", sa.String(100), nullable=False, unique=True),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("message_contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("message_alerts.id")),
        sa.Column("report_id", sa.String(36)),
        sa.Column("status", sa.String(12), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("gateway_message_id", sa.String(100)),
        sa.Column("error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_message_outbound_contact_id", "message_outbound", ["contact_id"])
    op.create_index("ix_message_outbound_gateway_message_id", "message_outbound", ["gateway_message_id"])
    op.create_index("ix_message_outbound_status", "message_outbound", ["status", "gateway"])


def downgrade() -> None:
    for table in ("message_outbound", "message_alerts", "message_inbound", "message_subscriptions", "message_contacts"):
        op.drop_table(table)
