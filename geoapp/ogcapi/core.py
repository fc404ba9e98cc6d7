"""OGC API – Features, framework-free (pygeoapi style): each endpoint takes plain values and returns
``(headers, status, body)``; the Flask views only wrap the request and the response.

Part 1 core (GeoJSON, HTML, OpenAPI 3.0), Part 2 CRS, Part 3 queryables.
Collections are the layers of the built GeoPackage (feature id = GeoPackage
fid) plus ``field_reports`` (feature id = report id), read through
``Service.reports``, which already applies the caller's privacy. Bad
parameters raise :class:`InvalidInputError`, unknown collections or features
:class:`NotFoundError`; the web layer turns them into JSON errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from pyproj import CRS

from layers.errors import InvalidInputError, NotFoundError
from layers.publish import cql2, feature_pages, features

from . import crs as crsmod
from . import html, params
from .info import REPORTS, LayerInfo
from .openapi import DEFAULT_LIMIT, HTML_LIMIT, MAX_LIMIT, document
from .params import GEOJSON

if TYPE_CHECKING:
    import geopandas as gpd

Response = tuple[dict[str, str], int, str]
Args = Mapping[str, str]
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/sortables",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-features-6/1.0/conf/properties",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    # OGC API – Tiles (geoapp/ogcapi/tiles.py): every collection as MVT in WebMercatorQuad
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
TILESETS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


@dataclass(frozen=True)
class Service:
    """What one request is served from: plain values, no web framework."""

    base_url: str  # …/ogcapi, without a trailing slash
    build: Path  # the built GeoPackage
    title: str
    layers: Mapping[str, LayerInfo]  # every collection, field reports included when published
    area_crs: CRS = field(default_factory=lambda: CRS.from_epsg(3857))
    metadata: Mapping[str, str] = field(default_factory=dict)  # source and licence of the area
    reports: Callable[[], gpd.GeoDataFrame] | None = None  # field reports as this caller may see them

    def info(self, name: str) -> LayerInfo:
        if name not in self.layers:
            raise NotFoundError(f"no layer '{name}'; layers are {', '.join(self.layers) or 'none (run geoapp build)'}")
        return self.layers[name]

    def crs_list(self, info: LayerInfo) -> list[str]:
        return crsmod.supported(self.area_crs, info.crs)

    def reports_frame(self) -> gpd.GeoDataFrame:
        if self.reports is None:
            raise NotFoundError(f"no layer '{REPORTS}' on this server")
        return self.reports().set_index("id", drop=False)


def _link(href: str, rel: str, media: str, title: str = "") -> dict:
    out = {"href": href, "rel": rel, "type": media}
    if title:
        out["title"] = title
    return out


def _json(doc: dict, media: str = "application/json", headers: dict | None = None) -> Response:
    body = json.dumps(doc, ensure_ascii=False, default=features.json_default, allow_nan=False)
    return {"Content-Type": media, **(headers or {})}, 200, body


def _page(svc: Service, name: str, doc: dict, title: str, **extra) -> Response:
    body = html.render(name, title=title, root=svc.base_url, doc=doc, **extra)
    return {"Content-Type": "text/html; charset=utf-8"}, 200, body


# -- landing, conformance, api, collections ------------------------------------------------------


def landing(svc: Service, args: Args, accept: str) -> Response:
    root, meta = svc.base_url, svc.metadata
    doc: dict = {
        "title": f"{svc.title}: flood-risk layers",
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
    return _page(svc, "landing", doc, doc["title"]) if params.wants_html(args, accept) else _json(doc)


def conformance(svc: Service, args: Args, accept: str) -> Response:
    doc = {"conformsTo": CONFORMANCE}
    return _page(svc, "conformance", doc, "Conformance") if params.wants_html(args, accept) else _json(doc)


def api(svc: Service, args: Args, accept: str) -> Response:
    crs_for = {n: svc.crs_list(i) for n, i in svc.layers.items()}
    doc = document(svc.base_url, svc.title, dict(svc.layers), crs_for)
    if args.get("f") == "html":
        items = [
            {
                "id": p,
                "title": op["get"]["summary"],
                "description": ", ".join(
                    x.get("name") or x.get("$ref", "").rsplit("/", 1)[-1] for x in op["get"].get("parameters", [])
                ),
            }
            for p, op in doc["paths"].items()
        ]
        return _page(svc, "collections", {"collections": items}, "API paths and parameters")
    return _json(doc, OPENAPI)


def _collection_doc(svc: Service, info: LayerInfo) -> dict:
    base = f"{svc.base_url}/collections/{quote(info.name, safe='')}"
    doc: dict = {
        "id": info.name,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "crs": svc.crs_list(info),
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
            _link(f"{base}/tiles", TILESETS_REL, "application/json", "Vector tiles (MVT, WebMercatorQuad)"),
        ],
    }
    if info.features is not None:
        doc["numberMatched"] = info.features
    if info.time_field:
        doc["extent"]["temporal"] = {"interval": [[None, None]], "trs": TRS}
    return doc


def collections(svc: Service, args: Args, accept: str) -> Response:
    root = svc.base_url
    doc = {
        "links": [
            _link(f"{root}/collections", "self", "application/json"),
            _link(f"{root}/collections?f=html", "alternate", "text/html"),
        ],
        "collections": [_collection_doc(svc, info) for info in svc.layers.values()],
    }
    return _page(svc, "collections", doc, "Collections") if params.wants_html(args, accept) else _json(doc)


def collection(svc: Service, name: str, args: Args, accept: str) -> Response:
    doc = _collection_doc(svc, svc.info(name))
    return _page(svc, "collection", doc, doc["title"]) if params.wants_html(args, accept) else _json(doc)


def queryables(svc: Service, name: str, args: Args, accept: str) -> Response:
    info = svc.info(name)
    props: dict[str, dict] = {f: _schema(t) for f, t in info.dtypes.items()}
    props[cql2.GEOMETRY] = {"title": "geometry", "format": _geometry_format(info.geometry_type)}
    doc = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{svc.base_url}/collections/{quote(name, safe='')}/queryables",
        "type": "object",
        "title": info.title,
        "properties": props,
    }
    return _json(doc, "application/schema+json")


def _schema(kind: str) -> dict:
    """The JSON Schema of a property type (what QGIS and GDAL type their fields by)."""
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}
    if kind == "date":
        return {"type": "string", "format": "date"}
    return {"type": kind}


def _geometry_format(geometry_type: str) -> str:
    """Part 3's geometry formats: geometry-point, geometry-multipolygon, ... (geometry-any when unknown)."""
    name = (geometry_type or "").replace(" ", "").lower()
    known = {
        "point": "geometry-point",
        "multipoint": "geometry-multipoint",
        "linestring": "geometry-linestring",
        "multilinestring": "geometry-multilinestring",
        "polygon": "geometry-polygon",
        "multipolygon": "geometry-multipolygon",
    }
    return known.get(name, "geometry-any")


