"""Map data over HTTP: layer tiles as small GeoJSON, one feature's attributes, hazard overlays.

Big layers never go into the page: the map asks for XYZ tiles of the view
(`/map/tiles/<layer>/<z>/<x>/<y>.json`), each bounded in size (features
simplified to the zoom, or clusters when a tile holds too many).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from layers.publish.maplayers import REPORTS
from layers.publish.tiles import TileIndex, collection_json
from layers.publish.webmap import MapData, scenario_overlay
from layers.publish.webmap import reports_index as public_reports_index

from .. import access
from ..area import build_path, current_area
from ..errors import APIError
from ..filestamp import file_stamp

bp = Blueprint("tiles", __name__, url_prefix="/map")

REPORTS_TTL_S = 30.0
TILE_MAX_AGE_S = 300
# Features per tile before it is sent as clusters: keeps every tile well under ~300 kB.
MAX_FEATURES = {"polygon": 1500, "line": 2000, "point": 800}


_TILE_LOCK = threading.Lock()
# Map layers per (area config, build file, its mtime), shared by the apps of one process (tests make many).
_MAP_DATA: dict[tuple, MapData] = {}


def map_data() -> MapData:
    """The area's map layers, re-read when the built GeoPackage changes."""
    path = build_path()
    key = (str(current_area().toml_path), str(path), file_stamp(path))  # per area and build file version
    with _TILE_LOCK:
        if key not in _MAP_DATA:
            if len(_MAP_DATA) >= 8:  # a few areas, each with its build
                _MAP_DATA.pop(next(iter(_MAP_DATA)))
            _MAP_DATA[key] = MapData(current_area(), path)  # cheap: layers are read on first use
        return _MAP_DATA[key]


def reports_index() -> TileIndex | None:
    """Published field reports as anyone may see them (blurred, no personal data); None when unavailable."""
    cached = current_app.extensions.get("geoapp.reports_index")
    if cached and time.monotonic() - cached[0] < REPORTS_TTL_S:
        return cached[1]
    if "geoapp.db" not in current_app.extensions:  # the reports storage is not set up on this app
        return None
    from geoapp.reports.query import reports_geodataframe

    index = public_reports_index(reports_geodataframe(viewer=None))
    current_app.extensions["geoapp.reports_index"] = (time.monotonic(), index)
    return index


def _index(layer: str) -> TileIndex:
    if layer == REPORTS.name:
        index = reports_index()
        if index is None:
            raise APIError(404, "not_found", "field reports are not available on this server")
        return index
    scenario = request.args.get("scenario") or None
    data = map_data()
    if layer not in data.layers or not access.map_layer_visible(data, layer):  # hidden: as if it did not exist
        shown = [n for n in data.layers if access.map_layer_visible(data, n)]
        raise APIError(404, "not_found", f"no map layer '{layer[:60]}' in this area; layers are {sorted(shown)}")
    return data.index(layer, scenario)


# Serialised tiles of the analysis layers (identical for every user), newest last; reports are never cached here.
_TILE_CACHE: OrderedDict[tuple, str] = OrderedDict()
TILE_CACHE_SIZE = 4000


@bp.get("/tiles/<layer>/<int:z>/<int:x>/<int:y>.json")
def tile(layer: str, z: int, x: int, y: int) -> Response:
    index = _index(layer)
    key = (index.token, z, x, y)
    with _TILE_LOCK:
        body = _TILE_CACHE.get(key) if layer != REPORTS.name else None
        if body is not None:
            _TILE_CACHE.move_to_end(key)
    if body is None:
        kind = REPORTS.kind if layer == REPORTS.name else map_data().layers[layer].kind
        body = collection_json(index.tile(z, x, y, max_features=MAX_FEATURES[kind]))
        if layer != REPORTS.name:
            with _TILE_LOCK:
                _TILE_CACHE[key] = body
                if len(_TILE_CACHE) > TILE_CACHE_SIZE:
                    _TILE_CACHE.popitem(last=False)
    resp = Response(body, mimetype="application/geo+json")
    resp.cache_control.max_age = TILE_MAX_AGE_S if layer != REPORTS.name else int(REPORTS_TTL_S)
    return resp


@bp.get("/feature/<layer>/<feature_id>")
def feature(layer: str, feature_id: str) -> Response:
    props = _index(layer).feature(feature_id)
    if props is None:
        raise APIError(404, "not_found", f"no feature '{feature_id}' in map layer '{layer}'")
    return jsonify(props)


@bp.get("/hazard/<scenario>.png")
def hazard_png(scenario: str) -> Response:
    resp = Response(scenario_overlay(current_area().hazard(scenario)).png, mimetype="image/png")
    resp.cache_control.max_age = TILE_MAX_AGE_S
    return resp


def _hazard_raster(scenario: str):
    spec = current_area().hazard(scenario)
    if spec.kind != "raster":
        raise APIError(404, "not_found", f"scenario '{scenario}' is vector zones, not a raster; see its layers instead")
    return spec


@bp.get("/hazard/<scenario>.tif")
def hazard_cog(scenario: str) -> Response:
    """The scenario's hazard values as a Cloud-Optimized GeoTIFF (written once per hazard file version)."""
    from flask import send_file

    from layers.publish.hazard_tiles import COG_MEDIA_TYPE, write_cog

    spec = _hazard_raster(scenario)
    exports = current_app.config.get("EXPORT_DIR") or Path(current_app.instance_path) / "exports"
    folder = Path(exports) / "hazard_cog"
    out = folder / f"{spec.id}-{spec.path.stat().st_mtime_ns}.tif"
    if not out.exists():
        write_cog(spec.path, out)
    return send_file(out, mimetype=COG_MEDIA_TYPE, as_attachment=True, download_name=f"hazard_{spec.id}.tif")


@bp.get("/hazard/<scenario>/<int:z>/<int:x>/<int:y>.png")
def hazard_tile(scenario: str, z: int, x: int, y: int) -> Response:
    """XYZ tile of the scenario's hazard classes (QGIS: XYZ Tiles with this URL and {z}/{x}/{y})."""
    from layers.publish.hazard_tiles import tile_png

    spec = _hazard_raster(scenario)
    resp = Response(tile_png(spec.path, spec.classes, z, x, y, kind=spec.hazard_kind), mimetype="image/png")
    resp.cache_control.max_age = TILE_MAX_AGE_S
    return resp


def warm(app) -> threading.Thread:
    """Read the default layers and build their tile indexes in the background, so the first
    page after `geoapp serve` starts does not wait for them (they load lazily otherwise)."""

    def run() -> None:
        with app.app_context():
            try:
                data = map_data()
                scenarios: list[str | None] = [*data.scenarios()] or [None]
                first = scenarios[0]
                for row in data.describe():
                    if row["default_on"]:
                        data.index(row["name"], first if row["per_scenario"] else None)
            except Exception:  # a warm-up is an optimisation: the page still loads lazily
                app.logger.warning("map warm-up failed", exc_info=True)

    thread = threading.Thread(target=run, name="geoapp-map-warmup", daemon=True)
    thread.start()
    return thread
