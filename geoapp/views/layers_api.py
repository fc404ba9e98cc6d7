"""GIS downloads of the published layers: /api/layers, one layer in any format, several layers at once.

Files are written by ``layers.publish.export`` (GDAL) into the instance folder and
sent in chunks, so a large download streams. Exports of built layers are
cached per build file version; exports holding field reports are made per
caller (their privacy level) and never cached. An export over
``EXPORT_SYNC_MAX_FEATURES`` features runs as a background job (``geoapp.jobs``:
a ``geoapp worker`` with Redis, else a thread of a server process; its state is a
row of the jobs table, so any server process answers the poll): the answer is
202 with a job whose progress a page can poll, then the file.

Limits: a client (a signed-in user, else an IP address) has at most
``EXPORT_JOBS_PER_CLIENT`` (default 2) export jobs queued or running at once, and
the server at most ``EXPORT_JOBS_MAX`` (default 8); beyond, the answer is 429
with a JSON error and a ``Retry-After`` header.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, send_file, url_for

from geoapp.reports.query import viewer_level
from layers.errors import InvalidInputError, NotFoundError
from layers.publish.export import FORMATS, export_filename, export_layers, export_metadata

from .. import access, auth, jobs
from ..area import build_path, current_name, using
from ..errors import APIError, TooManyRequestsError
from ..ogcapi.catalogue import REPORTS, catalogue, read_layer, reports_frame

bp = Blueprint("layers_api", __name__, url_prefix="/api")

DEFAULT_SYNC_MAX_FEATURES = 250_000
JOB_TTL_S = 3600
DEFAULT_JOBS_PER_CLIENT = 2
DEFAULT_JOBS_MAX = 8
ACTIVE = ("queued", "running")


def _job_json(state: jobs.JobState) -> dict:
    """The export API's view of a job (``done`` where the jobs table says ``finished``)."""
    status = "done" if state.status == "finished" else state.status
    out: dict = {
        "id": state.id,
        "status": status,
        "progress": round(state.progress, 3),
        "layer": state.message if state.status == "running" and state.message != "started" else "",
        "layers": state.payload.get("names", []),
        "format": state.payload.get("format"),
        "links": {"self": url_for("layers_api.job", job_id=state.id, _external=True)},
    }
    if status == "done":
        out["links"]["file"] = url_for("layers_api.job_file", job_id=state.id, _external=True)
    if state.error:
        out["error"] = state.error
    return out


# -- helpers ------------------------------------------------------------------------------------


