"""The per-gateway send rate: at most ``rate`` sends a second, per process or shared through Redis."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from geoapp.messaging.outbox import _RateLimiter
from tests.helpers import require


def _elapsed(app, n: int, rate: float) -> float:
    limiter = _RateLimiter()
    with app.app_context():
        start = time.monotonic()
        for _ in range(n):
            limiter.wait("africastalking", rate)
        return time.monotonic() - start


def test_in_process_rate(app):
    # 6 sends at 10/s: the 6th may start no sooner than 5 intervals after the first.
    assert _elapsed(app, 6, 10.0) >= 0.5 - 0.01


def test_shared_rate_through_redis(app):
    url = os.environ.get("GEOAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        require("GEOAPP_REQUIRE_REDIS", f"Redis at {url}")
    app.config.update(REDIS_URL=url, JOB_QUEUE=f"test-{uuid.uuid4().hex[:8]}")
    # Two limiters (two worker processes) share the slots: 6 sends at 10/s still take 5 intervals.
    a, b = _RateLimiter(), _RateLimiter()
    with app.app_context():
        start = time.monotonic()
        for i in range(6):
            (a if i % 2 else b).wait("twilio", 10.0)
        assert time.monotonic() - start >= 0.5 - 0.01


@pytest.mark.parametrize("rate", [1000.0])
def test_fast_rate_does_not_wait(app, rate):
    assert _elapsed(app, 3, rate) < 5.0
