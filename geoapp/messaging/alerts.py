"""Alerts to a neighbourhood's subscribers: after a scenario build (``send_area_alerts``) or from a planner.

One message per subscriber and alert (keyed ``alert:<alert>:<contact>``), in the subscriber's language,
at most 160 characters: what, where, what to do, and the nearest safe shelter of the build's evacuation
layers. A build alert is identified by its area, scenario, unit and people affected (to the nearest ten),
so calling this again after the same build, or a rebuild with the same figures, sends nothing new.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import select

from geoapp import area as areas
from geoapp.messaging import outbox, places
from geoapp.messaging.models import Alert, Contact, Subscription
from geoapp.messaging.settings import configured
from geoapp.messaging.texts import fit, kind_text
from geoapp.models import utcnow
from geoapp.reports.store import write_transaction
from layers.evacuation.alert_targets import alert_targets


def _key(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def alert_body(
    language: str | None,
    *,
    where: str,
    shelter: str | None,
    shelter_m: float | None = None,
    kind: str | None = "flood",
) -> str:
    """One alert SMS in the words of the hazard ``kind``: what, where, what to do, where to go."""
    what, todo = kind_text(language, "alert_what", kind), kind_text(language, "alert_todo", kind)
    if shelter:
        to = kind_text(language, "alert_to", kind, fallback="")
        far = f" {shelter_m / 1000:.1f}km" if shelter_m is not None and shelter_m == shelter_m else ""
        return fit(
            "alert",
            language,
            shrink=("where", "shelter"),
            what=what,
            where=where,
            todo=todo,
            to=to,
            shelter=f"{shelter}{far}",
        )
    return fit("alert_no_shelter", language, shrink=("where",), what=what, where=where, todo=todo)


def _area_kind(scenario: str | None = None) -> str:
    """The hazard kind of ``scenario`` of the served area (its first scenario when None; flood without one)."""
    from layers.errors import MissingInputError

    try:
        return areas.current_area().hazard(scenario).hazard_kind or "flood"
    except MissingInputError:
        return "flood"


def send_area_alerts(area: str | None = None, scenario: str | None = None, *, boundary: str | None = None) -> dict:
    """Alert the subscribers of every neighbourhood the build of ``area`` finds affected in ``scenario``.

    For the job queue and the build (``area`` by name; the request's area when None). Returns
    ``{"alerts": new alerts, "messages": messages queued, "units": units affected}``; messages off
    (no gateway configured) returns zeros with ``"off": True``.
    """
    if not configured():
        return {"alerts": 0, "messages": 0, "units": 0, "off": True}
    with places.using_area(area):
        a = areas.current_area()
        spec = a.hazard(scenario)
        scenario, kind = spec.id, spec.hazard_kind or "flood"
        path = areas.build_path()
        targets = alert_targets(
            path, scenario, boundary=boundary, min_people=float(current_app.config["MESSAGES_ALERT_MIN_PEOPLE"])
        )
        ids: list[int] = []
        new = 0
        with write_transaction() as s:
            for t in targets.itertuples(index=False):
                # The same figure after a rebuild is the same alert: a nightly build does not re-alert anyone.
                key = _key("build", a.name, scenario, t.boundary, t.area_id, round(float(t.pop_affected), -1))
                alert = s.scalar(select(Alert).where(Alert.dedupe_key == key))
                if alert is None:
                    alert = Alert(
                        dedupe_key=key,
                        boundary_set=t.boundary,
                        boundary_id=t.area_id,
                        name=str(t.name),
                        scenario=scenario,
                        what=kind,  # the hazard kind: the words of every message of this alert
                        shelter=None if t.shelter is None or t.shelter != t.shelter else str(t.shelter),
                        created_at=utcnow(),
                    )
                    s.add(alert)
                    s.flush()
                    new += 1
                ids += _queue_alert(s, alert, shelter_m=t.shelter_m)
        outbox.dispatch(ids)
        return {"alerts": new, "messages": len(ids), "units": len(targets)}


def planner_alert(
    *,
    boundary: str,
    area_id: str,
    name: str,
    shelter: str | None,
    user_id: int | None,
    key: str | None,
    kind: str | None = None,
) -> dict:
    """An alert a planner sends from the dashboard to one neighbourhood's subscribers, in the words of
    ``kind`` (default: the kind of the area's first scenario)."""
    kind = kind or _area_kind()
    dedupe = _key("planner", places.area_name(), boundary, area_id, key or utcnow().strftime("%Y-%m-%dT%H:%M"))
    with write_transaction() as s:
        alert = s.scalar(select(Alert).where(Alert.dedupe_key == dedupe))
        if alert is None:
            alert = Alert(
                dedupe_key=dedupe,
                boundary_set=boundary,
                boundary_id=area_id,
                name=name,
                what=kind,
                shelter=shelter,
                created_by=user_id,
                created_at=utcnow(),
            )
            s.add(alert)
            s.flush()
        ids = _queue_alert(s, alert, shelter_m=None)
        alert_id = alert.id
    outbox.dispatch(ids)
    return {"alert": alert_id, "messages": len(ids)}


def _queue_alert(s, alert: Alert, *, shelter_m) -> list[int]:
    rows = s.execute(
        select(Contact)
        .join(Subscription, Subscription.contact_id == Contact.id)
        .where(
            Subscription.boundary_set == alert.boundary_set,
            Subscription.boundary_id == alert.boundary_id,
            Subscription.active.is_(True),
            Contact.stopped_at.is_(None),
        )
    ).scalars()
    ids = []
    for contact in rows:
        body = alert_body(
            contact.language, where=alert.name, shelter=alert.shelter, shelter_m=shelter_m, kind=alert.what
        )
        i = outbox.queue(
            s, contact, kind="alert", body=body, dedupe_key=f"alert:{alert.id}:{contact.id}", alert_id=alert.id
        )
        if i is not None:
            ids.append(i)
    alert.recipients = (alert.recipients or 0) + len(ids)
    return ids


def subscriber_counts() -> list[dict]:
    """Active subscribers per neighbourhood (contacts who sent STOP not counted), most first."""
    from sqlalchemy import func

    from geoapp import db

    with db.transaction() as s:
        rows = s.execute(
            select(Subscription.boundary_set, Subscription.boundary_id, Subscription.name, func.count())
            .join(Contact, Contact.id == Subscription.contact_id)
            .where(Subscription.active.is_(True), Contact.stopped_at.is_(None))
            .group_by(Subscription.boundary_set, Subscription.boundary_id, Subscription.name)
        ).all()
    out = [{"boundary": b, "area_id": i, "name": n, "subscribers": int(c)} for b, i, n, c in rows]
    return sorted(out, key=lambda r: (-r["subscribers"], r["name"]))


def alerts_after_build() -> dict | None:
    """After a build of the served area: alert every scenario's affected neighbourhoods (None when messages
    are off or ``MESSAGES_ALERT_AFTER_BUILD`` is False). A build without per-neighbourhood exposure alerts
    nobody."""
    from layers.errors import MissingInputError, NotFoundError

    if not configured() or not current_app.config.get("MESSAGES_ALERT_AFTER_BUILD", True):
        return None
    out = {}
    for hazard in areas.current_area().hazards:
        try:
            out[hazard.id] = send_area_alerts(None, hazard.id)
        except (MissingInputError, NotFoundError) as exc:
            out[hazard.id] = {"skipped": str(exc)}
    return out
