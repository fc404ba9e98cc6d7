"""geoapp: the Flask service over the ``layers`` geoprocessing core."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by create_app: a CLI command such as `geoapp evacuate` never loads Flask
    from flask import Flask

__version__ = "0.3.0"

# The embedded sample area, shipped beside the packages in a source checkout.
SAMPLE_AREA = Path(__file__).resolve().parent.parent / "data" / "jakarta"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then instance config.py, then ``GEOAPP_*`` env, then ``test_config``.

    Every extension is initialised here, in this order, and nowhere else
    (flaskr style): errors, area, database, auth and sessions, then the views.
    ``PROXY_FIX`` (the number of reverse proxies in front, default 0) trusts their
    ``X-Forwarded-*`` headers, so the session cookie is ``Secure`` behind TLS.
    """
    from flask import Flask

    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        AREA=str(SAMPLE_AREA),
        BUILD=None,  # path of the built GeoPackage; default <AREA>/build/area.gpkg
        AREAS_DIR=None,  # areas added by an admin, one folder each; default <instance>/areas (share it between hosts)
        DATABASE_URL=f"sqlite:///{instance / 'geoapp.db'}",
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        MAX_PHOTO_BYTES=5 * 1024 * 1024,
        ANON_RATE_LIMIT="30/hour",
        LOGIN_RATE_LIMIT="5/15minutes",  # failed logins per user name and address
        PROXY_FIX=0,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(prefix="GEOAPP")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    from . import access, area, auth, db, errors, jobs, views

    errors.init_app(app)
    area.init_app(app)
    db.init_app(app)
    jobs.init_app(app)
    auth.init_app(app)
    access.init_app(app)
    views.init_app(app)
    return app


def _instance_secret(instance: Path) -> str:
    """A per-instance random key, kept so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()
