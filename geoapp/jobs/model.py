"""The job tables: each job's state, and the locks that keep two jobs of one kind of work apart.

The state lives in the database (not in a process, not only in Redis) so every
server and worker process answers the same poll, and it survives restarts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, UTCDateTime, utcnow

STATUSES = ("queued", "running", "finished", "failed")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_updated", "status", "updated"),
        Index("ix_jobs_dedupe_key", "dedupe_key"),
        Index("ix_jobs_created", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    owner: Mapped[int | None] = mapped_column(Integer)  # a user id; jobs outlive nothing, so no foreign key
    lock: Mapped[str | None] = mapped_column(String(200))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid running it
    retry_of: Mapped[str | None] = mapped_column(String(32))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobLock(Base):
    """A lock held by a running job until ``expires`` (extended by its heartbeat; a killed holder's lapses)."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32))
    expires: Mapped[datetime] = mapped_column(UTCDateTime)
