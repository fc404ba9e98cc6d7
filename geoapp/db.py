"""The reports database: one SQLAlchemy engine per app, migrated with Alembic at start-up.

``DATABASE_URL`` is any SQLAlchemy URL: SQLite in the instance folder by
default (WAL mode, so readers never wait for the writer), PostgreSQL + PostGIS
for production. ``DATABASE_SCHEMA`` (optional) puts the tables in a schema of
their own on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from layers.errors import InvalidInputError

_KEY = "geoapp.db_session"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine tuned per backend: SQLite WAL + busy timeout, PostgreSQL pre-ping (+ search_path)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url
        kwargs: dict[str, object] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_size"] = 20
            kwargs["max_overflow"] = 20
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA cache_size=-32768")  # 32 MB: bulk imports update random-UUID indexes
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    connect_args = {"options": f"-csearch_path={schema},public"} if schema else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)


def _open(url: str, *, schema: str | None, connect: bool) -> Engine:
    """The engine, or InvalidInputError naming the URL (password hidden) when it is unusable or cannot be opened.

    A URL comes from the command line or the environment: a typo must read as one, not as SQLAlchemy internals.
    """
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = "DATABASE_URL"
    hint = "use e.g. sqlite:///path/to/geoapp.db or postgresql+psycopg2://user@host/dbname"
    try:
        engine = make_engine(url, schema=schema)
    except ArgumentError as exc:  # unparsable URL, unknown dialect (NoSuchModuleError)
        raise InvalidInputError(f"database URL {shown} is not usable ({exc}); {hint}") from None
    if connect:
        try:
            engine.connect().close()
        except OperationalError as exc:  # e.g. a directory, a missing folder, a server that is down
            raise InvalidInputError(f"cannot open the database {shown}: {exc.orig}") from None
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the migrations shipped in the package."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def init_app(app: Flask) -> None:
    """Create the engine for ``app`` and migrate it (unless ``DB_AUTO_UPGRADE`` is False)."""
    if "geoapp.db" in app.extensions:
        return
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = _open(url, schema=app.config.get("DATABASE_SCHEMA"), connect=app.config.get("DB_AUTO_UPGRADE", True))
    app.extensions["geoapp.db"] = engine
    if app.config.get("DB_AUTO_UPGRADE", True):
        upgrade(engine)

    @app.teardown_request
    def _close_request(_exc):
        s = request.environ.pop(_KEY, None)
        if s is not None:
            s.close()

    @app.teardown_appcontext
    def _close(_exc):
        s = g.pop(_KEY, None)
        if s is not None:
            s.close()


def engine() -> Engine:
    return current_app.extensions["geoapp.db"]


def session() -> Session:
    """The request's session (closed at teardown); kept on the request, not on ``g``, so it never outlives it."""
    store = request.environ if has_request_context() else g.__dict__
    if _KEY not in store:
        store[_KEY] = Session(engine(), expire_on_commit=False)
    return store[_KEY]


@contextmanager
def transaction() -> Iterator[Session]:
    """The request's session inside one transaction: committed on success, rolled back on any error."""
    s = session()
    if s.in_transaction():
        s.commit()  # end reads (e.g. the token lookup) so the write starts fresh
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
