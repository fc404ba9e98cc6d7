"""Blueprints: each module is a few thin views over one `layers` call."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import riskmap

    app.register_blueprint(riskmap.bp)
