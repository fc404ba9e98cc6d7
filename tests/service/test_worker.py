"""Jobs on real Redis run by real `geoapp worker` processes: delays, locks across processes, restarts."""

from __future__ import annotations

import pytest

from geoapp import create_app, jobs
from tests.service.conftest import config, wait_for
from tests.service.tasks import read_log


def _done(job_id):
    state = jobs.get(job_id)
    return state if state is not None and state.done else None


def test_a_worker_runs_queued_jobs_and_delayed_ones(tmp_path, db, redis_url, queue_name, procs):
    log = tmp_path / "log.jsonl"
    cfg = config(tmp_path, db, REDIS_URL=redis_url, JOB_QUEUE=queue_name)
    app = create_app(cfg)
    with app.app_context():
        now = jobs.submit("test.record", {"log": str(log), "tag": "now", "numbers": [4, 5]})
        later = jobs.submit("test.record", {"log": str(log), "tag": "later"}, delay_s=2.0)
        assert jobs.get(now).status == "queued"  # nothing runs it in this process
        procs.worker(cfg)
        state = wait_for(lambda: _done(now), what="the worker to run the job")
        assert state.status == "finished"
        assert state.result == {"tag": "now", "sum": 9}
        wait_for(lambda: _done(later), what="the scheduled job")
        created_later = jobs.get(later).created.timestamp()
    rows = {r["tag"]: r for r in read_log(log)}
    assert rows["later"]["start"] >= created_later + 2.0 - 0.05
    assert rows["now"]["pid"] != __import__("os").getpid()


@pytest.mark.slow
def test_two_workers_never_run_jobs_with_one_lock_at_once(tmp_path, sqlite_db, redis_url, queue_name, procs):
    log = tmp_path / "log.jsonl"
    cfg = config(tmp_path, sqlite_db, REDIS_URL=redis_url, JOB_QUEUE=queue_name)
    app = create_app(cfg)
    procs.worker(cfg, count=3)
    with app.app_context():
        ids = [
            jobs.submit("test.record", {"log": str(log), "sleep": 0.5, "tag": i}, lock="build:same") for i in range(4)
        ]
        for job_id in ids:
            assert wait_for(lambda j=job_id: _done(j), timeout=60).status == "finished"
    rows = read_log(log)
    spans = sorted((r["start"], r["end"]) for r in rows)
    assert len(spans) == 4
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans
    assert len({r["pid"] for r in rows}) >= 2  # several workers took them: the lock, not one worker, kept them apart


def test_restarting_the_workers_loses_no_queued_job(tmp_path, sqlite_db, redis_url, queue_name, procs):
    log = tmp_path / "log.jsonl"
    cfg = config(tmp_path, sqlite_db, REDIS_URL=redis_url, JOB_QUEUE=queue_name)
    app = create_app(cfg)
    first = procs.worker(cfg)
    with app.app_context():
        busy = jobs.submit("test.record", {"log": str(log), "sleep": 1.5, "tag": "busy"})
        wait_for(lambda: jobs.get(busy).status == "running", what="the first job to start")
        queued = [jobs.submit("test.record", {"log": str(log), "tag": f"q{i}"}) for i in range(3)]
        procs.stop(first)  # SIGTERM: the running job finishes, the queued ones stay in Redis
        assert jobs.get(busy).status == "finished"
        assert all(jobs.get(j).status == "queued" for j in queued)
        procs.worker(cfg)
        for job_id in queued:
            assert wait_for(lambda j=job_id: _done(j)).status == "finished"
    assert sorted(r["tag"] for r in read_log(log)) == ["busy", "q0", "q1", "q2"]
