"""Service fixtures: a database (SQLite file, or PostGIS in a throw-away schema), real Redis with a key prefix
of the test's own, and real `geoapp worker` / gunicorn subprocesses."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from geoapp import create_app
from tests.helpers import require

ROOT = Path(__file__).resolve().parents[2]
GEOAPP = str(Path(sys.executable).with_name("geoapp"))
TASKS = "tests.service.tasks"


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def db(request, tmp_path) -> Iterator[dict]:
    """Database settings: ``DATABASE_URL`` (+ ``DATABASE_SCHEMA`` on PostGIS)."""
    if request.param == "sqlite":
        yield {"DATABASE_URL": f"sqlite:///{tmp_path / 'geoapp.db'}"}
        return
    url = os.environ.get("GEOAPP_TEST_POSTGRES_URL")
    if not url:
        require("GEOAPP_REQUIRE_POSTGIS", "PostGIS (GEOAPP_TEST_POSTGRES_URL)")
    from sqlalchemy import create_engine

    schema = f"geoapp_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield {"DATABASE_URL": url, "DATABASE_SCHEMA": schema}
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path) -> dict:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'geoapp.db'}"}


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Real Redis (GEOAPP_TEST_REDIS_URL); skipped when absent unless GEOAPP_REQUIRE_REDIS is set."""
    url = os.environ.get("GEOAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=2).ping()
    except RedisError:
        require("GEOAPP_REQUIRE_REDIS", f"Redis at {url}")
    return url


@pytest.fixture
def queue_name(redis_url) -> Iterator[str]:
    """A queue name (and Redis key prefix) of this test's own; its keys are deleted afterwards (never FLUSHDB)."""
    from redis import Redis

    name = f"geoapp-test-{uuid.uuid4().hex[:12]}"
    yield name
    conn = Redis.from_url(redis_url)
    for key in conn.scan_iter(match=f"*{name}*", count=1000):
        conn.delete(key)


def config(tmp_path: Path, db: dict, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "BUILD": str(tmp_path / "no-build" / "area.gpkg"),
        "JOB_TASK_MODULES": TASKS,
        "JOB_HEARTBEAT_S": 0.3,
        "JOB_STALE_S": 3.0,
        **db,
        **extra,
    }


def env_for(cfg: dict) -> dict:
    """The environment a subprocess (worker, gunicorn) reads the same settings from (GEOAPP_* variables)."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOAPP_")}
    env["PYTHONPATH"] = str(ROOT)
    for key, value in cfg.items():
        if key == "TESTING" or value is None:
            continue
        env[f"GEOAPP_{key}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Procs:
    """Subprocesses started by a test, stopped (SIGTERM, then SIGKILL) at its end."""

    def __init__(self, tmp_path: Path):
        self.tmp, self.procs = tmp_path, []  # type: ignore[var-annotated]

    def start(self, args: list[str], env: dict, name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}-{len(self.procs)}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def worker(self, cfg: dict, count: int = 1) -> subprocess.Popen:
        return self.start([GEOAPP, "worker", "--count", str(count)], env_for(cfg), "worker")

    def stop(self, proc: subprocess.Popen, timeout: float = 20) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def procs(tmp_path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    yield p
    p.close()


def wait_for(check: Callable[[], object], timeout: float = 40, what: str = "condition") -> object:
    """Poll ``check`` until it returns something truthy (generous timeouts: no test depends on speed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def make_app(tmp_path: Path, db: dict, **extra):
    return create_app(config(tmp_path, db, **extra))


@pytest.fixture
def free_redis_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()