def _export_dir() -> Path:
    """``EXPORT_DIR`` (default ``instance/exports``); files unused for ``EXPORT_KEEP_DAYS`` (default 7) are removed."""
    configured = current_app.config.get("EXPORT_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prune(folder: Path) -> None:
    cutoff = time.time() - float(current_app.config.get("EXPORT_KEEP_DAYS", 7)) * 86400
    for f in folder.iterdir():
        try:
            if f.is_file() and max(f.stat().st_atime, f.stat().st_mtime) < cutoff:
                f.unlink()
        except OSError:  # another worker removed it first
            pass


def _format() -> tuple[str, str]:
    fmt = request.args.get("f", "gpkg").lower()
    if fmt not in FORMATS:
        raise InvalidInputError(f"f '{fmt}' must be one of {', '.join(FORMATS)}")
    csv_geometry = request.args.get("csv_geometry", "wkt")
    if csv_geometry not in ("wkt", "lonlat"):
        raise InvalidInputError("csv_geometry must be 'wkt' or 'lonlat'")
    return fmt, csv_geometry


def _names(raw: str | list | None) -> list[str]:
    names = raw if isinstance(raw, list) else [n.strip() for n in (raw or "").split(",") if n.strip()]
    if not names:
        raise InvalidInputError(
            "layers is empty: name one or more layers, e.g. layers=buildings,roads (see GET /api/layers)"
        )
    cat = catalogue()
    unknown = [n for n in names if n not in cat]
    if unknown:
        raise NotFoundError(f"no layer {', '.join(unknown)}; layers are {', '.join(cat)}")
    return list(dict.fromkeys(names))


def _cache_key(names: list[str], fmt: str, csv_geometry: str) -> str:
    path = build_path()
    stamp = f"{path.resolve()}:{path.stat().st_mtime_ns}:{','.join(names)}:{fmt}:{csv_geometry}"
    return hashlib.sha1(stamp.encode()).hexdigest()[:20]


def _suffix(names: list[str], fmt: str) -> str:
    return Path(export_filename(names, fmt)).suffix


def _metadata() -> dict:
    return export_metadata(build_path()) if build_path().exists() else {}


def _write(names: list[str], fmt: str, csv_geometry: str, out: Path, *, reports=None, progress=None) -> Path:
    """Read the layers and write them (layers read here, in the caller's thread or a job's)."""
    n = len(names)
    layers = {}
    for i, name in enumerate(names):
        layers[name] = reports if name == REPORTS else read_layer(name)
        if progress:
            progress(i + 1, 2 * n, name)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part{out.suffix}")
    try:
        export_layers(
            layers,
            tmp,
            format=fmt,
            metadata=_metadata(),
            csv_geometry=csv_geometry,
            progress=(lambda d, t, name: progress(n + round(d * n / max(t, 1)), 2 * n, name)) if progress else None,
        )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _send(path: Path, names: list[str], fmt: str, *, delete: bool = False, area: str | None = None):
    """The file as an attachment, sent in chunks; ``delete`` unlinks it once open (per-caller exports)."""
    name = f"{area or current_name()}-{export_filename(names, fmt, base='layers')}"  # names the area
    mimetype = FORMATS[fmt].media_type if name.endswith(FORMATS[fmt].suffix) else "application/zip"
    if delete:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the response
        size = path.stat().st_size
        path.unlink()
        resp = send_file(handle, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
        resp.headers["Content-Length"] = str(size)
        return resp
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


def _sync_limit() -> int:
    return int(current_app.config.get("EXPORT_SYNC_MAX_FEATURES", DEFAULT_SYNC_MAX_FEATURES))


def _reports_for_caller(names: list[str]):
    """Field reports as this caller may see them, read in the request (privacy is decided here, never in a job)."""
    return reports_frame() if REPORTS in names else None


def _export(names: list[str], fmt: str, csv_geometry: str, *, force_job: bool = False):
    """Answer a download: the file now, or 202 and a background job when it is large (or asked for)."""
    reports = _reports_for_caller(names)
    cacheable = reports is None
    if cacheable:
        cached = _export_dir() / f"{_cache_key(names, fmt, csv_geometry)}{_suffix(names, fmt)}"
        if cached.exists() and not force_job:
            return _send(cached, names, fmt)
    cat = catalogue()
    features = sum(cat[n].features or 0 for n in names) + (len(reports) if reports is not None else 0)
    if force_job or features > _sync_limit():
        return _start_job(names, fmt, csv_geometry, reports)
    if cacheable:
        _prune(cached.parent)
        return _send(_write(names, fmt, csv_geometry, cached), names, fmt)
    fd, tmp = tempfile.mkstemp(prefix="export-", suffix=_suffix(names, fmt), dir=_export_dir())
    os.close(fd)
    return _send(_write(names, fmt, csv_geometry, Path(tmp), reports=reports), names, fmt, delete=True)


def _client(user) -> str:
    return f"user:{user.id}" if user is not None else f"ip:{request.remote_addr}"


def _active_exports() -> list[jobs.JobState]:
    return [s for status in ACTIVE for s in jobs.recent(kind="export", status=status, limit=10_000)]


def _check_job_limits(client: str) -> None:
    """429 when this client, or the server, has more export jobs queued or running than allowed.

    Runs once the new job's row exists (``jobs.submit(admit=...)``), so it counts that job too.
    """
    active = _active_exports()
    per_client = int(current_app.config.get("EXPORT_JOBS_PER_CLIENT", DEFAULT_JOBS_PER_CLIENT))
    total = int(current_app.config.get("EXPORT_JOBS_MAX", DEFAULT_JOBS_MAX))
    if sum(j.payload.get("client") == client for j in active) > per_client:
        raise TooManyRequestsError(
            f"you already have {per_client} export jobs running; wait for one to finish", retry_after_s=10
        )
    if len(active) > total:
        raise TooManyRequestsError(f"the server is running {total} export jobs; try again in a minute")


def _start_job(names: list[str], fmt: str, csv_geometry: str, reports):
    user = auth.current_user()
    client = _client(user)
    folder = _export_dir()
    _expire_job_files(folder)
    private = reports is not None and viewer_level(user) != "public"
    private = private or any(access.level(n) != "public" for n in names if n != REPORTS)
    owner = user.id if private and user is not None else None
    out = folder / (
        f"job-{uuid.uuid4().hex}{_suffix(names, fmt)}"  # per caller: never shared, removed after JOB_TTL_S
        if reports is not None
        else f"{_cache_key(names, fmt, csv_geometry)}{_suffix(names, fmt)}"
    )
    payload = {
        "names": names,
        "format": fmt,
        "csv_geometry": csv_geometry,
        "out": str(out),
        "area": current_name(),
        "client": client,
        # Privacy is decided here, in the request: the job reads the reports at this level, no other.
        "reports_level": viewer_level(user) if reports is not None else None,
    }
    job_id = jobs.submit("export", payload, owner=owner, admit=lambda: _check_job_limits(client))
    state = jobs.get(job_id)
    assert state is not None
    resp = jsonify(_job_json(state))
    resp.status_code = 202
    resp.headers["Location"] = url_for("layers_api.job", job_id=job_id, _external=True)
    return resp


@jobs.task("export")
def run_export(payload: dict, progress: jobs.Progress) -> dict:
    """The export job: the layers into ``payload["out"]``, reports (if asked) at the level the request decided."""
    from geoapp.reports.query import reports_geodataframe

    names = payload["names"]
    with using(payload["area"]):
        reports = None
        if REPORTS in names:
            reports = reports_geodataframe(viewer=payload["reports_level"])
            if "attributes" in reports.columns:
                reports["attributes"] = [
                    json.dumps(a, ensure_ascii=False, default=str) if a else None for a in reports["attributes"]
                ]
        path = _write(
            names,
            payload["format"],
            payload["csv_geometry"],
            Path(payload["out"]),
            reports=reports,
            progress=lambda done, total, name: progress(done / max(total, 1), name),
        )
    return {"file": str(path)}


def _expire_job_files(folder: Path) -> None:
    """Per-caller job files are kept ``JOB_TTL_S``; cached exports follow ``EXPORT_KEEP_DAYS`` (:func:`_prune`)."""
    cutoff = time.time() - JOB_TTL_S
    for f in folder.glob("job-*"):
        try:
            if f.stat().st_mtime < cutoff:
                f.unlink()
        except OSError:  # another process removed it first
            pass


def _job_for_caller(job_id: str) -> jobs.JobState:
    state = jobs.get(job_id) if len(job_id) <= 64 else None
    if state is None or state.kind != "export" or time.time() - state.created.timestamp() > JOB_TTL_S:
        raise NotFoundError(f"no export job '{job_id[:64]}' (jobs are kept for {JOB_TTL_S // 60} minutes)")
    if state.owner is not None:
        user = auth.current_user()
        if user is None or user.id != state.owner:
            raise APIError(
                403, "forbidden", "this export holds restricted report data; only the user who asked can fetch it"
            )
    return state


# -- views --------------------------------------------------------------------------------------


@bp.get("/layers")
def list_layers():
    """Every published layer with its facts and a download link per format."""
    out = []
    for name, info in catalogue().items():
        out.append(
            {
                "name": name,
                "title": info.title,
                "description": info.description,
                "geometry_type": info.geometry_type,
                "features": info.features,
                "fields": info.fields,
                "bbox": info.bbox_wgs84,
                "downloads": {f: url_for("layers_api.layer", name=name, f=f, _external=True) for f in FORMATS},
                "ogcapi": url_for("ogcapi.collection", name=name, _external=True),
            }
        )
    return jsonify(
        {
            "layers": out,
            "formats": [
                {"f": f.key, "label": f.label, "media_type": f.media_type, "multi_layer": f.multi_layer}
                for f in FORMATS.values()
            ],
            "links": {
                "download": url_for("layers_api.export_many", _external=True) + "?layers=NAME,NAME&f=gpkg",
                "jobs": url_for("layers_api.start_job", _external=True),
            },
        }
    )


@bp.get("/layers/<name>")
def layer(name: str):
    """One layer as a file: ``?f=gpkg|shp|geojson|csv|kml|gpx|fgb`` (default gpkg), ``csv_geometry=wkt|lonlat``."""
    fmt, csv_geometry = _format()
    return _export(_names([name]), fmt, csv_geometry)


@bp.get("/exports")
def export_many():
    """Several layers in one download: ``?layers=a,b&f=gpkg`` (one file, or a zip for one-layer formats)."""
    fmt, csv_geometry = _format()
    return _export(_names(request.args.get("layers")), fmt, csv_geometry)


@bp.post("/exports")
def start_job():
    """Start an export in the background: JSON ``{"layers": [...], "f": "gpkg", "csv_geometry": "wkt"}`` → 202 job."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInputError('send JSON like {"layers": ["buildings"], "f": "gpkg"}')
    fmt = _text_field(body, "f", "gpkg").lower()
    if fmt not in FORMATS:
        raise InvalidInputError(f"f '{fmt}' must be one of {', '.join(FORMATS)}")
    csv_geometry = _text_field(body, "csv_geometry", "wkt")
    if csv_geometry not in ("wkt", "lonlat"):
        raise InvalidInputError("csv_geometry must be 'wkt' or 'lonlat'")
    layers = body.get("layers")
    if isinstance(layers, list) and not all(isinstance(n, str) for n in layers):
        bad = next(n for n in layers if not isinstance(n, str))
        raise InvalidInputError(f"layers must be a list of layer names (text); found {json.dumps(bad)}")
    if not isinstance(layers, (list, str)):
        raise InvalidInputError("layers must be a list of layer names")
    return _export(_names(layers), fmt, csv_geometry, force_job=True)


def _text_field(body: dict, name: str, default: str) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be text, e.g. {json.dumps(default)}; found {json.dumps(value)}")
    return value


@bp.get("/exports/<job_id>")
def job(job_id: str):
    """A job's status and progress (0–1); ``links.file`` once done."""
    resp = jsonify(_job_json(_job_for_caller(job_id)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/exports/<job_id>/file")
def job_file(job_id: str):
    state = _job_for_caller(job_id)
    path = Path((state.result or {}).get("file") or "")
    status = "done" if state.status == "finished" else state.status
    if status != "done" or not path.is_file():
        raise APIError(409, "not_ready", f"export job {job_id} is {status}; poll GET /api/exports/{job_id} until done")
    return _send(path, state.payload["names"], state.payload["format"], area=state.payload.get("area"))
