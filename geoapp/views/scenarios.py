"""Hazard scenarios from the web: upload, list, rename, retire (planners and admins), and the upload page.

``POST /api/scenarios`` (multipart: ``file``, ``title``, ``classes``, optional
``field``, ``units``, ``displacement``, ``kind``) checks the upload at once
(:func:`layers.hazard.upload.add_scenario`: every problem is a 4xx naming the
field), stores it in the area folder, and queues a build job; the answer (202)
links the scenario, whose ``status`` goes queued → building → ready (or failed,
with the job's error). ``PATCH /api/scenarios/<id>`` renames, ``DELETE`` (or
``POST .../retire``) retires: the scenario leaves the map and the dashboard at
once and the OGC API and exports with the build queued then; its file is kept.
"""

from __future__ import annotations

import copy
import functools
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import RequestEntityTooLarge

from layers.area import Area
from layers.errors import ConflictError, InvalidInputError, NotFoundError
from layers.hazard import upload, uploaded
from layers.hazard.kinds import kinds
from layers.publish.geopackage import read_metadata

from .. import auth, i18n
from ..area import build_path, current_area, current_name
from ..errors import APIError, error_response

bp = Blueprint("scenarios", __name__)
ROLES = ("planner", "admin")
FORM_FIELDS = ("classes", "field", "units", "displacement", "kind")


def planner_or_admin(view):
    """401 when anonymous, 403 for volunteers and moderators: scenarios change what everyone is shown."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        user = auth.current_user()
        if user is None:
            raise APIError(401, "unauthorized", "log in or send 'Authorization: Bearer <token>'")
        if user.role not in ROLES:
            raise APIError(403, "forbidden", f"the {user.role} role may not add or change scenarios (planners may)")
        return view(*args, **kwargs)

    return wrapped


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    """The request is over MAX_CONTENT_LENGTH: say so about the file, as the other size checks do."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return error_response(
        413,
        "too_large",
        f"file: the upload is over this server's limit of {limit / 1e6:.1f} MB (MAX_CONTENT_LENGTH); "
        "crop the file to the area or compress it (e.g. `gdal_translate -co COMPRESS=DEFLATE`)",
    )


# -- pages --------------------------------------------------------------------------------------------


@bp.get("/scenarios/new")
def page():
    user = auth.current_user()
    if user is None and "report_pages.login" in current_app.view_functions:
        return redirect(url_for("report_pages.login", next=request.script_root + request.path))
    if user is None or user.role not in ROLES:
        raise APIError(403 if user else 401, "forbidden", "planners and admins add scenarios; log in as one")
    area = current_area()
    return render_template(
        "scenario_upload.html",
        title=area.title,
        csrf_token=generate_csrf(),
        defaults={"classes": area.hazards[0].classes.spec() if area.hazards else upload.DEFAULT_CLASSES},
        api=url_for("scenarios.create"),
        map_url=url_for("riskmap.index"),
        strings=i18n.strings_for_js(),
        kinds=list(kinds()),
    )


# -- API ----------------------------------------------------------------------------------------------


@bp.get("/api/scenarios")
@planner_or_admin
def index():
    area = current_area()
    entries = {e["id"]: e for e in uploaded.read_entries(area.root)}
    built = _built_ids()
    out = [_from_config(h, built) for h in area.hazards if h.id not in entries]
    out += [_describe(e, built) for e in entries.values()]
    return jsonify({"area": current_name(), "scenarios": out})


@bp.post("/api/scenarios")
@planner_or_admin
def create():
    area = current_area()
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise InvalidInputError(f"file: no file was sent; upload {upload.ACCEPTED} as the form field 'file'")
    folder = area.root / uploaded.FILES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # Received into a hidden folder beside the stored scenarios (same disk); removed whatever the checks say.
    with tempfile.TemporaryDirectory(prefix=".upload-", dir=folder) as tmp:
        saved = Path(tmp) / ("upload" + Path(sent.filename).suffix.lower())
        sent.save(saved)
        entry, checked = upload.add_scenario(
            area,
            saved,
            filename=Path(sent.filename).name,
            title=request.form.get("title"),
            added_by=auth.current_user().name,  # type: ignore[union-attr]
            max_bytes=int(current_app.config.get("SCENARIO_MAX_BYTES", upload.MAX_BYTES)),
            max_pixels=int(current_app.config.get("SCENARIO_MAX_PIXELS", upload.MAX_PIXELS)),
            **{k: request.form.get(k) for k in FORM_FIELDS},
        )
    entry = uploaded.update_entry(area.root, entry["id"], job=_submit_build())
    body = _describe(entry, _built_ids())
    body["checks"] = checked.summary()
    resp = jsonify(body)
    resp.status_code = 202
    resp.headers["Location"] = body["links"]["self"]
    return resp


@bp.get("/api/scenarios/<scenario_id>")
@planner_or_admin
def show(scenario_id: str):
    return jsonify(_describe(_entry(scenario_id), _built_ids()))


