"""Reports and alerts by SMS, WhatsApp and USSD (Africa's Talking, Twilio, SMSSync), in en, fr, sw and id.

Inbound messages are parsed by :mod:`layers.reports.messages` and stored as pending reports; answers,
review outcomes and alerts go out through :mod:`~geoapp.messaging.outbox`. Everything is off until a
gateway is configured (:mod:`~geoapp.messaging.settings`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401 - the tables, for the ORM
    from .settings import DEFAULTS
    from .views import bp

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.register_blueprint(bp)


def send_area_alerts(area: str | None = None, scenario: str | None = None, **kwargs) -> dict:
    """See :func:`geoapp.messaging.alerts.send_area_alerts` (for the build and the job queue)."""
    from .alerts import send_area_alerts as send

    return send(area, scenario, **kwargs)
