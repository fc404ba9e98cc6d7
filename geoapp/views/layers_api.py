"""GIS downloads of the published layers: /api/layers, one layer in any format, several layers at once.

Files are written by ``layers.publish.export`` (GDAL) into the instance folder and
sent in chunks, so a large download streams. Exports of built layers are
cached per build file version; exports holding field reports are made per
caller (their privacy level) and never cached. An export over
``EXPORT_SYNC_MAX_FEATURES`` features runs as a background job: the answer is
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
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, send_file, url_for

from geoapp.reports.query import viewer_level
from layers.errors import InvalidInputError, NotFoundError
from layers.publish.export import FORMATS, export_filename, export_layers, export_metadata

from .. import auth
from ..area import build_path
from ..errors import APIError, TooManyRequestsError
from ..ogcapi.catalogue import REPORTS, catalogue, read_layer, reports_frame

bp = Blueprint("layers_api", __name__, url_prefix="/api")

DEFAULT_SYNC_MAX_FEATURES = 250_000
JOB_TTL_S = 3600
DEFAULT_JOBS_PER_CLIENT = 2
DEFAULT_JOBS_MAX = 8
ACTIVE = ("queued", "running")


@dataclass
class Job:
    id: str
    names: list[str]
    format: str
    owner: int | None  # user id when the export holds exact or personal report data
    client: str = ""  # who asked: "user:<id>" or "ip:<address>", for the per-client cap
    status: str = "queued"  # queued, running, done, failed
    done: int = 0
    total: int = 1
    layer: str = ""
    error: str | None = None
    path: Path | None = None
    created: float = field(default_factory=time.time)

    def as_json(self) -> dict:
        out: dict = {
            "id": self.id,
            "status": self.status,
            "progress": round(self.done / max(self.total, 1), 3),
            "layer": self.layer,
            "layers": self.names,
            "format": self.format,
            "links": {"self": url_for("layers_api.job", job_id=self.id, _external=True)},
        }
        if self.status == "done":
            out["links"]["file"] = url_for("layers_api.job_file", job_id=self.id, _external=True)
        if self.error:
            out["error"] = self.error
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


def _send(path: Path, names: list[str], fmt: str, *, delete: bool = False):
    """The file as an attachment, sent in chunks; ``delete`` unlinks it once open (per-caller exports)."""
    name = export_filename(names, fmt, base="layers")
    mimetype = FORMATS[fmt].media_type if name.endswith(FORMATS[fmt].suffix) else "application/zip"
    if delete:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the response
        size = path.stat().st_size
        path.unlink()
        resp = send_file(handle, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
        resp.headers["Content-Length"] = str(size)
        return resp
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


_JOBS_LOCK = threading.Lock()


def _jobs() -> dict[str, Job]:
    return current_app.extensions.setdefault("geoapp.export_jobs", {})


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


def _check_job_limits(client: str) -> None:
    """429 when this client, or the server, already has as many export jobs as allowed running."""
    active = [j for j in _jobs().values() if j.status in ACTIVE]
    per_client = int(current_app.config.get("EXPORT_JOBS_PER_CLIENT", DEFAULT_JOBS_PER_CLIENT))
    total = int(current_app.config.get("EXPORT_JOBS_MAX", DEFAULT_JOBS_MAX))
    if sum(j.client == client for j in active) >= per_client:
        raise TooManyRequestsError(
            f"you already have {per_client} export jobs running; wait for one to finish", retry_after_s=10
        )
    if len(active) >= total:
        raise TooManyRequestsError(f"the server is running {total} export jobs; try again in a minute")


def _start_job(names: list[str], fmt: str, csv_geometry: str, reports):
    _expire_jobs()
    user = auth.current_user()
    client = _client(user)
    with _JOBS_LOCK:  # count and register in one step: parallel requests cannot all slip under the cap
        _check_job_limits(client)
        private = reports is not None and viewer_level(user) != "public"
        job = Job(uuid.uuid4().hex, names, fmt, owner=user.id if private and user is not None else None, client=client)
        _jobs()[job.id] = job
    out = _export_dir() / (
        f"job-{job.id}{_suffix(names, fmt)}"
        if reports is not None
        else f"{_cache_key(names, fmt, csv_geometry)}{_suffix(names, fmt)}"
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, for the thread

    def progress(done: int, total: int, name: str) -> None:
        job.done, job.total, job.layer = done, total, name

    def run() -> None:
        job.status = "running"
        try:
            with app.app_context():
                job.path = _write(names, fmt, csv_geometry, out, reports=reports, progress=progress)
            job.done = job.total
            job.status = "done"
        except Exception as exc:  # reported to the poller; the log keeps the traceback
            app.logger.exception("export job %s failed", job.id)
            job.status, job.error = "failed", str(exc) or type(exc).__name__

    threading.Thread(target=run, name=f"export-{job.id}", daemon=True).start()
    resp = jsonify(job.as_json())
    resp.status_code = 202
    resp.headers["Location"] = url_for("layers_api.job", job_id=job.id, _external=True)
    return resp


def _expire_jobs() -> None:
    jobs = _jobs()
    for job_id, job in list(jobs.items()):
        if time.time() - job.created > JOB_TTL_S and job.status in ("done", "failed"):
            if job.path is not None and job.path.name.startswith("job-"):
                job.path.unlink(missing_ok=True)
            jobs.pop(job_id, None)


def _job_for_caller(job_id: str) -> Job:
    job = _jobs().get(job_id)
    if job is None:
        raise NotFoundError(f"no export job '{job_id}' (jobs are kept for {JOB_TTL_S // 60} minutes)")
    if job.owner is not None:
        user = auth.current_user()
        if user is None or user.id != job.owner:
            raise APIError(
                403, "forbidden", "this export holds restricted report data; only the user who asked can fetch it"
            )
    return job


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
    return jsonify(_job_for_caller(job_id).as_json())


@bp.get("/exports/<job_id>/file")
def job_file(job_id: str):
    j = _job_for_caller(job_id)
    if j.status != "done" or j.path is None or not j.path.exists():
        raise APIError(
            409, "not_ready", f"export job {job_id} is {j.status}; poll GET /api/exports/{job_id} until done"
        )
    return _send(j.path, j.names, j.format)
