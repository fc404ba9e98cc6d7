"""Moderation: a reviewer's decision on one report, with validated edits and the history kept."""

from __future__ import annotations

import json

import pandas as pd
import shapely
from sqlalchemy.orm import Session

from geoapp.errors import APIError
from geoapp.models import Report, Review, User, utcnow
from geoapp.reports.query import report_config
from layers.errors import InvalidInputError
from layers.reports.config import STATUSES
from layers.reports.parse import normalise_reports, raw_from_geojson

_EDITABLE = {"category", "description", "severity", "lon", "lat", "attributes"}


def review_one(s: Session, report_id: str, body: dict, *, user: User) -> dict:
    """Apply ``{"status", "reason", "edits"}`` to one report inside the caller's transaction."""
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object")
    status = body.get("status")
    reason = body.get("reason")
    edits = body.get("edits") or {}
    if status not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
        raise InvalidInputError("reason must be text of at most 2000 characters")
    if status == "rejected" and not (reason or "").strip():
        raise InvalidInputError("give a reason when rejecting a report (it is kept in the history)")
    if not isinstance(edits, dict) or set(edits) - _EDITABLE:
        raise InvalidInputError(f"edits may change only {', '.join(sorted(_EDITABLE))}")
    rep = s.get(Report, report_id, with_for_update=s.get_bind().dialect.name == "postgresql")
    if rep is None:
        raise APIError(404, "not_found", f"no report {report_id!r}")
    changes = _apply_edits(rep, edits) if edits else None
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
    rep.status = status
    rep.updated_at = utcnow()
    return {"id": rep.id, "status": status}


def _apply_edits(rep: Report, edits: dict) -> dict:
    """Validate edited fields like a new submission; return ``{field: [old, new]}`` (the original stays in ``original``)."""
    merged = {
        "id": rep.id,
        "category": rep.category,
        "description": rep.description,
        "severity": rep.severity,
        "attributes": dict(rep.attributes or {}),
    }
    merged.update({k: v for k, v in edits.items() if k not in ("lon", "lat")})
    lon, lat = edits.get("lon", rep.lon), edits.get("lat", rep.lat)
    if rep.geometry_wkt is None:
        geometry = {"type": "Point", "coordinates": [lon, lat]}
    else:
        geometry = json.loads(shapely.to_geojson(shapely.from_wkt(rep.geometry_wkt)))
    raw = raw_from_geojson({"type": "Feature", "geometry": geometry, "properties": merged})
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
