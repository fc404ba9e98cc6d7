"""The jobs API without Redis (threads in this process), on SQLite and PostGIS: state, progress, errors,
dedupe, locks, dead workers, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from geoapp import jobs
from geoapp.jobs import store
from geoapp.jobs.locks import DbLock
from geoapp.jobs.model import Job
from geoapp.models import utcnow
from tests.service.conftest import make_app, wait_for
from tests.service.tasks import read_log


def _done(job_id):
    state = jobs.get(job_id)
    return state if state is not None and state.done else None


def test_a_job_runs_and_its_state_is_in_the_database(tmp_path, db):
    app = make_app(tmp_path, db)
    with app.app_context():
        job_id = jobs.submit("test.record", {"numbers": [1, 2, 39], "tag": "a"}, owner=7)
        first = jobs.get(job_id)
        assert first is not None
        assert first.kind == "test.record"
        assert first.owner == 7
        assert first.status in ("queued", "running", "finished")
        state = wait_for(lambda: _done(job_id), what="the job")
    assert state.status == "finished"
    assert state.progress == 1.0
    assert state.error is None
    assert state.result == {"tag": "a", "sum": 1 + 2 + 39}
    assert state.updated >= state.created
    # Another app on the same database (another process) reads the same state.
    other = make_app(tmp_path, db)
    with other.app_context():
        assert jobs.get(job_id) == state
        assert jobs.get("0" * 32) is None
        assert [s.id for s in jobs.recent(owner=7)] == [job_id]


def test_a_failing_task_is_failed_with_its_error(tmp_path, sqlite_db):
    app = make_app(tmp_path, sqlite_db)
    with app.app_context():
        job_id = jobs.submit("test.fail", {"x": "abc"})
        state = wait_for(lambda: _done(job_id))
        assert state.status == "failed"
        assert state.error == "field 'x' is 'abc'; give a number"
        assert [s.id for s in jobs.recent(status="failed")] == [job_id]


def test_unknown_kinds_and_payloads_that_cannot_cross_processes_fail_at_submit(tmp_path, sqlite_db):
    app = make_app(tmp_path, sqlite_db)
    with app.app_context():
        with pytest.raises(LookupError, match="no job task 'nope'"):
            jobs.submit("nope", {})
        with pytest.raises(TypeError):
            jobs.submit("test.record", {"when": object()})
        assert jobs.recent() == []


def test_dedupe_key_returns_the_queued_job_until_it_runs(tmp_path, sqlite_db):
    log = tmp_path / "log.jsonl"
    app = make_app(tmp_path, sqlite_db)
    with app.app_context():
        first = jobs.submit("test.record", {"log": str(log), "tag": 1}, dedupe_key="feed:x", delay_s=1.0)
        again = jobs.submit("test.record", {"log": str(log), "tag": 2}, dedupe_key="feed:x", delay_s=1.0)
        assert again == first
        wait_for(lambda: _done(first))
        later = jobs.submit("test.record", {"log": str(log), "tag": 3}, dedupe_key="feed:x")
        assert later != first
        wait_for(lambda: _done(later))
    assert sorted(r["tag"] for r in read_log(log)) == [1, 3]


def test_delay_s_holds_the_job_back(tmp_path, sqlite_db):
    log = tmp_path / "log.jsonl"
    app = make_app(tmp_path, sqlite_db)
    with app.app_context():
        job_id = jobs.submit("test.record", {"log": str(log)}, delay_s=1.5)
        created = jobs.get(job_id).created
        wait_for(lambda: _done(job_id))
    (row,) = read_log(log)
    assert row["start"] >= created.timestamp() + 1.5 - 0.05


def test_jobs_with_one_lock_never_overlap(tmp_path, db):
    log = tmp_path / "log.jsonl"
    app = make_app(tmp_path, db, JOB_THREADS=4)
    with app.app_context():
        locked = [
            jobs.submit("test.record", {"log": str(log), "sleep": 0.4, "tag": f"L{i}"}, lock="build:x")
            for i in range(3)
        ]
        free = jobs.submit("test.record", {"log": str(log), "sleep": 0.4, "tag": "free"}, lock="build:y")
        for job_id in [*locked, free]:
            assert wait_for(lambda j=job_id: _done(j)).status == "finished"
    rows = {r["tag"]: r for r in read_log(log)}
    spans = sorted((rows[f"L{i}"]["start"], rows[f"L{i}"]["end"]) for i in range(3))
    assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:], strict=False)), spans
    # The other lock did not wait for them: it overlaps one of the locked jobs.
    assert any(rows["free"]["start"] < end and start < rows["free"]["end"] for start, end in spans)


def test_a_job_whose_worker_died_is_failed_and_its_lock_lapses(tmp_path, db):
    app = make_app(tmp_path, db)
    engine = app.extensions["geoapp.db"]
    with app.app_context():
        # A job taken by a process that then died: running, lock held, no heartbeat for longer than JOB_STALE_S.
        job_id, _ = store.create(engine, "test.record", {}, owner=None, lock="build:z", dedupe_key=None, delay_s=0)
        assert store.claim(engine, job_id, "gone:1") is not None
        assert store.claim(engine, job_id, "other:2") is None  # taken once only
        assert DbLock(engine, "build:z", job_id, ttl_s=3.0).acquire()
        assert not DbLock(engine, "build:z", "someone-else", ttl_s=3.0).acquire()
        with Session(engine) as s, s.begin():
            s.execute(update(Job).where(Job.id == job_id).values(heartbeat=utcnow() - timedelta(seconds=10)))
        state = jobs.get(job_id)
        assert state.status == "failed"
        assert state.error == store.KILLED
        retried = jobs.retry(job_id)
        assert retried != job_id
        final = wait_for(lambda: _done(retried), what="the retry (it must take the lapsed lock)")
        assert final.status == "finished"
        assert final.retry_of == job_id
        assert final.lock == "build:z"


def test_progress_is_written_to_the_row(tmp_path, sqlite_db):
    app = make_app(tmp_path, sqlite_db)
    engine = app.extensions["geoapp.db"]
    with app.app_context():
        job_id, _ = store.create(engine, "test.record", {}, owner=None, lock=None, dedupe_key=None, delay_s=0)
        store.claim(engine, job_id, "me")
        progress = jobs.Progress(job_id, engine)
        progress(0.25, "a quarter")
        assert (jobs.get(job_id).progress, jobs.get(job_id).message) == (0.25, "a quarter")
        progress(1.5, "clipped")
        assert jobs.get(job_id).progress == 1.0
        jobs.Progress()(0.5, "no job: nothing written")  # a task called directly


def test_an_inner_lock_keeps_jobs_apart_whatever_lock_they_were_given(tmp_path, sqlite_db):
    """The build holds a lock per output file inside the task: callers naming the area differently still wait."""
    log = tmp_path / "log.jsonl"
    app = make_app(tmp_path, sqlite_db, JOB_THREADS=3)
    with app.app_context():
        ids = [
            jobs.submit("test.held", {"log": str(log), "sleep": 0.4, "tag": i, "name": "build-file:x"}, lock=lock)
            for i, lock in enumerate([None, "build:jakarta", "build:/data/jakarta"])
        ]
        for job_id in ids:
            assert wait_for(lambda j=job_id: _done(j)).status == "finished"
    spans = sorted((r["start"], r["end"]) for r in read_log(log))
    assert len(spans) == 3
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans


def test_a_job_left_queued_by_a_stopped_process_is_run_by_another(tmp_path, db):
    """Without Redis: a server process queued a job and stopped before running it; a live one's sweeper runs it."""
    log = tmp_path / "log.jsonl"
    app = make_app(tmp_path, db, JOB_STALE_S=1.5)
    engine = app.extensions["geoapp.db"]
    job_id, _ = store.create(
        engine, "test.record", {"log": str(log), "tag": "left"}, owner=None, lock=None, dedupe_key=None, delay_s=0
    )  # in the table, in no process's pool
    jobs.start(app)
    with app.app_context():
        state = wait_for(lambda: _done(job_id), what="the sweeper to run the left job")
    assert state.status == "finished"
    assert [r["tag"] for r in read_log(log)] == ["left"]


def test_a_job_that_cannot_be_queued_is_failed_not_left_queued(tmp_path, sqlite_db, free_redis_port):
    app = make_app(tmp_path, sqlite_db, REDIS_URL=f"redis://127.0.0.1:{free_redis_port}/0")  # nothing listens
    with app.app_context():
        with pytest.raises(Exception, match="(?i)connect"):
            jobs.submit("test.record", {})
        (state,) = jobs.recent()
    assert state.status == "failed"
    assert state.error.startswith("could not queue the job:")
