"""`geoapp serve` as deployed: gunicorn with two worker processes. The anonymous rate limit is one count for
both (Redis), and without Redis a job started through one process is answered by either (state in SQLite)."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from sqlalchemy import create_engine, func, select

from geoapp import create_app
from geoapp.models import Report
from tests.helpers import SAMPLE_AREA, bearer, collection, feature
from tests.service.conftest import GEOAPP, config, env_for, free_port, wait_for
from tests.service.test_build_faults import tiny_area


def _request(url: str, *, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


def _serve(procs, cfg: dict, area) -> str:
    port = free_port()
    proc = procs.start(
        [GEOAPP, "serve", "--area", str(area), "--port", str(port), "--workers", "2", "--threads", "4"],
        env_for(cfg),
        "serve",
    )

    def up():
        try:
            return _request(f"http://127.0.0.1:{port}/api/layers")[0] in (200, 404)
        except OSError:
            return False

    wait_for(up, timeout=90, what="gunicorn to answer")
    # two worker processes serve: the first can answer before the second has booted
    wait_for(lambda: len(psutil.Process(proc.pid).children()) == 2, timeout=60, what="two gunicorn workers")
    return f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_twenty_clients_against_two_processes_share_one_rate_limit(tmp_path, sqlite_db, redis_url, queue_name, procs):
    limit = 10
    cfg = config(tmp_path, sqlite_db, REDIS_URL=redis_url, JOB_QUEUE=queue_name, ANON_RATE_LIMIT=f"{limit}/hour")
    create_app(cfg).extensions["geoapp.db"].dispose()  # the schema, before two processes start
    base = _serve(procs, cfg, SAMPLE_AREA)

    def client(i: int) -> list[tuple[int, dict]]:
        return [
            _request(f"{base}/api/reports", body=collection(feature()))[:2] for _ in range(3)
        ]  # anonymous: counted per address, and all come from 127.0.0.1

    with ThreadPoolExecutor(20) as pool:
        answers = [a for batch in pool.map(client, range(20)) for a in batch]
    accepted = [a for a in answers if a[0] == 201]
    refused = [a for a in answers if a[0] == 429]
    assert len(accepted) == limit  # not limit per process
    assert len(refused) == 60 - limit
    assert all(int(h["Retry-After"]) >= 1 for _, h in refused)
    engine = create_engine(cfg["DATABASE_URL"])
    with engine.connect() as conn:  # what was stored, counted another way
        assert conn.scalar(select(func.count()).select_from(Report)) == limit
    engine.dispose()


@pytest.mark.slow
def test_without_redis_a_job_runs_in_a_server_process_and_either_process_answers(tmp_path, sqlite_db, procs, make_user):
    area = tiny_area(tmp_path / "tiny")
    out = area / "build" / "area.gpkg"
    cfg = config(tmp_path, sqlite_db, AREA=str(area), BUILD=str(out))
    app = create_app(cfg)
    _, admin = make_user(app, "admin")
    app.extensions["geoapp.db"].dispose()
    base = _serve(procs, cfg, area)
    status, headers, job = _request(f"{base}/api/builds", body={}, headers=bearer(admin))
    assert status == 202, job
    polls: list[dict] = []

    def finished():
        status, _, doc = _request(f"{base}/api/jobs/{job['id']}", headers=bearer(admin))
        assert status == 200, doc
        polls.append(doc)
        return doc if doc["status"] in ("finished", "failed") else None

    done = wait_for(finished, timeout=240, what="the in-process build")
    assert done["status"] == "finished", done
    assert out.is_file()
    pids = {int(p["worker"].split(":")[1]) for p in polls if p.get("worker")}
    assert len(pids) == 1  # one process ran it, while every poll (to either process) saw the same job
    assert [p["progress"] for p in polls] == sorted(p["progress"] for p in polls)
    procs.procs[-1].send_signal(signal.SIGINT)
