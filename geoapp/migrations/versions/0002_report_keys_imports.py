"""Report ids carry no content: idempotency keys in their own column, server ids re-drawn; imports in batches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

- ``reports.client_key``: a hash of the uploader's scope and the client id (or
  the row's content), unique; the public ``id`` no longer doubles as one.
- Ids the server derived from content (uuid5, version nibble 5) are replaced by
  random ones: a content hash lets anyone recover the exact point of a blurred
  report by hashing candidate coordinates.
- ``report_imports`` and ``reports.import_id``: a file import commits in
  batches (other writers are not locked out) and stays hidden until it is done.
"""

import hashlib
import uuid

import sqlalchemy as sa
from alembic import op

from geoapp.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _key(scope: str, client: str) -> str:
    return hashlib.sha256(f"{scope}\x1f{client}".encode()).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "report_imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="running"),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("accepted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
    )
    # Plain ADD COLUMN, no batch copy: recreating the table on SQLite would cascade-delete the reviews.
    op.add_column("reports", sa.Column("client_key", sa.String(64)))
    op.add_column("reports", sa.Column("import_id", sa.Integer))
    reports = sa.table(
        "reports", sa.column("id", sa.String), sa.column("created_by", sa.Integer), sa.column("client_key", sa.String)
    )
    reviews = sa.table("report_reviews", sa.column("report_id", sa.String))
    rows = bind.execute(sa.select(reports.c.id, reports.c.created_by)).all()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA defer_foreign_keys=ON")  # ids change in reports and reviews together
    else:
        bind.exec_driver_sql("ALTER TABLE report_reviews DROP CONSTRAINT IF EXISTS report_reviews_report_id_fkey")
    changes = []
    for rid, by in rows:
        scope = f"user:{by}" if by is not None else "anon"
        new = str(uuid.uuid4()) if len(rid) == 36 and rid[14] == "5" else rid
        changes.append({"old": rid, "new": new, "key": _key(scope, f"id:{rid}")})
    for start in range(0, len(changes), 10_000):  # executemany in slices: one statement per slice, not per row
        part = changes[start : start + 10_000]
        bind.execute(
            reports.update()
            .where(reports.c.id == sa.bindparam("old"))
            .values(id=sa.bindparam("new"), client_key=sa.bindparam("key")),
            part,
        )
        moved = [c for c in part if c["new"] != c["old"]]
        if moved:
            bind.execute(
                reviews.update()
                .where(reviews.c.report_id == sa.bindparam("old"))
                .values(report_id=sa.bindparam("new")),
                moved,
            )
    if bind.dialect.name != "sqlite":
        bind.exec_driver_sql(
            "ALTER TABLE report_reviews ADD CONSTRAINT report_reviews_report_id_fkey "
            "FOREIGN KEY (report_id) REFERENCES reports (id) ON DELETE CASCADE"
        )
    op.create_index("ux_reports_client_key", "reports", ["client_key"], unique=True)
    op.create_index("ix_reports_import_id", "reports", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_reports_import_id", "reports")
    op.drop_index("ux_reports_client_key", "reports")
    op.drop_column("reports", "import_id")
    op.drop_column("reports", "client_key")
    op.drop_table("report_imports")