# -- items --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemQuery:
    """The parsed parameters of an items request."""

    filters: dict[str, str]
    limit: int
    offset: int
    bbox: params.BBox | None
    bbox_crs: CRS | None
    out_crs: CRS
    when: params.Interval | None
    cql: object = None  # a parsed CQL2 filter (pygeofilter syntax tree)
    cql_crs: CRS | None = None
    sortby: tuple[tuple[str, bool], ...] = ()
    properties: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, svc: Service, info: LayerInfo, args: Args, *, html_wanted: bool = False) -> ItemQuery:
        allowed = svc.crs_list(info)
        filters = params.property_filters(args, info.dtypes)
        default = HTML_LIMIT if html_wanted else DEFAULT_LIMIT
        limit = params.integer(args, "limit", default, minimum=1, maximum=MAX_LIMIT)
        offset = params.integer(args, "offset", 0, minimum=0)
        bbox, bbox_crs = params.bbox(args, allowed)
        out_crs = crsmod.parse(args.get("crs"), allowed, param="crs")
        when = params.interval(args["datetime"]) if args.get("datetime") else None
        if when is not None and not info.time_field:
            raise InvalidInputError(f"collection '{info.name}' has no time property; datetime applies to {REPORTS}")
        cql = cql_crs = None
        if args.get("filter"):
            cql = cql2.parse(args["filter"], args.get("filter-lang") or "cql2-text")
            cql2.check_attributes(cql, info.dtypes)
            cql_crs = crsmod.parse(args.get("filter-crs"), allowed, param="filter-crs")
        elif args.get("filter-lang") or args.get("filter-crs"):
            raise InvalidInputError("filter-lang and filter-crs need a filter")
        sortby = tuple(params.sortby(args, info.dtypes))
        props = params.properties(args, info.fields)
        return cls(
            filters,
            limit,
            offset,
            bbox,
            bbox_crs,
            out_crs,
            when,
            cql,
            cql_crs,
            sortby,
            tuple(props) if props is not None else None,
        )


