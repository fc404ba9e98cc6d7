"""The working CRS: one metric CRS per area, so lengths and areas are in metres."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import InvalidInputError

# Beyond these a coordinate is garbage, not a place: degrees of a geographic CRS (longitudes up to
# 360 for 0-360 grids), metres (or feet) of a projected one, 100,000 km being over twice round the Earth.
GEOGRAPHIC_LIMITS = (360.0, 90.0 + 1e-9)
PROJECTED_LIMIT = 1e8


def coordinate_limits(crs: CRS) -> np.ndarray:
    """``(max |x|, max |y|)`` of a coordinate that can be a place in ``crs``."""
    return np.array(GEOGRAPHIC_LIMITS if crs.is_geographic else (PROJECTED_LIMIT, PROJECTED_LIMIT))


def plausible_bounds(bounds, crs: CRS | str) -> bool:
    """Whether ``(minx, miny, maxx, maxy)`` are finite and within :func:`coordinate_limits` of ``crs``."""
    xy = np.asarray(bounds, dtype="float64").reshape(2, 2)
    with np.errstate(invalid="ignore"):
        return bool((np.abs(xy) <= coordinate_limits(CRS.from_user_input(crs))).all())


def working_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """The UTM zone of the data's centroid (what pyproj estimates for its bounds)."""
    if gdf.crs is None:
        raise InvalidInputError("layer has no CRS; cannot choose a metric working CRS")
    if gdf.crs.is_projected and gdf.crs.axis_info[0].unit_name in ("metre", "meter"):
        return gdf.crs
    bounds = gdf.total_bounds
    if not plausible_bounds(bounds, gdf.crs):
        raise InvalidInputError(
            f"cannot choose a UTM zone: the layer's bounds {tuple(bounds)} are not places in {gdf.crs.to_string()}"
        )
    return gdf.estimate_utm_crs()


def check_metric(crs: CRS | str, *, what: str = "working CRS") -> CRS:
    """The CRS, or an error when it is not projected in metres."""
    try:
        crs = CRS.from_user_input(crs)
    except CRSError as exc:
        raise InvalidInputError(f"{what} {crs!r} is not a CRS PROJ knows; use e.g. a UTM zone (EPSG:327xx)") from exc
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise InvalidInputError(
            f"{what} {crs.to_string()} is not a projected CRS in metres; use e.g. a UTM zone (EPSG:327xx)"
        )
    return crs
