"""The planner risk map `/`: the page and its settings; the data comes tile by tile from `tiles`.

The map's script, styles and Leaflet ship with the layers package (``layers/publish/assets``, also
inlined in the standalone map); this blueprint serves them at ``/static/map/``.
"""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, send_file, url_for

from layers.publish.maplayers import REPORTS, reports_layer
from layers.publish.standalone import ASSETS, standalone_map
from layers.publish.webmap import dumps, page_config

from .. import access, i18n
from ..area import build_path, current_area
from ..filestamp import stamp_text
from .scenarios import map_scenarios
from .tiles import map_data, reports_index

bp = Blueprint("riskmap", __name__, static_folder=str(ASSETS), static_url_path="/static/map")
bp.app_context_processor(i18n.template_globals)

NAV = (("/", "nav_map"), ("/dashboard", "nav_dashboard"), ("/report", "nav_report"), ("/moderate", "nav_moderate"))
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


@bp.app_context_processor
def _nav() -> dict:
    """Links to the pages this server has (the report form and the queue come from other blueprints)."""
    rules = {r.rule for r in current_app.url_map.iter_rules()}
    root = request.script_root  # /a/<area> on an area's pages: the links stay in that area
    return {"nav_links": [(root + path, key) for path, key in NAV if path in rules]}


def _config() -> dict:
    data = map_data()
    extra = [reports_layer()] if reports_index() is not None else []
    names = [layer.name for layer in data.layers.values()] + [REPORTS.name]
    hidden = set(access.hidden_map_layers(data))
    config = page_config(
        data,
        overlay_url=lambda spec, _overlay: url_for("tiles.hazard_png", scenario=spec.id),
        urls={
            "tiles": url_for("tiles.tile", layer="L", z=0, x=0, y=0).replace("L/0/0/0", "{layer}/{z}/{x}/{y}"),
            "feature": url_for("tiles.feature", layer="L", feature_id="F").replace("L/F", "{layer}/{id}"),
        },
        titles={n: i18n.gettext(f"layer_{n}") for n in names if not n.startswith("boundaries_")},
        strings=i18n.strings_for_js(),
        basemap={"url": current_app.config.get("MAP_TILES", OSM_TILES), "attribution": OSM_ATTRIBUTION},
        extra_layers=extra,
    )
    config["layers"] = [layer for layer in config["layers"] if layer["name"] not in hidden]
    from geoapp.live import layer_updated

    updated = layer_updated()  # the layer list says when each layer was last rebuilt
    for layer in config["layers"]:
        if layer["name"] in updated:
            layer["updated"] = updated[layer["name"]]
    return config


@bp.get("/")
def index() -> str:
    config = map_scenarios(_config())  # scenarios added, renamed or retired from the web since the build
    return render_template("map.html", config_json=dumps(config), title=current_area().title)


@bp.get("/map/standalone.html")
def standalone() -> Response:
    """One self-contained HTML map of the area to download and open without a server."""
    name = f"{current_area().name}-map.html"
    lang = i18n.current_language()
    built = build_path()
    stamp = stamp_text(built)  # the file's version: two builds within a second differ
    key = f"{zlib.crc32(str(built).encode()):08x}-{stamp}-{lang}-{access.clearance_key()}"  # per level
    cached = Path(current_app.instance_path) / "maps" / f"{current_area().name}-{key}.html"
    if not cached.exists():  # a few seconds for a whole build: made once per build and language
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="geoapp-map-", dir=cached.parent) as tmp:
            data = map_data()
            skip = ("roads", *access.hidden_map_layers(data))  # only the layers the caller may see
            out = standalone_map(data, Path(tmp) / name, strings=i18n.strings(lang), lang=lang, skip=skip)
            out.replace(cached)
    resp = send_file(cached, mimetype="text/html", max_age=0)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp
