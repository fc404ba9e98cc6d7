"""The app's published layers (exports and OGC API): the built GeoPackage plus field reports, for this request.

This is the Flask side of :mod:`geoapp.ogcapi`: it reads the app's area, build
path and caller, and hands plain values to the framework-free core
(:func:`service`). Field reports are read per request, through
``geoapp.reports.query`` only, so the caller's privacy level always applies.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from flask import current_app
from pyproj import CRS

from layers.errors import NotFoundError
from layers.publish import features
from layers.publish.export import describe

from .. import access
from ..area import build_path, current_area
from .core import Service
from .info import REPORTS, REPORTS_TIME_FIELD, LayerInfo, build_layers, reports_info

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["REPORTS", "REPORTS_TIME_FIELD", "catalogue", "layer_info", "read_layer", "reports_frame", "service"]


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
    titles = _titles()
    out = build_layers(build_path(), titles)
    if reports_available():
        out[REPORTS] = reports_info(titles.get("reports", "Field reports"), describe(REPORTS), _reports_bbox())
    named = f"{current_area().title} — " if _has_area() else ""  # titles name the area (several share a server)
    return {n: replace(i, title=named + i.title) for n, i in out.items() if access.visible(n)}


def _has_area() -> bool:
    try:
        current_area()
    except Exception:  # serving a build without its area.toml
        return False
    return True


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


def service(base_url: str) -> Service:
    """The OGC API core's view of this app and this caller."""
    try:
        area = current_area()
        title, meta, crs = area.title, area.metadata(), area.crs
    except Exception:  # serving a build without its area.toml: the layers' own CRSs only
        title, meta, crs = build_path().stem, {}, CRS.from_epsg(3857)
    return Service(
        base_url=base_url.rstrip("/"),
        build=build_path(),
        title=title,
        layers=catalogue(),
        area_crs=crs,
        metadata=meta,
        reports=reports_frame if reports_available() else None,
    )
