"""The OpenAPI 3.0 document of the OGC API – Features endpoints (one items path per collection).

The parameters every items path shares live once in ``components/parameters`` and are
referenced from each path: QGIS (and GDAL from 3.7) read ``components/parameters/limit``
to choose their page size, so its large default and maximum make them page big.
"""

from __future__ import annotations

from .info import LayerInfo

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10_000  # GeoJSON pages: a client gets a whole Jakarta layer in one or a few requests
HTML_LIMIT = 100  # HTML pages, for people reading them in a browser

_PARAMS = {
    "f": {
        "name": "f",
        "in": "query",
        "required": False,
        "description": "Response format.",
        "schema": {"type": "string", "enum": ["json", "html"]},
        "style": "form",
        "explode": False,
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": f"Features per page (at most {MAX_LIMIT}; HTML pages default to {HTML_LIMIT}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "offset": {
        "name": "offset",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": "Features to skip (used by the next links).",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
    "bbox": {
        "name": "bbox",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": "minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat).",
        "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    },
    "datetime": {
        "name": "datetime",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": "RFC 3339 instant or interval (a/b, ../b, a/..) on the collection's time field.",
        "schema": {"type": "string"},
    },
    "sortby": {
        "name": "sortby",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": "Comma-separated queryable properties to sort by; prefix - for descending (e.g. -people,name).",
        "schema": {"type": "array", "items": {"type": "string", "pattern": "[+|-]?[A-Za-z_].*"}},
    },
    "properties": {
        "name": "properties",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": "Comma-separated properties to return (default: all).",
        "schema": {"type": "array", "items": {"type": "string"}},
    },
    "filter": {
        "name": "filter",
        "in": "query",
        "required": False,
        "description": "A CQL2 filter (comparison, AND/OR/NOT, LIKE, IN, IS NULL, S_INTERSECTS with a BBOX or a "
        "geometry) on the queryable properties, e.g. road_class IN ('primary','secondary') AND oneway = true.",
        "schema": {"type": "string"},
    },
    "filter-lang": {
        "name": "filter-lang",
        "in": "query",
        "required": False,
        "description": "Language of filter: cql2-text (default) or cql2-json.",
        "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
    },
    "featureId": {
        "name": "featureId",
        "in": "path",
        "required": True,
        "description": "Feature id.",
        "schema": {"type": "string"},
    },
}


def _crs_param(name: str, crs_list: list[str]) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {"type": "string", "format": "uri", "enum": crs_list},
    }


def _ok(description: str, media: list[str], schema_ref: str | None = None) -> dict:
    schema = {"$ref": schema_ref} if schema_ref else {"type": "object"}
    return {
        "200": {
            "description": description,
            "content": {m: {"schema": schema if "json" in m else {"type": "string"}} for m in media},
        },
        "400": {"description": "Bad request: the message says which parameter and what would fix it."},
        "404": {"description": "Not found."},
    }


def document(base: str, title: str, layers: dict[str, LayerInfo], crs_for: dict[str, list[str]]) -> dict:
    """An OpenAPI 3.0.3 description of the service at ``base`` (…/ogcapi)."""
    paths = _service_paths()
    for name, info in layers.items():
        paths.update(_collection_paths(name, info, crs_for[name]))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{title}: OGC API – Features",
            "version": "1.0.0",
            "description": "Layers of a flood-risk study area (inputs and analyses) and published field reports.",
            "license": {"name": "See each collection's source and licence in the landing page"},
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {"parameters": {k: v for k, v in _PARAMS.items() if k in _SHARED}},
    }


_SHARED = ("f", "limit", "offset", "bbox", "datetime", "sortby", "properties", "filter", "filter-lang", "featureId")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _get(summary: str, operation: str, responses: dict, parameters: list[dict] | None = None) -> dict:
    op: dict = {"summary": summary, "operationId": operation}
    if parameters is not None:
        op["parameters"] = parameters
    op["responses"] = responses
    return {"get": op}


def _service_paths() -> dict[str, dict]:
    """Landing page, conformance, this document and the collection list."""
    json_html = ["application/json", "text/html"]
    f = [_PARAMS["f"]]
    return {
        "/": _get(
            "Landing page", "getLandingPage", _ok("Links to the API, conformance and collections.", json_html), f
        ),
        "/conformance": _get("Conformance classes", "getConformance", _ok("Conformance classes.", json_html), f),
        "/api": _get("This document", "getAPI", _ok("OpenAPI 3.0", ["application/vnd.oai.openapi+json;version=3.0"])),
        "/collections": _get("Collections", "getCollections", _ok("The feature collections.", json_html), f),
        "/tileMatrixSets": _get("Tile matrix sets", "getTileMatrixSets", _ok("WebMercatorQuad.", ["application/json"])),
        "/tileMatrixSets/{tileMatrixSetId}": _get(
            "A tile matrix set",
            "getTileMatrixSet",
            _ok("The tile matrix set definition.", ["application/json"]),
            [
                {
                    "name": "tileMatrixSetId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["WebMercatorQuad"]},
                }
            ],
        ),
    }


def _collection_paths(name: str, info: LayerInfo, crs_list: list[str]) -> dict[str, dict]:
    """The paths of one collection: about, queryables, items, one item, and its vector tiles."""
    params = [
        _ref("limit"),
        _ref("offset"),
        _ref("bbox"),
        _crs_param("bbox-crs", crs_list),
        _crs_param("crs", crs_list),
        _ref("f"),
        _ref("sortby"),
        _ref("properties"),
        _ref("filter"),
        _ref("filter-lang"),
        _crs_param("filter-crs", crs_list),
    ]
    if info.time_field:
        params.append(_ref("datetime"))
    params += [
        {
            "name": f,
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": f"Features whose {f} equals this value.",
            "schema": {"type": {"integer": "integer", "number": "number", "boolean": "boolean"}.get(t, "string")},
        }
        for f, t in info.dtypes.items()
    ]
    geo_html = ["application/geo+json", "text/html"]
    base = f"/collections/{name}"
    return {
        base: _get(
            f"About {info.title}",
            f"describe_{name}",
            _ok("The collection.", ["application/json", "text/html"]),
            [_PARAMS["f"]],
        ),
        f"{base}/queryables": _get(
            f"Queryable properties of {info.title}",
            f"queryables_{name}",
            _ok("JSON Schema of the properties.", ["application/schema+json"]),
        ),
        f"{base}/items": _get(
            f"Features of {info.title}",
            f"getFeatures_{name}",
            _ok("A page of features with next links.", geo_html),
            params,
        ),
        f"{base}/items/{{featureId}}": _get(
            f"One feature of {info.title}",
            f"getFeature_{name}",
            _ok("One feature.", geo_html),
            [_PARAMS["featureId"], _crs_param("crs", crs_list), _PARAMS["f"]],
        ),
        f"{base}/tiles": _get(
            f"Vector tilesets of {info.title}",
            f"getTilesets_{name}",
            _ok("The tileset list (OGC API – Tiles).", ["application/json"]),
        ),
        f"{base}/tiles/WebMercatorQuad": _get(
            f"The WebMercatorQuad vector tileset of {info.title}",
            f"getTileset_{name}",
            _ok("The tileset, with its tile URL template.", ["application/json"]),
        ),
        f"{base}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}": _get(
            f"A vector tile of {info.title}",
            f"getTile_{name}",
            _ok("A Mapbox Vector Tile.", ["application/vnd.mapbox-vector-tile"]),
            [_TILE_PARAMS[k] for k in ("tileMatrix", "tileRow", "tileCol")],
        ),
    }


_TILE_PARAMS = {
    k: {"name": k, "in": "path", "required": True, "description": d, "schema": {"type": "integer", "minimum": 0}}
    for k, d in (
        ("tileMatrix", "Zoom level (0-22)."),
        ("tileRow", "Row, from the north (XYZ's y)."),
        ("tileCol", "Column, from the west (XYZ's x)."),
    )
}
