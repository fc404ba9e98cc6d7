"""Volcanic ash: deposit thickness in centimetres.

Classes: InaSAFE's ``ash_hazard_classes`` (very low (0.01, 0.1], low (0.1, 2], medium (2, 5],
high (5, 10], very high above 10 cm); every class is affected, only high and very high displace
(rate 1.0). People leave the thick-ash zones.
"""

from layers.hazard.kinds import Kind

KIND = Kind(
    key="volcanic_ash",
    units="cm",
    classes="very_low:0.01-0.1,low:0.1-2,medium:2-5,high:5-10,very_high:10-",
    text_classes="very_low:very low,low:low,medium:medium,high:high,very_high:very high",
    displacement={"very_low": 0.0, "low": 0.0, "medium": 0.0, "high": 1.0, "very_high": 1.0},
    measure="thickness",
    value_column="ash_cm_max",
    point_column="ash_cm",
    evacuation="outside_zones",
    source="InaSAFE ash_hazard_classes",
)
