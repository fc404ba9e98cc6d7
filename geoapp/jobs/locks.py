"""Locks that keep two jobs with the same ``lock`` name from running at once, across processes and machines.

Each lock has a time to live that the holder's heartbeat extends: a holder killed
with SIGKILL never releases it, and it lapses after ``ttl_s`` so a retry can run.
With Redis the lock is a Redis lock; without, a row in ``job_locks``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import utcnow
from .model import JobLock


class Lock(Protocol):
    def acquire(self) -> bool: ...  # never blocks
    def extend(self) -> None: ...
    def release(self) -> None: ...


class DbLock:
    def __init__(self, engine: Engine, name: str, job_id: str, ttl_s: float):
        self.engine, self.name, self.job_id, self.ttl = engine, name, job_id, timedelta(seconds=ttl_s)

    def acquire(self) -> bool:
        now = utcnow()
        with Session(self.engine) as s, s.begin():
            # Take over a lapsed lock, or a lock this job already holds; else insert a new one.
            taken = s.execute(
                update(JobLock)
                .where(JobLock.name == self.name, (JobLock.expires < now) | (JobLock.job_id == self.job_id))
                .values(job_id=self.job_id, expires=now + self.ttl)
            ).rowcount  # type: ignore[attr-defined]
            if taken:
                return True
        try:
            with Session(self.engine) as s, s.begin():
                s.execute(insert(JobLock).values(name=self.name, job_id=self.job_id, expires=now + self.ttl))
            return True
        except IntegrityError:
            return False  # held by a live job

    def extend(self) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(
                update(JobLock)
                .where(JobLock.name == self.name, JobLock.job_id == self.job_id)
                .values(expires=utcnow() + self.ttl)
            )

    def release(self) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(delete(JobLock).where(JobLock.name == self.name, JobLock.job_id == self.job_id))


class RedisLock:
    def __init__(self, redis_url: str, prefix: str, name: str, job_id: str, ttl_s: float):
        from redis import Redis

        self.conn = Redis.from_url(redis_url)
        # token = the job id: only this job can extend or release it
        self.key, self.token, self.ttl_ms = f"{prefix}:lock:{name}", job_id.encode(), int(ttl_s * 1000)

    def acquire(self) -> bool:
        if self.conn.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return True
        return self.conn.get(self.key) == self.token

    def extend(self) -> None:
        # compare-and-set in one step: never extend a lock another job took after ours lapsed
        self.conn.eval(_EXTEND, 1, self.key, self.token, self.ttl_ms)

    def release(self) -> None:
        self.conn.eval(_RELEASE, 1, self.key, self.token)


_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
