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

    @app.context_processor
    def _message_figures() -> dict:
        return {"message_figures": dashboard_figures}


DASHBOARD_ROWS = 50


def dashboard_figures() -> dict:
    """For the dashboard: whether messages are on, and subscribers per neighbourhood (the most first)."""
    from flask import request
    from flask_wtf.csrf import generate_csrf

    from geoapp.auth import current_user
    from geoapp.i18n import current_language

    from .alerts import subscriber_counts
    from .settings import configured
    from .texts import dashboard_strings

    enabled = bool(configured())
    rows = subscriber_counts() if enabled else []
    user = current_user()
    can_alert = enabled and bool(rows) and user is not None and user.role in ("planner", "admin")
    sent = request.args.get("alert_sent", "")
    return {
        "enabled": enabled,
        "neighbourhoods": rows[:DASHBOARD_ROWS],
        "all": rows,
        "total": sum(r["subscribers"] for r in rows),
        "t": dashboard_strings(current_language()),
        "can_alert": can_alert,
        "csrf": generate_csrf() if can_alert else "",
        "sent": int(sent) if sent.isdigit() else None,
    }


def send_area_alerts(area: str | None = None, scenario: str | None = None, **kwargs) -> dict:
    """See :func:`geoapp.messaging.alerts.send_area_alerts` (for the build and the job queue)."""
    from .alerts import send_area_alerts as send

    return send(area, scenario, **kwargs)
