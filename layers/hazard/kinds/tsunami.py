"""Tsunami: inundation depth in metres.

Classes: InaSAFE's ``tsunami_hazard_population_classes`` (low (0.1, 0.7], medium (0.7, 3],
high above 3 m; ``min < x <= max``); displacement rate 0 for low, 1.0 for medium and high
(``safe/definitions/hazard_classifications.py``, develop ``677c0421``). For the 5 ITB classes
give ``classes = "low:0.1-1,medium:1-3,high:3-8,very_high:8-"``. People go to dry, high ground.
"""

from layers.hazard.kinds import Kind

KIND = Kind(
    key="tsunami",
    units="m",
    classes="low:0.1-0.7,medium:0.7-3,high:3-",
    text_classes="low:low,medium:medium,high:high|very high",
    displacement={"low": 0.0, "medium": 1.0, "high": 1.0},
    measure="depth",
    value_column="depth_max_m",
    point_column="depth_m",
    evacuation="high_ground",
    source="InaSAFE tsunami_hazard_population_classes",
)
