"""The planner risk map `/`: the page and its settings; the data comes tile by tile from `tiles`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, current_app, render_template, send_file, url_for

from layers.render import hazard_overlay, legend, overlay_bounds
from layers.webmap import REPORTS, dumps, standalone_map, styles

from .. import i18n
from ..area import current_area
from .tiles import map_data, reports_index

bp = Blueprint("riskmap", __name__)
bp.app_context_processor(i18n.template_globals)

NAV = (("/", "nav_map"), ("/dashboard", "nav_dashboard"), ("/report", "nav_report"), ("/moderate", "nav_moderate"))
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


@bp.app_context_processor
def _nav() -> dict:
    """Links to the pages this server has (the report form and the queue come from other blueprints)."""
    rules = {r.rule for r in current_app.url_map.iter_rules()}
    return {"nav_links": [(path, key) for path, key in NAV if path in rules]}


def _scenario(spec) -> dict:
    if spec.kind == "raster":
        bounds = overlay_bounds(spec.path)
        key = legend(spec.classes, units=spec.units)
    else:
        overlay = hazard_overlay(spec.path, spec.classes, field=spec.field, layer=spec.layer, units=spec.units)
        bounds, key = overlay.bounds, overlay.legend
    w, s, e, n = bounds
    return {
        "id": spec.id, "title": spec.title, "units": spec.units, "legend": key,
        "overlay": url_for("tiles.hazard_png", scenario=spec.id), "bounds": [[s, w], [n, e]],
    }


def page_config() -> dict:
    """Everything map.js needs, as one JSON object embedded in the page."""
    area = current_area()
    data = map_data()
    layers = data.describe()
    if reports_index() is not None:
        layers.append({"name": REPORTS.name, "kind": "point", "style": "category", "size": None,
                       "default_on": True, "per_scenario": False, "source": "reports"})
    for layer in layers:
        layer["title"] = i18n.gettext(f"layer_{layer['name']}") if not layer["name"].startswith("boundaries_") else next(
            b.title for b in area.boundaries if f"boundaries_{b.id}" == layer["name"])
    w, s, e, n = data.bounds()
    class_names = area.hazards[0].classes.names if area.hazards else []
    return {
        "title": area.title,
        "bounds": [[s, w], [n, e]],
        "scenarios": [_scenario(h) for h in area.hazards],
        "classes": class_names,
        "layers": layers,
        "styles": styles(class_names),
        "basemap": {"url": current_app.config.get("MAP_TILES", OSM_TILES), "attribution": OSM_ATTRIBUTION},
        "urls": {
            "tiles": url_for("tiles.tile", layer="LAYER", z=0, x=0, y=0).replace("LAYER/0/0/0", "{layer}/{z}/{x}/{y}"),
            "feature": url_for("tiles.feature", layer="LAYER", feature_id="FID").replace("LAYER/FID", "{layer}/{id}"),
        },
        "strings": i18n.strings_for_js(),
    }


@bp.get("/")
def index() -> str:
    return render_template("map.html", config_json=dumps(page_config()), title=current_area().title)


@bp.get("/map/standalone.html")
def standalone() -> object:
    """One self-contained HTML map of the area to download and open without a server."""
    area = current_area()
    out = Path(tempfile.mkdtemp(prefix="geoapp-map-")) / f"{area.name}-map.html"
    standalone_map(map_data(), out)
    return send_file(out, mimetype="text/html", as_attachment=True, download_name=out.name)
