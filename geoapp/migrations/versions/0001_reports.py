"""Users, field reports and their moderation history; a PostGIS geometry where available.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from geoapp.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("trusted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("severity", sa.SmallInteger),
        sa.Column("observed_at", UTCDateTime),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("altitude_m", sa.Float),
        sa.Column("geometry_wkt", sa.Text),
        sa.Column("attributes", sa.JSON),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("reporter_name", sa.String(200)),
        sa.Column("reporter_contact", sa.String(200)),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("outside_area", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("original", sa.JSON),
        sa.Column("photo_type", sa.String(20)),
        sa.Column("photo", sa.LargeBinary),
        sa.CheckConstraint("status IN ('pending', 'published', 'rejected')", name="ck_reports_status"),
        sa.CheckConstraint("lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90", name="ck_reports_lonlat"),
    )
    op.create_index("ix_reports_status_category", "reports", ["status", "category"])
    op.create_index("ix_reports_lon_lat", "reports", ["lon", "lat"])
    op.create_index("ix_reports_created_at", "reports", ["created_at"])
    op.create_table(
        "report_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("from_status", sa.String(10), nullable=False),
        sa.Column("to_status", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("changes", sa.JSON),
    )
    op.create_index("ix_report_reviews_report_id", "report_reviews", ["report_id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").first():
        from geoalchemy2 import Geometry

        op.add_column(
            "reports",
            sa.Column(
                "geom",
                Geometry("GEOMETRY", srid=4326, spatial_index=False),
                sa.Computed(
                    "CASE WHEN geometry_wkt IS NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) "
                    "ELSE ST_GeomFromText(geometry_wkt, 4326) END",
                    persisted=True,
                ),
            ),
        )
        op.create_index("ix_reports_geom", "reports", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_table("report_reviews")
    op.drop_table("reports")
    op.drop_table("users")
