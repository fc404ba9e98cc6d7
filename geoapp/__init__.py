"""geoapp: the Flask service over the ``layers`` geoprocessing core."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

__version__ = "0.1.0"

# The embedded sample area, shipped beside the packages in a source checkout.
SAMPLE_AREA = Path(__file__).resolve().parent.parent / "data" / "jakarta"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then instance config.py, then ``GEOAPP_*`` env, then ``test_config``."""
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        AREA=str(SAMPLE_AREA),
        BUILD=None,  # path of the built GeoPackage; default <AREA>/build/area.gpkg
        DATABASE_URL=f"sqlite:///{instance / 'geoapp.db'}",
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        MAX_PHOTO_BYTES=5 * 1024 * 1024,
        ANON_RATE_LIMIT="30/hour",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(prefix="GEOAPP")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)

    from . import area, errors, views

    errors.init_app(app)
    area.init_app(app)
    views.init_app(app)
    return app


def _instance_secret(instance: Path) -> str:
    """A per-instance random key, kept so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()
