"""The field-report API: submit, import, list (streamed GeoJSON/CSV) and review."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import logging
import tempfile
from pathlib import Path

import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from geoapp.reports.moderation import review_one
from geoapp.reports.query import iter_report_frames, report_config, reports_extent, viewer_level, visible
from geoapp.reports.store import StoreSummary, import_path, store_batch, summary_status, write_transaction
from layers.errors import ForbiddenError, InvalidInputError, NotFoundError
from layers.publish.export import neutralise_formulas
from layers.publish.features import geojson_from_wkt
from layers.reports.layer import wkt_or_none
from layers.reports.parse import clean_photo, normalise_reports, raw_from_geojson

from .. import auth, db
from ..models import Report, Review, User

bp = Blueprint("reports_api", __name__, url_prefix="/api/reports")
_log = logging.getLogger(__name__)
# Offsets beyond this are refused (a 64-bit OFFSET overflows in the database; nobody pages that far).
MAX_OFFSET = 10**12
MAX_JSON_DEPTH = 64  # GeoJSON needs about 8 levels; attributes get some room
# Ends of a listing that failed part-way: invalid GeoJSON, and a last CSV line that says so.
STREAM_FAILED_JSON = "\n!! the listing failed part-way: this answer is incomplete and not valid GeoJSON\n"
STREAM_FAILED_CSV = "\n#ERROR: the listing failed part-way; this file is incomplete\n"


# --- submit ---------------------------------------------------------------------------------


@bp.post("")
def submit():
    """A GeoJSON Feature or FeatureCollection; ``properties.id`` (UUID) makes a resend idempotent."""
    user = auth.current_user()
    obj = _json_body()
    raw = raw_from_geojson(obj)
    if user is None:
        auth.check_anonymous_rate(max(len(raw), 1))
    elif not auth.can(user, "submit"):
        raise ForbiddenError(f"the {user.role} role may not submit reports")
    result = normalise_reports(raw, config=report_config(), source="api", extent=reports_extent(), strict_ids=True)
    photos = _photos(obj, result)
    summary = StoreSummary()
    with write_transaction() as s:
        store_batch(s, result, user=user, summary=summary, photos=photos)
    status = summary_status(summary)
    if status == 400 and obj.get("type") == "Feature":
        raise InvalidInputError(result.errors[0]["error"])
    body = summary.as_json(with_ids=True)
    if status == 400:
        body["error"] = {"code": "invalid_input", "message": "no report was valid; see 'rejected'"}
    return jsonify(body), status


def _json_body() -> dict:
    data = request.get_data(cache=False)
    if not data:
        raise InvalidInputError("the body is empty; send a GeoJSON Feature or FeatureCollection")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # the decoder recurses per level: deeper than Python's stack allows
        raise InvalidInputError(f"the body is nested more than {MAX_JSON_DEPTH} levels deep") from exc
    field = _nul_field(obj)
    if field is not None:
        raise InvalidInputError(f"{field} contains a NUL character (\\u0000), which cannot be stored")
    return obj


def _nul_field(value, path: tuple[str, ...] = (), depth: int = 0) -> str | None:
    """The name of the first text (value or key) holding a NUL character: no database stores one in text.

    Bodies nested more than :data:`MAX_JSON_DEPTH` levels are refused (this walk and later ones recurse).
    """
    if depth > MAX_JSON_DEPTH:
        raise InvalidInputError(f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, str):
        return (
            (".".join(p for p in path if p not in ("features", "properties")) or "the body")
            if "\x00" in value
            else None
        )
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value) if isinstance(value, list) else ()
    for key, item in items:
        if key is not None and "\x00" in str(key):
            return "a field name"
        found = _nul_field(item, path if key is None else (*path, str(key)), depth + 1)
        if found is not None:
            return found
    return None


def _photos(obj: dict, result) -> dict:
    """``properties.photo`` data URLs of accepted features, cleaned (EXIF/GPS stripped); bad photos reject their row."""
    feats = (obj.get("features") if obj.get("type") == "FeatureCollection" else [obj]) or []
    out: dict[str, tuple[bytes, str]] = {}
    if result.records.empty:
        return out
    by_row = dict(zip(result.records["row"], result.records["id"], strict=True))
    bad_rows = []
    for row, feat in enumerate(feats, start=1):
        photo = (feat.get("properties") or {}).get("photo") if isinstance(feat, dict) else None
        if not photo or row not in by_row:
            continue
        try:
            head, _, payload = str(photo).partition(",")
            if not head.startswith("data:image/") or ";base64" not in head:
                raise InvalidInputError("photo must be a data URL 'data:image/jpeg;base64,...'")
            try:
                data = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidInputError("photo is not valid base64") from exc
            out[by_row[row]] = clean_photo(data, max_bytes=current_app.config["MAX_PHOTO_BYTES"])
        except InvalidInputError as exc:
            if obj.get("type") == "Feature":
                raise
            result.errors.append({"row": row, "error": str(exc)})
            bad_rows.append(row)
    if bad_rows:
        result.records = result.records[~result.records["row"].isin(bad_rows)]
    return out


# --- import ---------------------------------------------------------------------------------


@bp.post("/import")
@auth.require("import")
def import_file():
    """Multipart ``file`` (CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile, Kobo/ODK export); optional ``category``."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInputError("send the file as multipart form field 'file'")
    user = auth.current_user()
    with tempfile.TemporaryDirectory(prefix="geoapp-import-") as tmp:
        path = Path(tmp) / "upload"
        upload.save(path)
        if path.stat().st_size > int(current_app.config.get("IMPORT_JOB_MIN_BYTES", 5 * 1024 * 1024)):
            from geoapp.jobs.tasks import queue_import  # a big file: 202 and a job (GET /api/jobs/<id>)

            return queue_import(path, name=Path(upload.filename).name, user=user, category=request.form.get("category"))
        summary = import_path(
            path, name=Path(upload.filename).name, user=user, category=request.form.get("category") or None
        )
    body = summary.as_json()
    body["import"] = {"id": summary.import_id, "status": "done"}
    return jsonify(body), 200


