"""Background jobs over HTTP: a job's state for its owner or an admin, recent jobs and their errors for admins,
retries, and area builds.

``GET /api/jobs/<id>`` (owner or admin; anyone else gets 404, as if it did not exist),
``GET /api/jobs`` (admin: newest first, ``?status=failed&kind=build&limit=50``),
``POST /api/jobs/<id>/retry`` (admin or owner: a new job with the same work),
``POST /api/builds`` (admin: ``{"area": ..., "only": ["evacuation"]}`` → 202 and the job).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, url_for

from geoapp import jobs
from layers.errors import InvalidInputError, NotFoundError

from .. import auth
from ..area import NAME as AREA_NAME
from ..errors import APIError
from ..jobs.store import JobState

bp = Blueprint("jobs", __name__, url_prefix="/api")

MAX_LIST = 500


def _json(state: JobState, *, admin: bool) -> dict:
    out = state.as_json()
    if admin:  # where it ran and what it was given: for whoever operates the server
        out.update(worker=state.worker, lock=state.lock, payload=state.payload)
    out["links"] = {"self": url_for("jobs.show", job_id=state.id, _external=True)}
    return out


def _visible(job_id: str) -> JobState:
    user = auth.current_user()
    if user is None:
        raise APIError(401, "unauthorized", "log in or send 'Authorization: Bearer <token>'")
    state = jobs.get(job_id)
    if state is None or not (auth.can(user, "admin") or (state.owner is not None and state.owner == user.id)):
        raise NotFoundError(f"no job {job_id[:40]} of yours")
    return state


def _accepted(job_id: str):
    state = jobs.get(job_id)
    assert state is not None
    resp = jsonify(_json(state, admin=auth.can(auth.current_user(), "admin")))
    resp.status_code = 202
    resp.headers["Location"] = url_for("jobs.show", job_id=job_id, _external=True)
    return resp


@bp.get("/jobs/<job_id>")
def show(job_id: str):
    state = _visible(job_id)
    resp = jsonify(_json(state, admin=auth.can(auth.current_user(), "admin")))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/jobs")
@auth.require("admin")
def index():
    status = request.args.get("status") or None
    if status is not None and status not in ("queued", "running", "finished", "failed"):
        raise InvalidInputError(f"status must be queued, running, finished or failed, not {status[:40]!r}")
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), MAX_LIST)
    except ValueError:
        raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_LIST}") from None
    states = jobs.recent(limit=limit, status=status, kind=request.args.get("kind") or None)
    resp = jsonify({"jobs": [_json(s, admin=True) for s in states]})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/jobs/<job_id>/retry")
def retry(job_id: str):
    state = _visible(job_id)
    return _accepted(jobs.retry(state.id, owner=auth.current_user().id))  # type: ignore[union-attr]


@bp.post("/builds")
@auth.require("admin")
def build():
    """Queue a build of an area (default: the served one); two builds of one area never run at once."""
    body = request.get_json(silent=True)
    if body is None and request.get_data():  # a body that is not JSON is not "build the default area"
        body = []
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise InvalidInputError('send a JSON object, e.g. {"area": "jakarta", "only": ["evacuation"]}')
    only = body.get("only")
    if only is not None and (not isinstance(only, list) or not all(isinstance(s, str) for s in only)):
        raise InvalidInputError("'only' must be a list of step names, e.g. [\"evacuation\"]")
    from layers.build import STEP_NAMES

    if only is not None and (bad := [s for s in only if s not in STEP_NAMES]):
        raise InvalidInputError(f"'only' names unknown steps {bad}; steps are {', '.join(STEP_NAMES)}")
    from ..area import default_name, get_area

    requested = body.get("area") or ""
    if not isinstance(requested, str) or (requested and not AREA_NAME.match(requested)):
        # an area's URL name, never a folder of this server (`../../etc`)
        raise InvalidInputError("'area' must be an area's name as GET /api/areas lists it, e.g. \"jakarta\"")
    # The lock names the area as its URL does (as the scenario upload's builds do); the build also holds
    # one per output file, so two builds of one area never overlap whatever they are called.
    name = requested or default_name()
    folder = Path(get_area(name).root)  # an unknown area is a 404 now, not a failed job later
    payload = {"area": str(folder.resolve())} | ({"only": only} if only else {})
    user = auth.current_user()
    current_app.logger.info("build of %s queued by %s", name, user.name if user else "?")
    return _accepted(jobs.submit("build", payload, owner=user.id if user else None, lock=f"build:{name}"))
