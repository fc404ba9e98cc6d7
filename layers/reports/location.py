"""Where a report is: a point or polygon from lon/lat columns, WKT text or a GeoJSON/GIS geometry, and the area check.

:func:`locate` gives every row a lon/lat (a polygon's representative point) and
fails rows with no, half, unreadable or impossible coordinates;
:func:`outside_area` flags (or rejects) points outside the area and names
pairs that would be inside with longitude and latitude swapped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from layers.reports.batch import RawBatch, quote

_POINT, _POLYGON, _MULTIPOLYGON = 0, 3, 6


class Location(NamedTuple):
    """Per-row location: lon/lat (float64), the geometries, which are polygons, and out-of-range coordinates."""

    lon: pd.Series
    lat: pd.Series
    geometry: np.ndarray  # shapely geometries or None, object dtype
    is_poly: np.ndarray  # a usable polygon: finite coordinates
    polygon_type: np.ndarray  # any Polygon/MultiPolygon given (what the category rule looks at)
    lon_bad: pd.Series
    lat_bad: pd.Series

    def polygon_wkt(self) -> np.ndarray:
        """WKT of the polygon rows (7 decimals, ~1 cm), None elsewhere."""
        out = np.full(len(self.geometry), None, dtype=object)
        if self.is_poly.any():
            out[self.is_poly] = shapely.to_wkt(self.geometry[self.is_poly], rounding_precision=7)
        return out


def locate(b: RawBatch) -> Location:
    """Coordinates of every row from ``lon``/``lat``, ``wkt`` or ``geometry``; bad ones fail their row."""
    lon = b.number("lon", "longitude")
    lat = b.number("lat", "latitude")
    garr = _geometries(b)
    present = ~shapely.is_missing(garr)
    gtype = np.where(present, shapely.get_type_id(garr), -1)
    b.add(present & shapely.is_empty(garr), "the geometry is empty")
    finite = _finite(garr)
    b.add(present & ~finite, "the geometry has coordinates that are not finite numbers (NaN or infinity)")
    is_point = present & finite & (gtype == _POINT) & ~shapely.is_empty(garr)
    is_poly = present & finite & np.isin(gtype, (_POLYGON, _MULTIPOLYGON))
    b.add(
        present & ~np.isin(gtype, (_POINT, _POLYGON, _MULTIPOLYGON)),
        "geometry must be a Point (or a Polygon for a polygon category)",
    )
    points = _only(garr, is_point)
    lon = lon.where(~is_point, shapely.get_x(points))
    lat = lat.where(~is_point, shapely.get_y(points))
    if is_poly.any():
        polys = _only(garr, is_poly)
        rep = shapely.point_on_surface(polys)
        lon = lon.where(~is_poly, shapely.get_x(rep))
        lat = lat.where(~is_poly, shapely.get_y(rep))
        bounds = shapely.bounds(polys)
        b.add(
            is_poly & ((np.abs(bounds[:, [0, 2]]) > 180).any(axis=1) | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)),
            "polygon coordinates are outside -180..180 / -90..90; is the file in lon/lat?",
        )
        b.add(is_poly & ~shapely.is_valid(polys), "the polygon is not valid (self-intersecting?)")
    lon_text, lat_text = b.text("lon"), b.text("lat")
    half = lon_text.notna() ^ lat_text.notna()
    no_loc = (lon.isna() | lat.isna()) & ~present & ~half
    b.add(
        no_loc & lon_text.isna() & lat_text.isna() & b.text("wkt").isna(),
        "no location: give longitude and latitude columns (lon/lat), an ODK location, or a WKT geometry",
    )
    b.add(half, "give both longitude and latitude")
    lat_bad = lat.abs() > 90
    lon_bad = lon.abs() > 180
    swapped = lat_bad & (lon.abs() <= 90) & (lat.abs() <= 180)
    b.add(
        swapped,
        lambda: "latitude " + lat.astype("string") + " is outside -90..90: longitude and latitude look swapped",
    )
    b.add(lat_bad & ~swapped, lambda: "latitude " + lat.astype("string") + " is outside -90..90")
    b.add(lon_bad, lambda: "longitude " + lon.astype("string") + " is outside -180..180")
    polygon_type = present & np.isin(gtype, (_POLYGON, _MULTIPOLYGON))
    return Location(lon, lat, garr, is_poly, polygon_type, lon_bad, lat_bad)


def _finite(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: every coordinate is a finite number (a NaN or infinite one fails only its own row)."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    ok = np.ones(len(geoms), dtype=bool)
    ok[index[~np.isfinite(coords).all(axis=1)]] = False
    return ok


def _only(geoms: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The geometries where ``mask`` holds, None elsewhere."""
    out = np.full(len(geoms), None, dtype=object)
    out[mask] = geoms[mask]
    return out


def _geometries(b: RawBatch) -> np.ndarray:
    """The ``geometry`` column, with ``wkt`` text parsed where no geometry was given (bad WKT fails its row)."""
    geom = b.raw["geometry"] if "geometry" in b else pd.Series([None] * b.n, dtype=object)
    wkt = b.text("wkt")
    has_wkt = wkt.notna() & pd.Series([g is None for g in geom], dtype=bool)
    if has_wkt.any():
        with np.errstate(invalid="ignore"):  # "POINT (nan nan)" parses; _finite fails its row
            parsed = shapely.from_wkt(wkt[has_wkt].to_numpy(dtype=object), on_invalid="ignore")
        geom = geom.copy()
        geom[has_wkt.to_numpy()] = parsed
        b.add(has_wkt & pd.Series([g is None for g in geom]), lambda: "geometry " + quote(wkt) + " is not valid WKT")
    return geom.to_numpy(dtype=object)


def outside_area(b: RawBatch, loc: Location, extent, *, reject: bool) -> np.ndarray:
    """Rows whose point lies outside ``extent`` (lon/lat); a swapped pair fails, others fail only when ``reject``."""
    outside = np.zeros(b.n, dtype=bool)
    if extent is None:
        return outside
    lon, lat = loc.lon, loc.lat
    ok = lon.notna() & lat.notna() & ~loc.lat_bad & ~loc.lon_bad
    inside = np.ones(b.n, dtype=bool)
    inside[ok.to_numpy()] = shapely.contains_xy(extent, lon[ok].to_numpy(), lat[ok].to_numpy())
    outside = ~inside
    swap_in = np.zeros(b.n, dtype=bool)
    check = ok.to_numpy() & outside & (lon.abs() <= 90).to_numpy()  # only points outside can be swapped
    if check.any():
        swap_in[check] = shapely.contains_xy(extent, lat[check].to_numpy(), lon[check].to_numpy())
    b.add(outside & swap_in, "the point is outside the area but would be inside with longitude and latitude swapped")
    if reject:
        b.add(outside & ~swap_in, "the point is outside the area (reports.outside_area = 'reject')")
    return outside


def area_extent(boundaries, *, margin_m: float = 500.0):
    """The area as one lon/lat geometry: its boundaries (GeoDataFrame, metric CRS) grown by ``margin_m``."""
    import geopandas as gpd

    geom = boundaries.geometry.union_all().buffer(margin_m)
    return gpd.GeoSeries([geom], crs=boundaries.crs).to_crs("EPSG:4326").iloc[0]