@bp.patch("/api/scenarios/<scenario_id>")
@planner_or_admin
def rename(scenario_id: str):
    body = request.get_json(silent=True)
    title = body.get("title") if isinstance(body, dict) else request.form.get("title")
    _entry(scenario_id)
    entry = uploaded.update_entry(current_area().root, scenario_id, title=uploaded.check_title(title))
    return jsonify(_describe(entry, _built_ids()))


@bp.delete("/api/scenarios/<scenario_id>")
@bp.post("/api/scenarios/<scenario_id>/retire")
@planner_or_admin
def retire(scenario_id: str):
    root = current_area().root
    if _entry(scenario_id).get("status") != uploaded.RETIRED:
        uploaded.update_entry(root, scenario_id, status=uploaded.RETIRED)
        uploaded.update_entry(root, scenario_id, job=_submit_build())  # its layers leave with the next build
    return jsonify(_describe(_entry(scenario_id), _built_ids()))


# -- helpers ------------------------------------------------------------------------------------------


def _entry(scenario_id: str) -> dict:
    area = current_area()
    for e in uploaded.read_entries(area.root):
        if e.get("id") == scenario_id:
            return e
    if scenario_id in [h.id for h in area.hazards]:
        raise ConflictError(
            f"scenario '{scenario_id}' is written in {area.toml_path.name}; rename or remove it there, not from the web"
        )
    raise NotFoundError(f"no scenario '{scenario_id}' in area '{current_name()}'")


def _submit_build() -> str:
    """Queue a build of this area (one at a time per area); its job id."""
    from geoapp import jobs

    user = auth.current_user()
    name = current_name()
    # A build still queued for this area reads the area when it starts, so it builds this change too.
    return jobs.submit(
        "build",
        {"area": str(current_area().root)},
        owner=user.id if user else None,
        lock=f"build:{name}",
        dedupe_key=f"build:{name}",
    )


def _built_ids() -> set[str]:
    """The scenarios the served build holds (its metadata row ``scenarios``)."""
    path = build_path()
    return set(filter(None, read_metadata(path).get("scenarios", "").split(","))) if path.exists() else set()


def _from_config(spec, built: set[str]) -> dict:
    return {
        "id": spec.id,
        "title": spec.title,
        "source": "area.toml",
        "status": "ready" if spec.id in built else "not built",
    }


def _describe(entry: dict, built: set[str]) -> dict:
    """An uploaded scenario with its status: ready when the build holds it, else its build job's state."""
    sid = entry["id"]
    out = {
        k: entry[k] for k in ("id", "title", "classes", "units", "kind", "field", "added_by", "added_at") if k in entry
    }
    out["source"] = "web"
    job = _job(entry.get("job"))
    retired = entry.get("status") == uploaded.RETIRED
    if retired:
        out["status"] = "retiring" if sid in built else "retired"
    elif sid in built:
        out["status"] = "ready"
    elif job is None:
        out["status"] = "queued"
    else:
        out["status"] = {"queued": "queued", "running": "building"}.get(job.status, job.status)
    if job is not None:
        out["job"] = {"id": job.id, "status": job.status, "progress": job.progress, "message": job.message}
        if job.error:
            out["job"]["error"] = job.error
        if job.status == "finished" and not retired and sid not in built:
            out["status"] = "failed"  # the build ran but does not hold it: say so rather than wait forever
    out["links"] = {
        "self": url_for("scenarios.show", scenario_id=sid, _external=True),
        "map": url_for("riskmap.index", scenario=sid, _external=True),  # the map opens on it
    }
    return out


def _job(job_id: str | None):
    if not job_id:
        return None
    from geoapp import jobs

    return jobs.get(job_id)


def map_scenarios(config: dict) -> dict:
    """The map page's scenario switch as of now: built scenarios that are not retired, under their current titles,
    and the upload page's address for planners and admins."""
    titles = {h.id: h.title for h in current_area().hazards}
    built = _built_ids()
    config["scenarios"] = [
        {**s, "title": titles[s["id"]]}
        for s in config["scenarios"]
        if s["id"] in titles and (not built or s["id"] in built)
    ]
    user = auth.current_user()
    if user is not None and user.role in ROLES:
        config.setdefault("urls", {})["add_scenario"] = url_for("scenarios.page")
    return config


def built_view(area: Area) -> Area:
    """``area`` as its build shows it: a scenario added from the web joins once a build holds it, so pages never
    show an empty column of zeros for a scenario still building (scenarios of area.toml are left as they are)."""
    built = _built_ids()
    web = {e.get("id") for e in uploaded.read_entries(area.root)}
    if not built or not web:
        return area
    waiting = {h.id for h in area.hazards if h.id in web and h.id not in built}
    if not waiting:
        return area
    view = copy.copy(area)  # shares the cached layers; only the scenario list differs
    view.hazards = [h for h in area.hazards if h.id not in waiting]
    return view
