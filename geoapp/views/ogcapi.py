"""OGC API – Features under /ogcapi: one-line routes over the framework-free core in :mod:`geoapp.ogcapi.core`.

GDAL's OAPIF driver and QGIS connect here directly.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request, url_for

from ..ogcapi import core
from ..ogcapi import tiles as ogc_tiles
from ..ogcapi.catalogue import service

bp = Blueprint("ogcapi", __name__, url_prefix="/ogcapi")


@bp.after_request
def _cors(resp: Response) -> Response:
    """Any web page may read the public layers.

    No cookies are sent cross-site, and tokens need a preflight we do not grant.
    """
    resp.headers.setdefault("Access-Control-Allow-Origin", "*")
    resp.headers.setdefault("Access-Control-Expose-Headers", "Content-Crs")
    return resp


def _serve(endpoint: Callable[..., core.Response], *path: str) -> Response:
    """Hand the request to the core as plain values; its (headers, status, body) become the response."""
    svc = service(url_for("ogcapi.landing", _external=True))
    headers, status, body = endpoint(svc, *path, request.args.to_dict(), request.headers.get("Accept", ""))
    return Response(body, status=status, headers=headers)


@bp.get("")
@bp.get("/")
def landing():
    return _serve(core.landing)


@bp.get("/conformance")
def conformance():
    return _serve(core.conformance)


@bp.get("/api")
def api():
    return _serve(core.api)


@bp.get("/collections")
def collections():
    return _serve(core.collections)


@bp.get("/collections/<name>")
def collection(name: str):
    return _serve(core.collection, name)


@bp.get("/collections/<name>/queryables")
def queryables(name: str):
    return _serve(core.queryables, name)


@bp.get("/collections/<name>/items")
def items(name: str):
    return _serve(core.items, name)


@bp.get("/collections/<name>/items/<fid>")
def item(name: str, fid: str):
    return _serve(core.item, name, fid)


# -- OGC API – Tiles: vector tiles (MVT) of every collection ----------------------------------------


@bp.get("/tileMatrixSets")
def tile_matrix_sets():
    return _serve(ogc_tiles.tile_matrix_sets)


@bp.get("/tileMatrixSets/<tms>")
def tile_matrix_set(tms: str):
    return _serve(ogc_tiles.tile_matrix_set, tms)


@bp.get("/collections/<name>/tiles")
def collection_tilesets(name: str):
    return _serve(ogc_tiles.collection_tilesets, name)


@bp.get("/collections/<name>/tiles/<tms>")
def collection_tileset(name: str, tms: str):
    return _serve(ogc_tiles.collection_tileset, name, tms)


@bp.get("/collections/<name>/tiles/<tms>/<z>/<row>/<col>")
def collection_tile(name: str, tms: str, z: str, row: str, col: str):
    return _serve(ogc_tiles.collection_tile, name, tms, z, row, col)
