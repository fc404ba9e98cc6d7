"""The app behind database commands: same configuration as `geoapp serve` (GEOAPP_* env), optional --db."""

from __future__ import annotations

from flask import Flask

from .. import create_app


def app_for_cli(db: str | None, *, upgrade: bool = True) -> Flask:
    config: dict = {"DB_AUTO_UPGRADE": upgrade}
    if db:
        config["DATABASE_URL"] = db
    return create_app(config)
