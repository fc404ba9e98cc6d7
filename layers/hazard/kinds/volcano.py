"""Volcano: danger zones, as KRB polygons (Kawasan Rawan Bencana I/II/III) or rings around vent points.

Classes: InaSAFE's ``volcano_hazard_classes``: high = KRB III or within 3 km of a vent, medium =
KRB II or 3–5 km, low = KRB I or 5–10 km (``string_defaults`` and the numeric min/max in km);
high and medium displace everyone. A point layer is buffered the InaSAFE way
(``safe/utilities/gis.py buffer_points``): in the point's UTM zone, each radius in km a circle,
each circle minus the one inside it. People go outside the danger zones.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from layers.errors import InvalidInputError
from layers.hazard.kinds import Kind

RADII_KM = (3.0, 5.0, 10.0)  # InaSAFE volcano_point default distances
ZONES = ("high", "medium", "low")  # innermost first

KIND = Kind(
    key="volcano",
    units="zone",
    classes="low:0-1,medium:1-2,high:2-",  # numeric zone codes 1 (KRB I) … 3 (KRB III)
    text_classes=(
        "low:kawasan rawan bencana i|krb i|low,medium:kawasan rawan bencana ii|krb ii|medium,"
        "high:kawasan rawan bencana iii|krb iii|high"
    ),
    displacement={"low": 0.0, "medium": 1.0, "high": 1.0},
    measure="zone",
    value_column="zone_max",
    point_column="zone",
    evacuation="outside_zones",
    source="InaSAFE volcano_hazard_classes",
)


def rings(points: gpd.GeoDataFrame, radii_km=RADII_KM) -> gpd.GeoDataFrame:
    """Rings around every vent point: column ``zone`` (high/medium/low, innermost first) and ``radius_km``.

    Several vents' rings of the same zone are merged; where rings of different vents overlap the more
    severe zone wins when the hazard's class polygons are made.
    """
    radii = sorted(float(r) for r in radii_km)
    if not radii or radii[0] <= 0 or len(radii) > len(ZONES):
        raise InvalidInputError(f"volcano radii {list(radii_km)} must be 1 to 3 positive distances in km")
    pts = points[points.geometry.notna() & ~points.geometry.is_empty]
    if len(pts) == 0 or not (pts.geom_type == "Point").all():
        raise InvalidInputError("a volcano point layer must hold vent points")
    utm = pts.estimate_utm_crs()
    centres = pts.to_crs(utm).geometry.to_numpy()
    circles = [shapely.union_all(shapely.buffer(centres, r * 1000.0, quad_segs=30)) for r in radii]
    # The innermost radius is the most severe zone, whatever the number of radii.
    zones = ZONES[: len(radii)]
    geoms = [circles[0]] + [shapely.difference(b, a) for a, b in zip(circles, circles[1:], strict=False)]
    return gpd.GeoDataFrame({"zone": list(zones), "radius_km": np.asarray(radii)}, geometry=geoms, crs=utm).to_crs(
        points.crs
    )
