"""geoapp's own tasks: the area build and big report imports."""

from __future__ import annotations

import hashlib
import shutil
import time
import uuid
from pathlib import Path

from flask import current_app

from layers.area import load_area

from .progress import Progress
from .registry import task
from .runner import held


def area_dir(payload: dict) -> Path:
    """The folder of ``payload["area"]``: a folder path, or an area's URL name (default: the default area)."""
    from ..area import get_area

    served = Path(current_app.config["AREA"])
    name = payload.get("area")
    if not name:
        return served
    if Path(name).is_dir():
        return Path(name)
    if name in (served.name, load_area(served).name):
        return served
    return Path(get_area(str(name)).root)  # NotFoundError naming the areas there are


@task("build")
def run_build(payload: dict, progress: Progress) -> dict:
    """Build an area with its published field reports, as `geoapp build` does.

    ``payload``: ``area`` (see :func:`area_dir`), optional ``out`` (GeoPackage path; default the served build
    for the served area, else the area's default) and ``only`` (step names: rebuild those, keep the rest).
    """
    from ..area import build_path
    from ..cli.build import build_with_reports

    folder = area_dir(payload)
    out = payload.get("out")
    if out is None and folder.resolve() == Path(current_app.config["AREA"]).resolve():
        out = build_path()
    delay = float(current_app.config.get("JOB_TEST_STEP_DELAY_S") or 0)  # tests: a build slow enough to kill

    def on_step(fraction: float, step: str) -> None:
        progress(fraction, f"build: {step}")
        if delay:
            time.sleep(delay)

    target = Path(out) if out else load_area(folder).default_build_path
    digest = hashlib.sha1(str(target.resolve()).encode()).hexdigest()[:12]
    with held(f"build-file:{target.name}:{digest}"):  # one build per output file, whatever lock the caller chose
        path = build_with_reports(
            folder, target, progress=False, app=current_app, only=payload.get("only"), on_step=on_step
        )
    progress(1.0, "built")
    done: dict = {"area": folder.name, "build": str(path)}
    if out is not None and Path(out) == build_path():
        from ..messaging.alerts import alerts_after_build  # subscribers of affected neighbourhoods (issue 18)

        sent = alerts_after_build()
        if sent is not None:
            done["alerts"] = sent
    return done


def import_dir() -> Path:
    """``IMPORT_DIR`` (default ``instance/imports``): uploads waiting for their import job (share it with workers)."""
    configured = current_app.config.get("IMPORT_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def queue_import(path: Path, *, name: str, user, category: str | None):
    """A big report import as a job: the upload is kept in :func:`import_dir` until it runs; 202 and the job."""
    from flask import jsonify, url_for

    from . import get, submit

    kept = import_dir() / f"{uuid.uuid4().hex}{Path(name).suffix[:16]}"
    shutil.move(path, kept)
    payload = {"path": str(kept), "name": name, "user": user.id if user is not None else None, "category": category}
    try:
        job_id = submit("report_import", payload, owner=user.id if user is not None else None)
    except BaseException:
        kept.unlink(missing_ok=True)
        raise
    state = get(job_id)
    assert state is not None
    body = {"import": {"status": "queued", "job": state.as_json()}}
    resp = jsonify(body)
    resp.status_code = 202
    resp.headers["Location"] = url_for("jobs.show", job_id=job_id, _external=True)
    return resp


@task("report_import")
def run_report_import(payload: dict, progress: Progress) -> dict:
    """Import a kept upload as its user (all good rows, or none on a file-level error); the file is then removed."""
    from .. import db
    from ..models import User
    from ..reports.store import import_path

    path = Path(payload["path"])
    user = db.session().get(User, payload["user"]) if payload.get("user") is not None else None
    rows = 0

    def read(n: int) -> None:
        nonlocal rows
        rows += n
        progress(0.5, f"{rows} rows read")

    try:
        summary = import_path(path, name=payload["name"], user=user, category=payload.get("category"), progress=read)
    finally:
        path.unlink(missing_ok=True)
    body = summary.as_json()
    body["import"] = {"id": summary.import_id, "status": "done"}
    return body
