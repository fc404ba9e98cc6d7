"""Landslide: susceptibility classes 1 (low), 2 (medium), 3 (high).

InaSAFE has no landslide hazard of its own; its users map landslide susceptibility with the
generic classes (``generic_hazard_classes``), so geoapp does the same: low (0, 2], medium (2, 3],
high above 3, text low / medium / high; medium and high displace everyone. People go outside the zones.
"""

from layers.hazard.kinds import Kind

KIND = Kind(
    key="landslide",
    units="class",
    classes="low:0-2,medium:2-3,high:3-",
    text_classes="low:low|1,medium:medium|moderate|2,high:high|3",
    displacement={"low": 0.0, "medium": 1.0, "high": 1.0},
    measure="zone",
    value_column="susceptibility_max",
    point_column="susceptibility",
    evacuation="outside_zones",
    source="InaSAFE generic_hazard_classes",
)
