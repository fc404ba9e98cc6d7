"""Generic classified hazard: zones or a grid of classes 1 (low), 2 (medium), 3 (high).

Classes: InaSAFE's ``generic_hazard_classes`` (low (0, 2] not affected in InaSAFE, medium (2, 3],
high above 3; text values low / medium / high); medium and high displace everyone (rate 1.0).
People go outside the zones.
"""

from layers.hazard.kinds import Kind

KIND = Kind(
    key="generic",
    units="class",
    classes="low:0-2,medium:2-3,high:3-",
    text_classes="low:low|low hazard zone|1,medium:medium|medium hazard zone|2,high:high|high hazard zone|3",
    displacement={"low": 0.0, "medium": 1.0, "high": 1.0},
    measure="zone",
    value_column="value_max",
    point_column="value",
    evacuation="outside_zones",
    source="InaSAFE generic_hazard_classes",
)
