"""The working CRS: one metric CRS per area, so lengths and areas are in metres."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from layers.errors import InvalidInputError


def working_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """The UTM zone of the data's centroid (what pyproj estimates for its bounds)."""
    if gdf.crs is None:
        raise InvalidInputError("layer has no CRS; cannot choose a metric working CRS")
    if gdf.crs.is_projected and gdf.crs.axis_info[0].unit_name in ("metre", "meter"):
        return gdf.crs
    return gdf.estimate_utm_crs()


def check_metric(crs: CRS | str, *, what: str = "working CRS") -> CRS:
    """The CRS, or an error when it is not projected in metres."""
    crs = CRS.from_user_input(crs)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise InvalidInputError(
            f"{what} {crs.to_string()} is not a projected CRS in metres; use e.g. a UTM zone (EPSG:327xx)"
        )
    return crs
