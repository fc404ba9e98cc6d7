"""Pull a feed's submissions into field reports: new ones added, edited ones updated with a history entry.

A submission becomes a GeoJSON Feature (:func:`to_feature`) and goes through the same validation as any
other channel (:func:`layers.reports.parse.normalise_reports`). Its instance id (``uuid:`` stripped) is the
report id and, scoped to the feed's own account (``feed-<name>``), the idempotency key: a re-pull finds every
key stored and adds nothing. A stored report whose submission changed on the server is edited like a
moderator's edit (validated, ``original`` kept) and gets a history row saying so. Photos are fetched from the
server's attachments and cleaned like uploads (:func:`layers.reports.photos.clean_photo`).
"""

from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import select

from geoapp.models import Report, Review, User, utcnow
from geoapp.reports.moderation import _apply_edits
from geoapp.reports.query import report_config, reports_extent
from geoapp.reports.store import StoreSummary, client_key, client_scope, store_batch, write_transaction
from layers.errors import InvalidInputError, NotFoundError, TooLargeError
from layers.reports.parse import normalise_reports, raw_from_geojson
from layers.reports.photos import clean_photo

from .clients import client

CANONICAL = ("category", "description", "severity", "observed_at", "accuracy_m", "altitude_m")
DRY_RUN_ROWS = 5


def feeds() -> dict[str, dict]:
    cfg = current_app.config.get("FEEDS") or {}
    try:
        cfg = json.loads(cfg) if isinstance(cfg, str) else cfg
    except ValueError as exc:
        raise InvalidInputError(f"FEEDS (GEOAPP_FEEDS) is not valid JSON: {exc}") from None
    if not isinstance(cfg, dict) or not all(isinstance(v, dict) for v in cfg.values()):
        raise InvalidInputError('FEEDS must map each feed name to a dict, e.g. {"camps": {"platform": "odk", ...}}')
    return dict(cfg)


def feed(name: str) -> dict:
    known = feeds()
    if name not in known:
        raise NotFoundError(f"no feed '{name}' in the instance config FEEDS (known: {', '.join(known) or 'none'})")
    f = dict(known[name])
    if f.get("platform", "kobo") not in ("odk", "kobo"):
        raise InvalidInputError(f"feed '{name}': platform must be 'odk' or 'kobo', not {str(f['platform'])[:40]!r}")
    need = (
        ("url", "project", "form", "username", "password") if f.get("platform") == "odk" else ("url", "asset", "token")
    )
    missing = [k for k in need if not f.get(k)]
    if missing:
        raise InvalidInputError(f"feed '{name}': set {', '.join(missing)} in the instance config FEEDS['{name}']")
    return f


def get_path(row: dict, path: str):
    """``group/sub/field`` in nested (ODK) or flat (Kobo: keys with slashes) submissions."""
    if path in row:
        return row[path]
    cur: object = row
    for part in path.split("/"):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def _first_point(row) -> dict | None:
    if isinstance(row, dict):
        if row.get("type") == "Point" and isinstance(row.get("coordinates"), list):
            return row
        for key, value in row.items():
            if not key.startswith("__"):
                found = _first_point(value)
                if found:
                    return found
    return None


def _location(row: dict, path: str | None) -> tuple[dict | None, dict]:
    """GeoJSON point and ``accuracy_m``/``altitude_m``: an ODK GeoJSON geopoint, an ODK/Kobo ``lat lon alt acc``
    text, or Kobo's ``_geolocation`` [lat, lon]."""
    value = get_path(row, path) if path else (_first_point(row) or row.get("_geolocation"))
    extra: dict = {}
    if isinstance(value, dict) and isinstance(value.get("coordinates"), list):
        c = value["coordinates"]
        if len(c) > 2:
            extra["altitude_m"] = c[2]
        acc = (value.get("properties") or {}).get("accuracy")
        if acc is not None:
            extra["accuracy_m"] = acc
        return {"type": "Point", "coordinates": c[:2]}, extra
    if isinstance(value, str) and value.strip():
        parts = value.split()
        if len(parts) >= 2:
            if len(parts) > 2:
                extra["altitude_m"] = float(parts[2])
            if len(parts) > 3:
                extra["accuracy_m"] = float(parts[3])
            return {"type": "Point", "coordinates": [float(parts[1]), float(parts[0])]}, extra
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return {"type": "Point", "coordinates": [value[1], value[0]]}, extra
    return None, extra


def instance_id(cl, row: dict) -> str | None:
    iid = cl.instance_id(row)
    return iid[5:] if isinstance(iid, str) and iid.startswith("uuid:") else iid


def to_feature(row: dict, f: dict, cl) -> dict:
    """One submission as a report Feature under the feed's field mapping."""
    fields = dict(f.get("fields") or {})
    geometry, extra = _location(row, fields.pop("location", None))
    props: dict = {"id": instance_id(cl, row), "category": f.get("category"), **extra}
    props["observed_at"] = (
        row.get("end") or row.get("_submission_time") or (row.get("__system") or {}).get("submissionDate")
    )
    attributes = {}
    for name, path in fields.items():
        value = get_path(row, path)
        if name in CANONICAL:
            if value is not None:
                props[name] = value
        elif value is not None:
            attributes[name] = value
    if attributes:
        props["attributes"] = attributes
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _parse(f: dict, rows: list[dict], cl):
    feats = [to_feature(r, f, cl) for r in rows]
    raw = raw_from_geojson({"type": "FeatureCollection", "features": feats})
    return feats, normalise_reports(raw, config=report_config(), source=f["platform"], extent=reports_extent())


