"""Job-queue tasks of the message channels: one message to send, and the alerts after a scenario build."""

from __future__ import annotations

from geoapp import jobs
from geoapp.messaging.alerts import send_area_alerts
from geoapp.messaging.outbox import send_one


@jobs.task("sms_send")
def sms_send(payload: dict, progress) -> dict:
    return {"id": payload["id"], "status": send_one(int(payload["id"]))}


@jobs.task("area_alerts")
def area_alerts(payload: dict, progress) -> dict:
    return send_area_alerts(payload.get("area"), payload.get("scenario"), boundary=payload.get("boundary"))