# --- list -----------------------------------------------------------------------------------


@bp.get("")
def list_reports():
    """Every matching report, streamed, as GeoJSON (default) or CSV (``f=csv``)."""
    user = auth.current_user()
    level = viewer_level(user)
    fmt = request.args.get("f", "geojson").lower()
    if fmt not in ("geojson", "json", "csv"):
        raise InvalidInputError("f must be 'geojson' or 'csv'")
    limit = _int_arg("limit", minimum=0, maximum=100_000)
    offset = _int_arg("offset", minimum=0, maximum=MAX_OFFSET) or 0
    frames = iter_report_frames(
        level=level,
        status=request.args.get("status"),
        category=request.args.get("category"),
        bbox=request.args.get("bbox"),
        limit=limit,
        offset=offset,
    )
    # The first chunk is read here, inside the request: filters are validated (errors are clean 4xx
    # answers) and the generator has captured the engine, settings and CRS it needs, so the rest of the
    # stream needs no request context (an answer nobody reads then holds none either).
    first = next(frames, None)

    def chained():
        if first is not None:
            yield first
            yield from frames

    if fmt == "csv":
        return Response(
            _failing_visibly(_csv_stream(chained()), STREAM_FAILED_CSV, frames),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=reports.csv"},
        )
    body = _failing_visibly(_geojson_stream(chained()), STREAM_FAILED_JSON, frames)
    return Response(body, mimetype="application/geo+json")


