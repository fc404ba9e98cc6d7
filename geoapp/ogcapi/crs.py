"""OGC API – Features Part 2: the CRSs we serve, as URIs (reprojection and axis order: ``layers.publish.features``)."""

from __future__ import annotations

from pyproj import CRS

from layers.errors import InvalidInputError

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
