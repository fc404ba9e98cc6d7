"""Fixtures of the message tests: a fake gateway server (see ``fakes.py``) and the app served on the loopback."""

from __future__ import annotations

import pytest

from tests.helpers import live_server
from tests.web.messaging.fakes import FakeGateway, configure


@pytest.fixture
def gateway():
    fake = FakeGateway()
    yield fake
    fake.close()


@pytest.fixture
def live(storage_app, gateway):
    """``(base_url, app, gateway)``: the storage app (SQLite, then PostGIS) served on the loopback."""
    configure(storage_app, gateway)
    with live_server(storage_app) as url:
        yield url, storage_app, gateway
