"""Blueprints: each module is a few thin views over one `layers` call."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import areas, dashboard, layers_api, ogcapi, report_pages, reports, riskmap, tiles

    app.register_blueprint(riskmap.bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(report_pages.bp)
    app.register_blueprint(ogcapi.bp)
    app.register_blueprint(layers_api.bp)
    app.register_blueprint(areas.bp)
    app.register_blueprint(__import__("geoapp.views.jobs", fromlist=["bp"]).bp)  # /api/jobs, /api/builds
    from . import scenarios

    app.register_blueprint(scenarios.bp)
    from geoapp import messaging  # SMS, WhatsApp and USSD webhooks and the message API (off without a gateway)

    messaging.init_app(app)
