"""Background jobs: their state, shared by every process and kept across restarts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from geoapp.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("owner", sa.Integer(), nullable=True),
        sa.Column("lock", sa.String(200), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("retry_of", sa.String(32), nullable=True),
        sa.Column("run_at", UTCDateTime, nullable=False),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
        sa.Column("heartbeat", UTCDateTime, nullable=True),
    )
    op.create_index("ix_jobs_status_updated", "jobs", ["status", "updated"])
    op.create_index("ix_jobs_dedupe_key", "jobs", ["dedupe_key"])
    op.create_index("ix_jobs_created", "jobs", ["created"])
    op.create_table(
        "job_locks",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("expires", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_locks")
    op.drop_index("ix_jobs_created", "jobs")
    op.drop_index("ix_jobs_dedupe_key", "jobs")
    op.drop_index("ix_jobs_status_updated", "jobs")
    op.drop_table("jobs")
