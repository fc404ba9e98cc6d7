"""The layers the app publishes (exports and OGC API): the built GeoPackage plus field reports.

Layer facts (title, geometry type, count, extent) are read once per build file
version and cached on the app. Field reports are read per request, through
``geoapp.reports.query`` only, so the caller's privacy level always applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from pyproj import CRS

from layers.errors import NotFoundError
from layers.publish import features
from layers.publish.export import describe, list_layers

from ..area import build_path, current_area

if TYPE_CHECKING:
    import geopandas as gpd

REPORTS = "field_reports"
REPORTS_TIME_FIELD = "observed_at"


@dataclass(frozen=True)
class LayerInfo:
    name: str
    title: str
    description: str
    geometry_type: str
    crs: CRS
    features: int | None  # None when it depends on the caller (field reports)
    fields: list[str]
    bbox_wgs84: tuple[float, float, float, float] | None
    time_field: str | None = None
    dtypes: dict[str, str] = field(default_factory=dict)


def _titles() -> dict[str, str]:
    try:
        from layers.publish.webmap import TITLES
    except ImportError:  # the map module is optional for exports
        TITLES = {}
    titles = dict(TITLES)
    try:
        area = current_area()
        titles.update({f"boundaries_{b.id}": b.title for b in area.boundaries})
    except Exception:  # no area config: names only
        pass
    return titles


def catalogue() -> dict[str, LayerInfo]:
    """Every published layer by name, in the order of the build, field reports last."""
    path = build_path()
    key = (str(path), path.stat().st_mtime_ns if path.exists() else None)
    cache = current_app.extensions.setdefault("geoapp.catalogue", {})
    if key not in cache:
        cache.clear()
        cache[key] = _read_catalogue(path) if path.exists() else {}
    out = dict(cache[key])
    if reports_available():
        out[REPORTS] = LayerInfo(
            REPORTS,
            _titles().get("reports", "Field reports"),
            describe(REPORTS),
            "Point",
            CRS.from_epsg(4326),
            None,
            ["id", "category", "description", "severity", "observed_at", "status", "source", "has_photo"],
            _reports_bbox(),
            REPORTS_TIME_FIELD,
            {
                "id": "string",
                "category": "string",
                "description": "string",
                "severity": "string",
                "observed_at": "datetime",
                "status": "string",
                "source": "string",
                "has_photo": "boolean",
            },
        )
    return out


def _read_catalogue(path: Path) -> dict[str, LayerInfo]:
    titles = _titles()
    out = {}
    for layer in list_layers(path):
        name = layer["name"]
        facts = features.layer_facts(path, name)
        out[name] = LayerInfo(
            name,
            titles.get(name) or name.replace("_", " ").capitalize(),
            layer["description"],
            layer["geometry_type"],
            facts.crs,
            facts.features,
            facts.fields,
            facts.bbox_wgs84,
            None,
            facts.dtypes,
        )
    return out


def reports_available() -> bool:
    """Field reports are published when the report store is part of this app."""
    try:
        from geoapp.reports import query as reportdata  # noqa: F401
    except ImportError:
        return False
    return "geoapp.db" in current_app.extensions


def _reports_bbox() -> tuple[float, float, float, float] | None:
    try:
        area = current_area()
        return features.bounds_wgs84(area.boundary_layer().total_bounds, area.crs)
    except Exception:  # no boundaries: no declared extent
        return None


def layer_info(name: str) -> LayerInfo:
    cat = catalogue()
    if name not in cat:
        raise NotFoundError(f"no layer '{name}'; layers are {', '.join(cat) or 'none (run geoapp build)'}")
    return cat[name]


def reports_frame(*, bbox=None, category=None) -> gpd.GeoDataFrame:
    """Field reports as the current caller may see them (EPSG:4326), attributes as JSON text."""
    import json

    from geoapp.reports.query import reports_geodataframe

    from .. import auth

    gdf = reports_geodataframe(viewer=auth.current_user(), bbox=bbox, category=category)
    if "attributes" in gdf.columns:
        gdf["attributes"] = [json.dumps(a, ensure_ascii=False, default=str) if a else None for a in gdf["attributes"]]
    return gdf


def read_layer(name: str, *, bbox=None) -> gpd.GeoDataFrame:
    """A whole published layer (its own CRS; reports in EPSG:4326), GeoPackage fid as the index."""
    layer_info(name)  # NotFoundError naming the layers there are
    if name == REPORTS:
        return reports_frame()
    return features.read_layer(build_path(), name, bbox=bbox)
