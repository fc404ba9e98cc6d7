"""Flood: water depth in metres; geoapp's depth classes (lower bound inclusive), as it has always had.

Classes follow InaSAFE's ``flood_petabencana_hazard_classes`` bounds (low 0.1–0.7 m, medium
0.7–1.5 m, high above 1.5 m); everyone in the most severe class is displaced (InaSAFE's ``wet`` rule
as geoapp has applied it). Zones holding text need their classes, e.g. ``wet:yes``.
People go to dry, high ground and avoid deep water.
"""

from layers.hazard.classes import DEFAULT_FLOOD_CLASSES
from layers.hazard.kinds import Kind

KIND = Kind(
    key="flood",
    units="m",
    classes=DEFAULT_FLOOD_CLASSES,
    displacement={"low": 0.0, "medium": 0.0, "high": 1.0},
    measure="depth",
    value_column="depth_max_m",
    point_column="depth_m",
    evacuation="high_ground",
    right_closed=False,
    source="InaSAFE flood_petabencana_hazard_classes bounds; flood_hazard_classes string_defaults",
)
