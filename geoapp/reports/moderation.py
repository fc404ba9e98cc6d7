"""Moderation: a reviewer's decision on one report, with validated edits and the history kept."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp.models import Report, Review, User, utcnow
from geoapp.reports.query import report_config, visible
from layers.errors import ConflictError, InvalidInputError, NotFoundError
from layers.reports.config import STATUSES
from layers.reports.layer import report_feature
from layers.reports.parse import normalise_reports, raw_from_geojson

_EDITABLE = {"category", "description", "severity", "lon", "lat", "attributes"}


def review_one(s: Session, report_id: str, body: dict, *, user: User) -> dict:
    """Apply ``{"status", "reason", "edits", "from_status"}`` to one report inside the caller's transaction.

    The caller holds the write lock (``store.write_transaction``; on PostgreSQL the row is also
    locked here), so the status read is the one changed. ``from_status``, the status the reviewer
    saw, makes a decision on a report someone else decided meanwhile fail with ConflictError (409).
    """
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object")
    status = body.get("status")
    reason = body.get("reason")
    edits = body.get("edits") or {}
    seen = body.get("from_status")
    if status not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}")
    if seen is not None and seen not in STATUSES:
        raise InvalidInputError(f"from_status must be one of {', '.join(STATUSES)}")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
        raise InvalidInputError("reason must be text of at most 2000 characters")
    if status == "rejected" and not (reason or "").strip():
        raise InvalidInputError("give a reason when rejecting a report (it is kept in the history)")
    if not isinstance(edits, dict) or set(edits) - _EDITABLE:
        raise InvalidInputError(f"edits may change only {', '.join(sorted(_EDITABLE))}")
    q = select(Report).where(Report.id == report_id, visible()).execution_options(populate_existing=True)
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=Report)
    rep = s.scalar(q)
    if rep is None:
        raise NotFoundError(f"no report {report_id!r}")
    if seen is not None and rep.status != seen:
        raise ConflictError(f"report {report_id!r} is {rep.status} now, not {seen}: someone reviewed it meanwhile")
    changes = _apply_edits(rep, edits) if edits else None
    from geoapp.messaging.notify import check_review, review_message  # reports that came by SMS/WhatsApp/USSD

    check_review(rep, status, changes)
    s.add(
        Review(
            report_id=rep.id,
            user_id=user.id,
            at=utcnow(),
            from_status=rep.status,
            to_status=status,
            reason=(reason or "").strip() or None,
            changes=changes,
        )
    )
    if "published" in (rep.status, status):  # the analyses see published reports: rebuild what they change
        from geoapp import live

        live.changed(s, rep.category)
        live.changed(s, (changes or {}).get("category", [None])[0])
    rep.status = status
    rep.updated_at = utcnow()
    review_message(s, rep, status, reason)  # the sender hears the outcome (sent after the review commits)
    return {"id": rep.id, "status": status}


def _apply_edits(rep: Report, edits: dict) -> dict:
    """Validate edited fields like a new submission; return ``{field: [old, new]}``.

    The report as submitted is kept in ``original`` at the first edit.
    """
    merged = {
        "id": rep.id,
        "category": rep.category,
        "description": rep.description,
        "severity": rep.severity,
        "attributes": dict(rep.attributes or {}),
    }
    merged.update({k: v for k, v in edits.items() if k not in ("lon", "lat")})
    lon, lat = edits.get("lon", rep.lon), edits.get("lat", rep.lat)
    raw = raw_from_geojson(report_feature(merged, lon=lon, lat=lat, wkt=rep.geometry_wkt))
    result = normalise_reports(raw, config=report_config(), source=rep.source, strict_ids=True)
    if result.errors:
        raise InvalidInputError("edits: " + result.errors[0]["error"])
    new = result.records.iloc[0]
    changes = {}
    if rep.original is None:  # the first edit keeps the report as submitted
        rep.original = {
            "category": rep.category,
            "description": rep.description,
            "severity": rep.severity,
            "lon": rep.lon,
            "lat": rep.lat,
            "attributes": rep.attributes,
            "geometry_wkt": rep.geometry_wkt,
        }
    for key in ("category", "description", "severity", "lon", "lat", "attributes"):
        value = new[key]
        value = value.item() if hasattr(value, "item") else value  # numpy scalars → Python for the database
        value = None if value is pd.NA or (isinstance(value, float) and pd.isna(value)) else value
        value = int(value) if key == "severity" and value is not None else value
        if value != getattr(rep, key):
            changes[key] = [getattr(rep, key), value]
            setattr(rep, key, value)
    return changes
