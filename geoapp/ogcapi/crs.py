"""OGC API – Features Part 2: the CRSs we serve, as URIs, and coordinates in their axis order."""

from __future__ import annotations

import geopandas as gpd
import shapely
from pyproj import CRS

from layers._errors import InvalidInputError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def uri(crs: CRS) -> str:
    """The OGC URI of a CRS (CRS84 for lon/lat WGS 84)."""
    if crs.equals(CRS.from_user_input("OGC:CRS84")):
        return CRS84
    epsg = crs.to_epsg()
    if epsg is None:
        raise InvalidInputError(f"CRS {crs.name} has no EPSG code to publish")
    return f"{_EPSG}{epsg}"


def supported(area_crs: CRS, storage_crs: CRS | None = None) -> list[str]:
    """CRS84, EPSG:4326, EPSG:3857, the area's UTM zone and the layer's storage CRS, without repeats."""
    out = [CRS84, f"{_EPSG}4326", f"{_EPSG}3857", uri(area_crs)]
    if storage_crs is not None:
        out.append(uri(storage_crs))
    return list(dict.fromkeys(out))


def parse(value: str | None, allowed: list[str], *, param: str) -> CRS:
    """The CRS named by a ``crs`` / ``bbox-crs`` parameter (a URI from ``allowed``; default CRS84)."""
    if not value:
        return CRS.from_user_input("OGC:CRS84")
    value = value.strip().strip("[]<>")
    if value not in allowed:
        raise InvalidInputError(f"{param} '{value}' is not offered; use one of: {', '.join(allowed)}")
    if value == CRS84:
        return CRS.from_user_input("OGC:CRS84")
    return CRS.from_epsg(int(value.rsplit("/", 1)[1]))


def yx_order(crs: CRS) -> bool:
    """True when the CRS's first axis is northing/latitude (EPSG:4326): coordinates go out as lat, lon."""
    axes = crs.axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def to_output(gdf: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """``gdf`` reprojected to ``crs`` with coordinates in that CRS's axis order."""
    out = gdf.to_crs(crs) if gdf.crs is not None and not gdf.crs.equals(crs) else gdf
    if yx_order(crs) and len(out):
        out = out.set_geometry(shapely.transform(out.geometry.to_numpy(), lambda c: c[:, ::-1]), crs=out.crs)
    return out


def bbox_to(bbox: tuple[float, float, float, float], src: CRS, dst: CRS) -> tuple[float, float, float, float]:
    """A bbox given in ``src`` (in its axis order) as (minx, miny, maxx, maxy) in ``dst``'s x/y (easting, northing)."""
    if yx_order(src):
        bbox = (bbox[1], bbox[0], bbox[3], bbox[2])
    if src.equals(dst):
        return bbox
    from pyproj import Transformer

    return tuple(Transformer.from_crs(src, dst, always_xy=True).transform_bounds(*bbox, densify_pts=21))