def _select(svc: Service, info: LayerInfo, q: ItemQuery) -> tuple[list[str], int]:
    """One page of features as GeoJSON texts in the output CRS, and how many match in all."""
    if info.name == REPORTS:  # read per request with the caller's privacy: never cached
        page, matched = features.select_rows(
            svc.reports_frame(),
            bbox=q.bbox,
            bbox_crs=q.bbox_crs,
            filters=q.filters,
            when=q.when,
            time_field=info.time_field,
            offset=q.offset,
            limit=q.limit,
            cql=q.cql,
            cql_crs=q.cql_crs,
            sortby=q.sortby,
        )
        if q.properties is not None:
            page = page[[*q.properties, page.geometry.name]]
        return features.features_geojson_texts(page, crs=q.out_crs), matched
    return feature_pages.select_texts(
        svc.build,
        info.name,
        crs=q.out_crs,
        columns=q.properties,
        offset=q.offset,
        limit=q.limit,
        bbox=q.bbox,
        bbox_crs=q.bbox_crs,
        filters=q.filters,
        cql=q.cql,
        cql_crs=q.cql_crs,
        sortby=q.sortby,
    )


def _page_links(base: str, args: Args, q: ItemQuery, returned: int, matched: int, collection_url: str) -> list[dict]:
    kept = {k: v for k, v in args.items() if k not in ("offset", "f", "limit")}
    kept["limit"] = str(q.limit)

    def href(**extra) -> str:
        return f"{base}?{urlencode({**kept, **{k: str(v) for k, v in extra.items()}})}"

    links = [
        _link(href(offset=q.offset), "self", GEOJSON, "This page"),
        _link(href(offset=q.offset, f="html"), "alternate", "text/html", "This page as HTML"),
        _link(collection_url, "collection", "application/json"),
    ]
    if q.offset + returned < matched:
        nxt = q.offset + q.limit
        links += [
            _link(href(offset=nxt), "next", GEOJSON, "Next page"),
            _link(href(offset=nxt, f="html"), "next", "text/html", "Next page as HTML"),
        ]
    if q.offset > 0:
        prev = max(q.offset - q.limit, 0)
        links += [
            _link(href(offset=prev), "prev", GEOJSON, "Previous page"),
            _link(href(offset=prev, f="html"), "prev", "text/html", "Previous page as HTML"),
        ]
    return links


def items(svc: Service, name: str, args: Args, accept: str) -> Response:
    """A page of features as GeoJSON (features written as text, not re-parsed) or HTML."""
    info = svc.info(name)
    html_wanted = params.wants_html(args, accept)
    q = ItemQuery.parse(svc, info, args, html_wanted=html_wanted)
    texts, matched = _select(svc, info, q)
    collection_url = f"{svc.base_url}/collections/{quote(name, safe='')}"
    base = f"{collection_url}/items"
    doc: dict = {
        "type": "FeatureCollection",
        "numberMatched": int(matched),
        "numberReturned": len(texts),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": _page_links(base, args, q, len(texts), matched, collection_url),
    }
    if html_wanted:
        doc["features"] = [json.loads(t) for t in texts]
        columns = list(doc["features"][0]["properties"]) if texts else []
        return _page(svc, "items", doc, info.title, columns=columns, base=base)
    head = json.dumps(doc, ensure_ascii=False)[:-1]  # the members above, then the features as text
    body = f'{head}, "features": [{",".join(texts)}]}}'
    return {"Content-Type": GEOJSON, "Content-Crs": f"<{crsmod.uri(q.out_crs)}>"}, 200, body


def item(svc: Service, name: str, fid: str, args: Args, accept: str) -> Response:
    info = svc.info(name)
    unknown = [k for k in args if k not in ("f", "crs")]
    if unknown:
        raise InvalidInputError(f"unknown query parameter {', '.join(unknown)}; a single feature takes f and crs")
    out_crs = crsmod.parse(args.get("crs"), svc.crs_list(info), param="crs")
    html_wanted = params.wants_html(args, accept)
    if name == REPORTS:
        page = features.row_by_id(svc.reports_frame(), fid, name=name)
    else:
        if not fid.isdigit() or int(fid) > params.MAX_INT:
            raise NotFoundError(f"no feature '{fid[:40]}' in {name}; feature ids are whole numbers")
        page = features.feature_by_fid(svc.build, name, int(fid))
    feature = json.loads(features.features_geojson_texts(page, crs=out_crs)[0])
    self_url = f"{svc.base_url}/collections/{quote(name, safe='')}/items/{quote(fid, safe='')}"
    feature["links"] = [
        _link(self_url, "self", GEOJSON),
        _link(f"{self_url}?f=html", "alternate", "text/html"),
        _link(f"{svc.base_url}/collections/{quote(name, safe='')}", "collection", "application/json"),
    ]
    if html_wanted:
        return _page(svc, "item", feature, f"{info.title} {fid}")
    return _json(feature, GEOJSON, {"Content-Crs": f"<{crsmod.uri(out_crs)}>"})
