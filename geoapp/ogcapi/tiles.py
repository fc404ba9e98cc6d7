"""OGC API – Tiles: every collection as Mapbox Vector Tiles in WebMercatorQuad, framework-free like :mod:`.core`.

``/tileMatrixSets``, ``/tileMatrixSets/WebMercatorQuad``, ``/collections/<c>/tiles`` (the
tileset list), ``/collections/<c>/tiles/WebMercatorQuad`` (the tileset, with its tile URL
template) and ``/collections/<c>/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt``. The tiles
are cut by :mod:`layers.publish.mvt`; field reports are cut per request from the rows
this caller may see, never cached.
"""

from __future__ import annotations

from urllib.parse import quote

from layers.errors import InvalidInputError, NotFoundError
from layers.publish import mvt

from .core import Args, Response, Service, _json, _link
from .info import REPORTS

MAX_AGE_S = 300


def _check_tms(tms: str) -> None:
    if tms != mvt.TMS:
        raise NotFoundError(f"no tile matrix set '{tms[:40]}'; the one served is {mvt.TMS}")


def tile_matrix_sets(svc: Service, args: Args, accept: str) -> Response:
    href = f"{svc.base_url}/tileMatrixSets/{mvt.TMS}"
    return _json(
        {
            "tileMatrixSets": [
                {
                    "id": mvt.TMS,
                    "title": "Google Maps Compatible for the World",
                    "uri": mvt.TMS_URI,
                    "links": [_link(href, "self", "application/json", mvt.TMS)],
                }
            ]
        }
    )


def tile_matrix_set(svc: Service, tms: str, args: Args, accept: str) -> Response:
    _check_tms(tms)
    return _json(mvt.tile_matrix_set())


def _tileset_base(svc: Service, name: str) -> str:
    return f"{svc.base_url}/collections/{quote(name, safe='')}/tiles"


def _template(svc: Service, name: str) -> str:
    # No query string: MVT is the default, and QGIS 3.22's XYZ vector tiles fetch nothing from a template with one.
    return f"{_tileset_base(svc, name)}/{mvt.TMS}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"


def collection_tilesets(svc: Service, name: str, args: Args, accept: str) -> Response:
    info = svc.info(name)
    base = _tileset_base(svc, name)
    return _json(
        {
            "links": [_link(base, "self", "application/json", f"Tilesets of {info.title}")],
            "tilesets": [
                {
                    "title": f"{info.title} (vector tiles)",
                    "dataType": "vector",
                    "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                    "tileMatrixSetURI": mvt.TMS_URI,
                    "links": [
                        _link(f"{base}/{mvt.TMS}", "self", "application/json", "The tileset"),
                        _link(
                            f"{svc.base_url}/tileMatrixSets/{mvt.TMS}",
                            "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                            "application/json",
                            mvt.TMS,
                        ),
                    ],
                }
            ],
        }
    )


def collection_tileset(svc: Service, name: str, tms: str, args: Args, accept: str) -> Response:
    info = svc.info(name)
    _check_tms(tms)
    base = _tileset_base(svc, name)
    doc = {
        "title": f"{info.title} (vector tiles)",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": mvt.TMS_URI,
        "boundingBox": {
            "lowerLeft": list(info.bbox_wgs84[:2]) if info.bbox_wgs84 else [-180, -85.05],
            "upperRight": list(info.bbox_wgs84[2:]) if info.bbox_wgs84 else [180, 85.05],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        },
        "layers": [
            {
                "id": name,
                "dataType": "vector",
                "geometryType": info.geometry_type.lower().replace("multi", ""),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {f: {"type": "string" if t == "datetime" else t} for f, t in info.dtypes.items()},
                },
            }
        ],
        "links": [
            _link(f"{base}/{mvt.TMS}", "self", "application/json", "This tileset"),
            _link(
                f"{svc.base_url}/tileMatrixSets/{mvt.TMS}",
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "application/json",
                mvt.TMS,
            ),
            {**_link(_template(svc, name), "item", mvt.MEDIA_TYPE, "Mapbox vector tiles"), "templated": True},
        ],
    }
    return _json(doc)


def collection_tile(svc: Service, name: str, tms: str, z: str, row: str, col: str, args: Args, accept: str) -> Response:
    """Tile z/row/col (row from the north, as XYZ's y) as MVT bytes; f, when given, must be mvt."""
    svc.info(name)
    _check_tms(tms)
    if args.get("f", "mvt").lower() not in ("mvt", "pbf"):
        raise InvalidInputError(f"f '{args['f'][:20]}' is not offered for tiles; use f=mvt")
    try:
        zi, yi, xi = int(z), int(row), int(col)
    except ValueError:
        raise InvalidInputError("tileMatrix, tileRow and tileCol must be whole numbers") from None
    if name == REPORTS:
        body = mvt.VectorTiles(svc.reports_frame()).tile(zi, xi, yi, layer_name=name)
        cache = "private, max-age=30"
    else:
        body = mvt.layer_tile(svc.build, name, zi, xi, yi)
        cache = f"public, max-age={MAX_AGE_S}"
    return {"Content-Type": mvt.MEDIA_TYPE, "Cache-Control": cache}, 200, body  # type: ignore[return-value]
