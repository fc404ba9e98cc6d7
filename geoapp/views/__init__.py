"""Blueprints: each module is a few thin views over one `layers` call."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from geoapp import messaging

    from . import areas, dashboard, jobs, layers_api, ogcapi, report_pages, reports, riskmap, scenarios, tiles

    for module in (riskmap, tiles, dashboard, reports, report_pages, ogcapi, layers_api, areas, jobs, scenarios):
        app.register_blueprint(module.bp)
    messaging.init_app(app)  # SMS, WhatsApp and USSD webhooks and the message API (off without a gateway)