def _int_arg(name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise InvalidInputError(
            f"{name} must be between {minimum} and {maximum}" if maximum else f"{name} must be ≥ {minimum}"
        )
    return value


def features(frame: pd.DataFrame) -> list[dict]:
    """GeoJSON Feature dicts of a privacy-filtered frame."""
    props = frame.drop(columns=["lon", "lat", "geometry_wkt"], errors="ignore")
    for col in props.columns:
        if pd.api.types.is_datetime64_any_dtype(props[col]):
            props[col] = props[col].map(lambda t: t.isoformat() if pd.notna(t) else None).astype(object)
    props = props.astype(object).where(props.notna(), None)
    records = props.to_dict("records")
    lon = frame["lon"].round(7).tolist()
    lat = frame["lat"].round(7).tolist()
    shapes = geojson_from_wkt(wkt_or_none(frame["geometry_wkt"])) if "geometry_wkt" in frame else [None] * len(frame)
    return [
        {
            "type": "Feature",
            "id": p["id"],
            "geometry": g if g is not None else {"type": "Point", "coordinates": [x, y]},
            "properties": p,
        }
        for p, x, y, g in zip(records, lon, lat, shapes, strict=True)
    ]


def _failing_visibly(chunks, marker: str, frames):
    """Pass ``chunks`` on; if one fails, end with ``marker`` so the answer cannot be read as complete.

    The status (200) is sent before the first chunk: an error part-way can only show in the body.
    """
    try:
        yield from chunks
    except Exception:
        _log.exception("report listing failed part-way")  # no app context here: the stream outlives the request
        yield marker
    finally:
        frames.close()  # ends the database read (and its transaction) even when a chunk failed


def _geojson_stream(frames):
    yield '{"type": "FeatureCollection", "features": ['
    first = True
    for frame in frames:
        feats = features(frame)
        if feats:  # one dumps per chunk, not per feature
            yield ("" if first else ",\n") + json.dumps(feats, ensure_ascii=False)[1:-1]
            first = False
    yield "]}\n"


def _csv_stream(frames):
    header = None
    for frame in frames:
        frame = frame.copy()
        if "attributes" in frame:
            frame["attributes"] = [json.dumps(a, ensure_ascii=False) if a else "" for a in frame["attributes"]]
        if "original" in frame:
            frame = frame.drop(columns=["original"])
        frame = neutralise_formulas(frame.rename(columns={"geometry_wkt": "wkt"}))
        buf = io.StringIO()
        frame.to_csv(
            buf, index=False, header=header is None, date_format="%Y-%m-%dT%H:%M:%S%z", quoting=csv.QUOTE_MINIMAL
        )
        header = True
        yield buf.getvalue()
    if header is None:
        yield "id,category,description,severity,observed_at,lon,lat,status\n"


# --- one report, review -----------------------------------------------------------------------


@bp.get("/<report_id>")
def one(report_id: str):
    """One report as a Feature (moderators also get its moderation history)."""
    user = auth.current_user()
    level = viewer_level(user)
    frames = iter_report_frames(level=level, ids=[report_id])
    frame = next(frames, None)
    frames.close()
    if frame is None or frame.empty:
        raise NotFoundError(f"no report {report_id!r} visible to you")
    feat = features(frame)[0]
    if level == "moderator":
        feat["properties"]["history"] = [
            {
                "at": r.at.isoformat(),
                "user_id": r.user_id,
                "from": r.from_status,
                "to": r.to_status,
                "reason": r.reason,
                "changes": r.changes,
            }
            for r in db.session().scalars(
                select(Review).where(Review.report_id == report_id).order_by(Review.at, Review.id)
            )
        ]
    return jsonify(feat)


@bp.get("/<report_id>/photo")
def photo(report_id: str):
    """The cleaned photo of a published report (any report for moderators).

    Only a published report's photo may sit in shared caches; any other is ``private, no-store``.
    """
    user = auth.current_user()
    rep = db.session().scalar(select(Report).where(Report.id == report_id, visible()))
    if rep is None or rep.photo_type is None or (rep.status != "published" and viewer_level(user) != "moderator"):
        raise NotFoundError(f"no photo for report {report_id!r}")
    cache = "public, max-age=86400" if rep.status == "published" else "private, no-store"
    return Response(rep.photo, mimetype=rep.photo_type, headers={"Cache-Control": cache})


@bp.post("/<report_id>/review")
@auth.require("review")
def review(report_id: str):
    """``{"status": "published|rejected|pending", "reason": "...", "edits": {...}}``; rejecting needs a reason."""
    body = _json_body()
    with write_transaction() as s:
        out = review_one(s, report_id, body, user=_reviewer())
    return jsonify(out)


def _reviewer() -> User:
    user = auth.current_user()
    if user is None:  # auth.require("review") has let only signed-in reviewers through
        raise ForbiddenError("sign in to review reports")
    return user


@bp.post("/review")
@auth.require("review")
def review_bulk():
    """``{"ids": [...], "status": ..., "reason": ...}``: the same decision for many reports, all or none."""
    body = _json_body()
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise InvalidInputError("ids must be a non-empty list of report ids")
    if len(ids) > 5000:
        raise InvalidInputError("review at most 5000 reports at once")
    user = _reviewer()
    with write_transaction() as s:
        done = [review_one(s, i, {k: v for k, v in body.items() if k != "ids"}, user=user) for i in ids]
    return jsonify({"reviewed": len(done), "status": body.get("status")})
