"""OGC API – Features under /ogcapi: Part 1 core (GeoJSON, HTML, OpenAPI 3.0), Part 2 CRS, queryables.

GDAL's OAPIF driver and QGIS connect here directly. Collections are the layers
of the built GeoPackage (feature id = GeoPackage fid) plus ``field_reports``
(feature id = report id, privacy of ``GET /api/reports`` for the caller).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pandas as pd
from flask import Blueprint, Response, request, url_for
from pyproj import CRS

from layers.errors import InvalidInputError, NotFoundError
from layers.publish import features

from ..area import build_path, current_area
from ..ogcapi import crs as crsmod
from ..ogcapi import html
from ..ogcapi.catalogue import REPORTS, LayerInfo, catalogue, layer_info, reports_frame
from ..ogcapi.openapi import DEFAULT_LIMIT, MAX_LIMIT, document

if TYPE_CHECKING:
    import geopandas as gpd

bp = Blueprint("ogcapi", __name__, url_prefix="/ogcapi")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
ITEM_PARAMS = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"}
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


@bp.after_request
def _cors(resp: Response) -> Response:
    """Any web page may read the public layers (no cookies are sent cross-site; tokens need a preflight we do not grant)."""
    resp.headers.setdefault("Access-Control-Allow-Origin", "*")
    resp.headers.setdefault("Access-Control-Expose-Headers", "Content-Crs")
    return resp


# -- helpers ------------------------------------------------------------------------------------


def _wants_html() -> bool:
    f = request.args.get("f", "").lower()
    if f:
        if f not in ("json", "geojson", "html"):
            raise InvalidInputError(f"f '{f}' must be 'json' or 'html'")
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", GEOJSON, "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def _root() -> str:
    return url_for("ogcapi.landing", _external=True).rstrip("/")


def _json(doc: dict, media: str = "application/json", headers: dict | None = None) -> Response:
    return Response(
        json.dumps(doc, ensure_ascii=False, default=features.json_default, allow_nan=False),
        mimetype=media,
        headers=headers,
    )


def _page(name: str, doc: dict, title: str, **extra) -> Response:
    return Response(html.render(name, title=title, root=_root(), doc=doc, **extra), mimetype="text/html")


def _area_crs() -> CRS:
    try:
        return current_area().crs
    except Exception:  # no area config: serve in the layers' own CRS only
        return CRS.from_epsg(3857)


def _crs_list(info: LayerInfo) -> list[str]:
    return crsmod.supported(_area_crs(), info.crs)


def _link(href: str, rel: str, media: str, title: str = "") -> dict:
    out = {"href": href, "rel": rel, "type": media}
    if title:
        out["title"] = title
    return out


# -- landing, conformance, api ------------------------------------------------------------------


@bp.get("")
@bp.get("/")
def landing():
    root = _root()
    try:
        area = current_area()
        title, meta = area.title, area.metadata()
    except Exception:  # serving a build without its area.toml
        title, meta = build_path().stem, {}
    doc = {
        "title": f"{title}: flood-risk layers",
        "description": "Buildings, roads, facilities, boundaries, exposure, evacuation and precarity layers, and "
        "published field reports. "
        + (f"Source: {meta.get('source')}. Licence: {meta.get('licence')}." if meta else ""),
        "links": [
            _link(f"{root}/", "self", "application/json", "This document"),
            _link(f"{root}/?f=html", "alternate", "text/html", "This document as HTML"),
            _link(f"{root}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            _link(f"{root}/api?f=html", "service-doc", "text/html", "The API documentation"),
            _link(f"{root}/conformance", "conformance", "application/json", "Conformance classes"),
            _link(f"{root}/collections", "data", "application/json", "The feature collections"),
        ],
    }
    return _page("landing", doc, doc["title"]) if _wants_html() else _json(doc)


@bp.get("/conformance")
def conformance():
    doc = {"conformsTo": CONFORMANCE}
    return _page("conformance", doc, "Conformance") if _wants_html() else _json(doc)


@bp.get("/api")
def api():
    layers = catalogue()
    try:
        title = current_area().title
    except Exception:  # serving a build without its area.toml
        title = "geoapp"
    doc = document(_root(), title, layers, {n: _crs_list(i) for n, i in layers.items()})
    if request.args.get("f") == "html":
        items = [
            {
                "id": p,
                "title": op["get"]["summary"],
                "description": ", ".join(x["name"] for x in op["get"].get("parameters", [])),
            }
            for p, op in doc["paths"].items()
        ]
        return _page("collections", {"collections": items}, "API paths and parameters")
    return _json(doc, OPENAPI)


# -- collections --------------------------------------------------------------------------------


def _collection(info: LayerInfo) -> dict:
    root = _root()
    base = f"{root}/collections/{info.name}"
    doc = {
        "id": info.name,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "crs": _crs_list(info),
        "storageCrs": crsmod.uri(info.crs),
        "extent": {
            "spatial": {
                "bbox": [list(info.bbox_wgs84) if info.bbox_wgs84 else [-180, -90, 180, 90]],
                "crs": crsmod.CRS84,
            }
        },
        "links": [
            _link(base, "self", "application/json", "This collection"),
            _link(f"{base}?f=html", "alternate", "text/html", "This collection as HTML"),
            _link(f"{base}/items", "items", GEOJSON, "Features as GeoJSON"),
            _link(f"{base}/items?f=html", "items", "text/html", "Features as HTML"),
            _link(
                f"{base}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "Queryable properties",
            ),
        ],
    }
    if info.features is not None:
        doc["numberMatched"] = info.features
    if info.time_field:
        doc["extent"]["temporal"] = {"interval": [[None, None]], "trs": TRS}
    return doc


@bp.get("/collections")
def collections():
    root = _root()
    doc = {
        "links": [
            _link(f"{root}/collections", "self", "application/json"),
            _link(f"{root}/collections?f=html", "alternate", "text/html"),
        ],
        "collections": [_collection(info) for info in catalogue().values()],
    }
    return _page("collections", doc, "Collections") if _wants_html() else _json(doc)


@bp.get("/collections/<name>")
def collection(name: str):
    doc = _collection(layer_info(name))
    return _page("collection", doc, doc["title"]) if _wants_html() else _json(doc)


@bp.get("/collections/<name>/queryables")
def queryables(name: str):
    info = layer_info(name)
    props = {
        f: ({"type": "string", "format": "date-time"} if t == "datetime" else {"type": t})
        for f, t in info.dtypes.items()
    }
    props["geometry"] = {"$ref": "https://geojson.org/schema/Geometry.json"}
    doc = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{_root()}/collections/{name}/queryables",
        "type": "object",
        "title": info.title,
        "properties": props,
    }
    return _json(doc, "application/schema+json")


# -- items --------------------------------------------------------------------------------------


def _int(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} '{raw}' must be a whole number") from None
    if value < minimum:
        raise InvalidInputError(f"{name} must be at least {minimum}")
    return min(value, maximum) if maximum is not None else value  # a larger limit is served at the maximum


def _bbox(allowed: list[str]) -> tuple[tuple[float, float, float, float] | None, CRS | None]:
    """The ``bbox`` as given (``bbox-crs`` axis order) and ``bbox-crs``; (None, None) without a bbox."""
    raw = request.args.get("bbox")
    if not raw:
        if request.args.get("bbox-crs"):
            raise InvalidInputError("bbox-crs needs a bbox")
        return None, None
    try:
        nums = [float(v) for v in raw.split(",")]
    except ValueError:
        nums = []
    if len(nums) not in (4, 6) or not all(map(math.isfinite, nums)):
        raise InvalidInputError("bbox must be 4 numbers minx,miny,maxx,maxy (or 6 with heights), in bbox-crs")
    box = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else tuple(nums)
    if box[0] > box[2] or box[1] > box[3]:
        raise InvalidInputError("bbox must have min ≤ max on both axes")
    return box, crsmod.parse(request.args.get("bbox-crs"), allowed, param="bbox-crs")


def _interval(raw: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    def ts(v: str) -> pd.Timestamp | None:
        if v in ("", ".."):
            return None
        try:
            t = pd.Timestamp(v)
        except ValueError:
            raise InvalidInputError(
                f"datetime '{v}' is not an RFC 3339 date-time (e.g. 2025-01-31T00:00:00Z)"
            ) from None
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    if "/" in raw:
        a, b = raw.split("/", 1)
        return ts(a), ts(b)
    t = ts(raw)
    if t is None:
        raise InvalidInputError("datetime must be an instant or an interval a/b")
    return t, t


def _property_filters(info: LayerInfo) -> dict[str, str]:
    unknown = [k for k in request.args if k not in ITEM_PARAMS and k not in info.dtypes]
    if unknown:
        raise InvalidInputError(
            f"unknown query parameter {', '.join(unknown)}; use {', '.join(sorted(ITEM_PARAMS))} "
            f"or a queryable property ({', '.join(info.dtypes)})"
        )
    return {k: v for k, v in request.args.items() if k in info.dtypes}


def _select(info: LayerInfo, *, bbox, bbox_crs, filters, when, offset: int, limit: int) -> tuple[gpd.GeoDataFrame, int]:
    """One page of features (index = feature id) and how many match in all."""
    if info.name == REPORTS:
        return features.select_rows(
            reports_frame().set_index("id", drop=False),
            bbox=bbox,
            bbox_crs=bbox_crs,
            filters=filters,
            when=when,
            time_field=info.time_field,
            offset=offset,
            limit=limit,
        )
    if when is not None:
        raise InvalidInputError(f"collection '{info.name}' has no time property; datetime applies to {REPORTS}")
    return features.select_features(
        build_path(), info.name, bbox=bbox, bbox_crs=bbox_crs, filters=filters, offset=offset, limit=limit
    )


def _out_crs(info: LayerInfo, allowed: list[str]) -> CRS:
    return crsmod.parse(request.args.get("crs"), allowed, param="crs")


@bp.get("/collections/<name>/items")
def items(name: str):
    info = layer_info(name)
    allowed = _crs_list(info)
    filters = _property_filters(info)
    limit = _int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    offset = _int("offset", 0, minimum=0)
    bbox, bbox_crs = _bbox(allowed)
    out_crs = _out_crs(info, allowed)
    when = _interval(request.args["datetime"]) if request.args.get("datetime") else None
    page, matched = _select(info, bbox=bbox, bbox_crs=bbox_crs, filters=filters, when=when, offset=offset, limit=limit)
    texts = features.features_geojson_texts(page, crs=out_crs)
    base = url_for("ogcapi.items", name=name, _external=True)
    args = {k: v for k, v in request.args.items() if k not in ("offset", "f", "limit")}
    args["limit"] = str(limit)

    def href(**extra) -> str:
        from urllib.parse import urlencode

        q = {**args, **{k: str(v) for k, v in extra.items()}}
        return f"{base}?{urlencode(q)}"

    links = [
        _link(href(offset=offset), "self", GEOJSON, "This page"),
        _link(href(offset=offset, f="html"), "alternate", "text/html", "This page as HTML"),
        _link(url_for("ogcapi.collection", name=name, _external=True), "collection", "application/json"),
    ]
    if offset + len(texts) < matched:
        links += [
            _link(href(offset=offset + limit), "next", GEOJSON, "Next page"),
            _link(href(offset=offset + limit, f="html"), "next", "text/html", "Next page as HTML"),
        ]
    if offset > 0:
        links += [
            _link(href(offset=max(offset - limit, 0)), "prev", GEOJSON, "Previous page"),
            _link(href(offset=max(offset - limit, 0), f="html"), "prev", "text/html", "Previous page as HTML"),
        ]
    doc = {
        "type": "FeatureCollection",
        "numberMatched": int(matched),
        "numberReturned": len(texts),
        "timeStamp": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    headers = {"Content-Crs": f"<{crsmod.uri(out_crs)}>"}
    if _wants_html():
        doc["features"] = [json.loads(t) for t in texts]
        columns = list(doc["features"][0]["properties"]) if texts else []
        return _page("items", doc, info.title, columns=columns, base=base)
    head = json.dumps(doc, ensure_ascii=False)[:-1]  # the members above, then the features as text
    body = f'{head}, "features": [{",".join(texts)}]}}'
    return Response(body, mimetype=GEOJSON, headers=headers)


@bp.get("/collections/<name>/items/<fid>")
def item(name: str, fid: str):
    info = layer_info(name)
    allowed = _crs_list(info)
    unknown = [k for k in request.args if k not in ("f", "crs")]
    if unknown:
        raise InvalidInputError(f"unknown query parameter {', '.join(unknown)}; a single feature takes f and crs")
    out_crs = _out_crs(info, allowed)
    if name == REPORTS:
        page = features.row_by_id(reports_frame().set_index("id", drop=False), fid, name=name)
    else:
        try:
            num = int(fid)
        except ValueError:
            raise NotFoundError(f"no feature '{fid}' in {name}; feature ids are whole numbers") from None
        page = features.feature_by_fid(build_path(), name, num)
    feature = json.loads(features.features_geojson_texts(page, crs=out_crs)[0])
    root = _root()
    feature["links"] = [
        _link(f"{root}/collections/{name}/items/{fid}", "self", GEOJSON),
        _link(f"{root}/collections/{name}/items/{fid}?f=html", "alternate", "text/html"),
        _link(f"{root}/collections/{name}", "collection", "application/json"),
    ]
    if _wants_html():
        return _page("item", feature, f"{info.title} {fid}")
    return _json(feature, GEOJSON, {"Content-Crs": f"<{crsmod.uri(out_crs)}>"})
