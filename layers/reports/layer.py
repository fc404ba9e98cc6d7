"""Stored field reports as geodata: geometries of report rows, box searches, the area's extent, derived layers.

The web app reads rows out of its database and hands them here; everything that
knows about coordinates, degrees, CRSs or shapes lives in this module, so the
app itself does no geoprocessing.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.reports.parse import area_extent

# One degree of latitude, in metres (padding a box by a blur distance needs no more precision).
METRES_PER_DEGREE = 111_000.0


def wkt_or_none(values) -> list[str | None]:
    """Geometry texts with every missing value (None, NaN, NA, empty text) as None.

    A chunk that mixes points (no WKT) and polygons comes out of pandas with NaN
    for the points; WKT readers must never see those.
    """
    return [v if isinstance(v, str) and v else None for v in values]


def to_geodataframe(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Points from lon/lat, polygons from ``geometry_wkt``; EPSG:4326."""
    geom = shapely.points(frame["lon"].to_numpy(dtype="float64"), frame["lat"].to_numpy(dtype="float64"))
    if "geometry_wkt" in frame:
        wkt = np.array(wkt_or_none(frame["geometry_wkt"].tolist()), dtype=object)
        has = np.array([w is not None for w in wkt], dtype=bool)
        if has.any():
            geom[has] = shapely.from_wkt(wkt[has])
    return gpd.GeoDataFrame(frame.drop(columns=["geometry_wkt"], errors="ignore"), geometry=geom, crs="EPSG:4326")


def padded_box(box: tuple[float, float, float, float], pad_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box grown by ``pad_m`` metres on every side (longitudes widened for the box's highest latitude)."""
    dlat = pad_m / METRES_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(max(abs(box[1]), abs(box[3])))), 0.01)
    return box[0] - dlon, box[1] - dlat, box[2] + dlon, box[3] + dlat


def in_box(frame: pd.DataFrame, box: tuple[float, float, float, float]) -> np.ndarray:
    """Rows whose (blurred) point lies in the lon/lat box; polygons always pass (the database tested their shape)."""
    inside = (frame["lon"] >= box[0]) & (frame["lon"] <= box[2]) & (frame["lat"] >= box[1]) & (frame["lat"] <= box[3])
    if "geometry_wkt" in frame:
        inside |= pd.Series([w is not None for w in wkt_or_none(frame["geometry_wkt"])], index=frame.index)
    return inside.to_numpy(dtype=bool)


def prepared_extent(boundaries: gpd.GeoDataFrame, *, margin_m: float = 500.0):
    """The area's boundaries grown by ``margin_m``, in lon/lat, prepared for many point tests."""
    extent = area_extent(boundaries, margin_m=margin_m)
    shapely.prepare(extent)
    return extent


def extent_center(extent) -> list[float]:
    """Lon/lat of the middle of an extent (``[0, 0]`` without one), rounded to 6 decimals."""
    if extent is None:
        return [0.0, 0.0]
    p = extent.centroid
    return [round(p.x, 6), round(p.y, 6)]


def _attribute(gdf: gpd.GeoDataFrame, key: str) -> list:
    return [a.get(key) if isinstance(a, dict) else None for a in (gdf["attributes"] if len(gdf) else [])]


def shelter_facilities(gdf: gpd.GeoDataFrame, *, crs) -> gpd.GeoDataFrame:
    """Shelter-site reports as facility points (``layers.io.schema.FACILITY_COLUMNS``), in ``crs``.

    ``facility_id`` is ``report:<id>``, ``capacity`` the report's numeric
    ``capacity`` attribute (else missing).
    """
    from layers.io.values import parse_capacity

    out = gpd.GeoDataFrame(
        {
            "facility_id": "report:" + gdf["id"].astype(str),
            "category": "shelter",
            "name": _attribute(gdf, "name"),
            "capacity": parse_capacity(_attribute(gdf, "capacity")).to_numpy(),
            "building_id": pd.array([pd.NA] * len(gdf), dtype="Int64"),
            "source_type": "field_report",
        },
        geometry=gdf.geometry.to_numpy() if len(gdf) else np.array([], dtype=object),
        crs="EPSG:4326",
    )
    return out.to_crs(crs)


def public_layer(gdf: gpd.GeoDataFrame, *, crs) -> gpd.GeoDataFrame:
    """Reports as a GIS layer in ``crs``: ``name`` and ``capacity`` out of the attributes, attributes as JSON text."""
    out = gdf.copy()
    out["name"] = pd.Series(_attribute(out, "name"), index=out.index, dtype=object)
    out["capacity"] = pd.Series(_attribute(out, "capacity"), index=out.index, dtype=object)
    attrs = out["attributes"].tolist() if len(out) else []
    out["attributes"] = [json.dumps(a, ensure_ascii=False) if a else None for a in attrs]
    return out.to_crs(crs)


def report_feature(properties: dict, *, lon, lat, wkt: str | None) -> dict:
    """A stored report as a GeoJSON Feature dict (its polygon when it has one, else its point), to validate again."""
    if wkt is None:
        geometry = {"type": "Point", "coordinates": [lon, lat]}
    else:
        geometry = json.loads(shapely.to_geojson(shapely.from_wkt(wkt)))
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def units_with_points(units: gpd.GeoDataFrame, lon, lat) -> set[int]:
    """Positions (0-based) of the ``units`` polygons that hold at least one of the lon/lat points."""
    if not len(units) or not len(lon):
        return set()
    pts = gpd.GeoSeries(shapely.points(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")), crs=4326)
    pts = pts.to_crs(units.crs) if units.crs is not None else pts
    _, hit = units.sindex.query(pts.to_numpy(), predicate="within")
    return set(np.unique(hit).tolist())
