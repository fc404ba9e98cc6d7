"""Web fixtures: an app on a temporary database, its test client and CLI runner, users with tokens.

``app`` uses a file SQLite database in a temporary instance folder. Storage
tests use ``storage_app``, parametrised over SQLite and PostGIS (the latter
from GEOAPP_TEST_POSTGRES_URL, in a schema of its own dropped afterwards).
"""

from __future__ import annotations

import os
import uuid

import pytest

from geoapp import create_app
from tests.helpers import require


def _sqlite_config(tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'reports.db'}",
        "ANON_RATE_LIMIT": "1000/hour",
        # No build unless a test gives one, whatever `make demo` left in data/jakarta/build.
        "BUILD": str(tmp_path / "no-build" / "area.gpkg"),
    }


@pytest.fixture
def app(tmp_path):
    """The app on a fresh SQLite file database (CSRF on, as in production)."""
    return create_app(_sqlite_config(tmp_path))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def storage_app(request, tmp_path):
    """The app on SQLite, then on PostGIS in a throw-away schema."""
    config = _sqlite_config(tmp_path)
    schema = None
    if request.param == "postgis":
        url = os.environ.get("GEOAPP_TEST_POSTGRES_URL")
        if not url:
            require("GEOAPP_REQUIRE_POSTGIS", "PostGIS (GEOAPP_TEST_POSTGRES_URL)")
        from sqlalchemy import create_engine

        schema = f"geoapp_test_{uuid.uuid4().hex[:10]}"
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        config.update(DATABASE_URL=url, DATABASE_SCHEMA=schema)
    app = create_app(config)
    yield app
    if schema:
        app.extensions["geoapp.db"].dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture
def storage_client(storage_app):
    return storage_app.test_client()


@pytest.fixture
def make_user():
    """``make_user(app, role, name=None, trusted=False, password=None) -> (user_id, token)``."""

    def make(
        app, role: str = "volunteer", name: str | None = None, *, trusted: bool = False, password: str | None = None
    ):
        from sqlalchemy.orm import Session

        from geoapp.auth import create_user

        with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
            user, token = create_user(
                s, name or f"{role}-{uuid.uuid4().hex[:6]}", role, trusted=trusted, password=password
            )
            return user.id, token

    return make
