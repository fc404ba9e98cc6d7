"""``progress(fraction, message)``: what a task calls to report how far it got."""

from __future__ import annotations

import time

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ..models import utcnow
from .model import Job

MIN_INTERVAL_S = 0.25  # a step reporting in a tight loop writes the row at most this often


class Progress:
    """Writes a job's progress and message to its row; ``Progress()`` (no job) does nothing, for direct calls."""

    def __init__(self, job_id: str | None = None, engine: Engine | None = None):
        self.job_id, self.engine = job_id, engine
        self._last = 0.0
        self.fraction, self.message = 0.0, ""

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.message = str(message)
        if self.job_id is None or self.engine is None:
            return
        now = time.monotonic()
        if now - self._last < MIN_INTERVAL_S and self.fraction < 1.0:
            return
        self._last = now
        with Session(self.engine) as s, s.begin():
            s.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.status == "running")
                .values(progress=self.fraction, message=self.message[:2000], updated=utcnow())
            )
