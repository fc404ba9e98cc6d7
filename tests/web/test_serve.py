"""`geoapp serve` runs gunicorn with several processes; idle connections hold no request thread and are closed
after the idle timeout."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_AREA


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {seconds} s")


_PIDS: dict[int, int] = {}  # port -> the server's main process


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for this file's tests (starting one takes seconds)."""
    tmp_path = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {**os.environ, "GEOAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'reports.db'}"}
    cmd = [str(Path(sys.executable).parent / "geoapp"), "serve", "--area", str(SAMPLE_AREA), "--port", str(port)]
    cmd += ["--workers", "2", "--threads", "2", "--idle-timeout", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        _wait_up(f"http://127.0.0.1:{port}/api/layers")
        _PIDS[port] = proc.pid
        yield port
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        proc.wait(30)


def test_serve_runs_several_worker_processes(server):
    import psutil

    master = psutil.Process(_PIDS[server])
    deadline = time.monotonic() + 60  # the first worker can answer before the second has booted
    while len(master.children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    children = master.children()
    assert len(children) == 2
    assert all("geoapp" in " ".join(c.cmdline()) for c in children)


def test_idle_connections_do_not_starve_requests(server):
    """50 silent connections on a 2-thread server: a real request is still answered at once."""
    idle = [socket.create_connection(("127.0.0.1", server)) for _ in range(50)]
    try:
        start = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{server}/api/layers", timeout=10) as resp:
            assert resp.status == 200
        assert time.monotonic() - start < 5
    finally:
        for s in idle:
            s.close()


def test_silent_connections_are_closed_after_the_idle_timeout(server):
    """A connection that sends nothing is closed by the server after --idle-timeout (2 s here), not held forever."""
    s = socket.create_connection(("127.0.0.1", server))
    s.settimeout(15)
    start = time.monotonic()
    try:
        assert s.recv(1) == b""  # the server closed it
    finally:
        s.close()
    assert 1 <= time.monotonic() - start < 15
