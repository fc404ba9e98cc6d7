"""The attack tests run on the web fixtures: ``storage_app`` (SQLite, then PostGIS) and ``make_user``."""

from tests.web.conftest import make_user, storage_app  # noqa: F401 - fixtures shared with tests/web
