"""Job rows: create, claim, heartbeat, finish, fail, read. Every change is its own short transaction.

A job whose worker died (SIGKILL, a lost machine) stops beating: the next read
of any job marks every running job silent for ``stale_s`` as failed, so the
admin sees why, and its lock lapses so a retry can run.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from ..models import utcnow
from .model import Job

KILLED = (
    "the worker running this job stopped without finishing it (killed, crashed or its machine lost); "
    "the previous build, if any, is still served; retry the job"
)


@dataclass(frozen=True)
class JobState:
    id: str
    kind: str
    status: str  # queued | running | finished | failed
    progress: float
    message: str
    error: str | None
    result: dict | None
    created: datetime
    updated: datetime
    owner: int | None
    payload: dict
    lock: str | None = None
    worker: str | None = None
    retry_of: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("finished", "failed")

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 3),
            "message": self.message,
            "error": self.error,
            "result": self.result,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "owner": self.owner,
            "retry_of": self.retry_of,
        }


def _state(job: Job) -> JobState:
    return JobState(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress or 0.0,
        message=job.message or "",
        error=job.error,
        result=job.result,
        created=job.created,
        updated=job.updated,
        owner=job.owner,
        payload=dict(job.payload or {}),
        lock=job.lock,
        worker=job.worker,
        retry_of=job.retry_of,
    )


def create(
    engine: Engine,
    kind: str,
    payload: dict,
    *,
    owner: int | None,
    lock: str | None,
    dedupe_key: str | None,
    delay_s: float,
    retry_of: str | None = None,
) -> tuple[str, bool]:
    """A new queued job's id and True, or (with ``dedupe_key``) a still-queued one's id and False."""
    json.dumps(payload)  # a payload must cross processes: fail here, in the caller, not in a worker
    now = utcnow()
    with Session(engine) as s, s.begin():
        if dedupe_key is not None:
            found = s.scalar(
                select(Job.id)
                .where(Job.dedupe_key == dedupe_key, Job.status == "queued")
                .order_by(Job.created)
                .limit(1)
            )
            if found is not None:
                return found, False
        job_id = uuid.uuid4().hex
        s.add(
            Job(
                id=job_id,
                kind=kind,
                status="queued",
                payload=payload,
                owner=owner,
                lock=lock,
                dedupe_key=dedupe_key,
                progress=0.0,
                message="queued",
                run_at=now + timedelta(seconds=max(delay_s, 0.0)),
                created=now,
                updated=now,
                retry_of=retry_of,
            )
        )
    return job_id, True


def delete(engine: Engine, job_id: str) -> None:
    with Session(engine) as s, s.begin():
        s.execute(sql_delete(Job).where(Job.id == job_id, Job.status == "queued"))


def claim(engine: Engine, job_id: str, worker: str) -> JobState | None:
    """Mark a queued job running for ``worker``; None when another process already took it (or it is gone)."""
    now = utcnow()
    with Session(engine) as s, s.begin():
        taken = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="running", worker=worker, heartbeat=now, updated=now, message="started")
        ).rowcount  # type: ignore[attr-defined]
        if not taken:
            return None
        job = s.get(Job, job_id)
        return _state(job) if job else None


def beat(engine: Engine, job_id: str, message: str | None = None) -> None:
    values: dict = {"heartbeat": utcnow()}
    if message is not None:
        values["message"] = message
    with Session(engine) as s, s.begin():
        s.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))


def finish(engine: Engine, job_id: str, result: dict | None) -> None:
    with Session(engine) as s, s.begin():
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(status="finished", progress=1.0, message="finished", result=result, updated=utcnow())
        )


def fail(engine: Engine, job_id: str, error: str) -> None:
    with Session(engine) as s, s.begin():
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("queued", "running")))
            .values(status="failed", error=error[:4000], message="failed", updated=utcnow())
        )


def reap(engine: Engine, stale_s: float) -> int:
    """Mark running jobs whose heartbeat stopped ``stale_s`` ago as failed; how many."""
    now = utcnow()
    with Session(engine) as s, s.begin():
        return s.execute(
            update(Job)
            .where(Job.status == "running", Job.heartbeat < now - timedelta(seconds=stale_s))
            .values(status="failed", error=KILLED, message="failed", updated=now)
        ).rowcount  # type: ignore[attr-defined]


def get(engine: Engine, job_id: str) -> JobState | None:
    with Session(engine) as s:
        job = s.get(Job, job_id)
        return _state(job) if job else None


def recent(
    engine: Engine, *, limit: int = 50, status: str | None = None, kind: str | None = None, owner: int | None = None
) -> list[JobState]:
    query = select(Job).order_by(Job.created.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    if owner is not None:
        query = query.where(Job.owner == owner)
    with Session(engine) as s:
        return [_state(j) for j in s.scalars(query)]


def overdue_queued(engine: Engine, grace_s: float) -> list[str]:
    """Queued jobs due ``grace_s`` ago and still not taken: left behind by a process that stopped."""
    with Session(engine) as s:
        return list(
            s.scalars(
                select(Job.id)
                .where(Job.status == "queued", Job.run_at < utcnow() - timedelta(seconds=grace_s))
                .order_by(Job.run_at)
            )
        )