def dry_run(name: str) -> dict:
    """How the first rows would map: ``{"feed", "rows": [{"instance_id", "report"}], "rejected"}``; nothing stored."""
    f = feed(name)
    cl = client(f)
    rows = list(cl.submissions(limit=DRY_RUN_ROWS))
    feats, result = _parse(f, rows, cl)
    return {
        "feed": name,
        "rows": [{"instance_id": instance_id(cl, r), "report": ft} for r, ft in zip(rows, feats, strict=True)],
        "rejected": result.errors,
    }


def _feed_user(s, name: str, *, trusted: bool) -> User:
    """The feed's own account: its scope keys the instance ids; ``trusted`` feeds publish without review."""
    from geoapp.auth import create_user

    uname = f"feed-{name}"
    user = s.scalar(select(User).where(User.name == uname))
    if user is None:
        user, _ = create_user(s, uname, "volunteer")
        s.flush()
    user.trusted = trusted
    return user


def pull(name: str) -> dict:
    """Pull every submission of feed ``name``: ``{"fetched", "accepted", "duplicates", "updated", "rejected",
    "photos"}``."""
    f = feed(name)
    cl = client(f)
    rows = list(cl.submissions())
    feats, result = _parse(f, rows, cl)
    by_id = {instance_id(cl, r): r for r in rows}
    summary = StoreSummary()
    updated = photos_got = 0
    with write_transaction() as s:
        user = _feed_user(s, name, trusted=bool(f.get("trusted")))
        scope = client_scope(user)
        recs = result.records
        keys = {client_key(scope, str(i)): str(i) for i in recs["id"]} if len(recs) else {}
        stored = {r.client_key: r for r in s.scalars(select(Report).where(Report.client_key.in_(list(keys))))}
        photos = {}
        for rid in keys.values():
            data = _photo(f, cl, by_id.get(rid))
            if data is not None:
                photos[rid] = data
        new = recs[[k not in stored for k in keys]] if len(recs) else recs
        store_batch(s, _with(result, new), user=user, summary=summary, photos=photos)
        photos_got = sum(1 for rid in photos if rid in summary.ids)
        if user.trusted and summary.accepted:  # published at once: the analyses follow (geoapp.live)
            from geoapp import live

            for cat in set(new["category"].astype(str)):
                live.changed(s, cat)
        for key, rep in stored.items():
            rec = recs[recs["id"].astype(str) == keys[key]].iloc[0]
            edits = _edits(rep, rec)
            changes = _apply_edits(rep, edits) if edits else {}
            data = photos.get(keys[key])
            if data is not None and rep.photo is None:
                rep.photo, rep.photo_type = data
                changes["photo"] = [None, data[1]]
            if changes:
                updated += 1
                rep.updated_at = utcnow()
                s.add(
                    Review(
                        report_id=rep.id,
                        user_id=user.id,
                        at=utcnow(),
                        from_status=rep.status,
                        to_status=rep.status,
                        reason=f"edited on the {f['platform']} server",
                        changes=_jsonable(changes),
                    )
                )
                if rep.status == "published":
                    from geoapp import live

                    live.changed(s, rep.category)
    return {
        "feed": name,
        "fetched": len(rows),
        "accepted": summary.accepted,
        "duplicates": len(stored) + summary.duplicates,
        "updated": updated,
        "rejected": summary.rejected,
        "photos": photos_got,
    }


def _with(result, records):
    from dataclasses import replace

    return replace(result, records=records, duplicates=0)


def _edits(rep: Report, rec) -> dict:
    """The fields a server-side edit changed, in moderation's edit form."""
    import math

    import pandas as pd

    def val(v):
        v = v.item() if hasattr(v, "item") else v
        return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v

    new = {
        "category": val(rec["category"]),
        "description": val(rec["description"]),
        "severity": val(rec["severity"]),
        "lon": val(rec["lon"]),
        "lat": val(rec["lat"]),
        "attributes": dict(val(rec["attributes"]) or {}),
    }
    return {k: v for k, v in new.items() if v != (dict(rep.attributes or {}) if k == "attributes" else getattr(rep, k))}


def _photo(f: dict, cl, row: dict | None) -> tuple[bytes, str] | None:
    path = f.get("photo")
    name = get_path(row, path) if path and row else None
    if not name:
        return None
    data = cl.attachment(row, str(name))
    if data is None:
        return None
    try:
        return clean_photo(data, max_bytes=int(current_app.config.get("MAX_PHOTO_BYTES", 5_000_000)))
    except (InvalidInputError, TooLargeError):
        return None  # a bad attachment does not sink its report


def _jsonable(changes: dict) -> dict:
    return json.loads(json.dumps(changes, default=str))
