"""`/api/areas`: the areas this server serves (anyone), and adding one from a zip (admins)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, jsonify, request, url_for

from layers.errors import GeoappError, InvalidInputError

from ..area import add_area, area_names, areas_dir, build_path_of, default_name, get_area, request_area_name
from ..auth import require

bp = Blueprint("areas", __name__, url_prefix="/api")


def _describe(name: str) -> dict:
    area = get_area(name)
    outer = (
        request.script_root.removesuffix(f"/a/{request_area_name()}") if request_area_name() else request.script_root
    )
    root = f"{request.host_url.rstrip('/')}{outer}/a/{name}"
    return {
        "name": name,
        "title": area.title,
        "default": name == default_name(),
        "built": build_path_of(name).exists(),
        "scenarios": [h.id for h in area.hazards],
        "links": {
            "map": f"{root}/",
            "dashboard": f"{root}/dashboard",
            "layers": f"{root}/api/layers",
            "ogcapi": f"{root}/ogcapi",
        },
    }


@bp.get("/areas")
def list_areas():
    return jsonify({"areas": [_describe_or_error(n) for n in area_names()]})


def _describe_or_error(name: str) -> dict:
    """An area whose folder no longer loads is listed with its error, not a failure of the whole list."""
    try:
        return _describe(name)
    except GeoappError as exc:
        return {"name": name, "error": str(exc).replace(str(areas_dir()), "<areas>")}


@bp.post("/areas")
@require("admin")
def add():
    """Add an area: multipart ``file`` = a zip of an area folder (with its area.toml), optional ``name``;
    ``build=1`` also queues its build (as ``geoapp areas add --build``), answered as ``job``."""
    from geoapp import jobs

    from .. import auth

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInputError("send the zip of an area folder as the multipart field 'file' (and optionally 'name')")
    name = (request.form.get("name") or "").strip() or None
    build = (request.form.get("build") or "").strip().lower() in ("1", "true", "yes")
    with tempfile.TemporaryDirectory(prefix="geoapp-area-") as tmp:
        path = Path(tmp) / "area.zip"
        upload.save(path)
        added = add_area(path, name)
    body = _describe(added)
    if build:
        user = auth.current_user()
        job = jobs.submit(
            "build",
            {"area": added},
            owner=user.id if user else None,
            lock=f"build:{added}",
            dedupe_key=f"build:{added}",
        )
        body["job"] = {"id": job, "url": url_for("jobs.show", job_id=job, _external=True)}
    else:
        body["hint"] = f"not built yet: send build=1, or run `geoapp build {get_area(added).root}`, to make its layers"
    resp = jsonify(body)
    resp.status_code = 201
    resp.headers["Location"] = url_for("areas.list_areas", _external=True)
    return resp
