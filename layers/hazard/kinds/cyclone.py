"""Cyclone: maximum wind speed (km/h by default; also m/s, knots, mph).

Classes: InaSAFE's ``cyclone_au_bom_hazard_classes`` (Australian Bureau of Meteorology categories
1–5; km/h: (90, 126], (126, 167], (167, 224], (224, 283], above 283), with their displacement
rates 0, 0.06, 0.55, 0.97 and 1.0. Below category 1 (tropical depression) is not affected.
People shelter outside the zones of the strongest winds.
"""

from layers.hazard.kinds import Kind


def _spec(b: tuple[float, float, float, float, float]) -> str:
    return ",".join(
        [f"category_{i + 1}:{lo:g}-{hi:g}" for i, (lo, hi) in enumerate(zip(b, b[1:], strict=False))]
        + [f"category_5:{b[-1]:g}-"]
    )


# Lower bounds of categories 1-5 per unit (InaSAFE's per-unit dicts).
BOUNDS = {
    "kph": (90, 126, 167, 224, 283),
    "m/s": (24, 34, 47, 63, 79),
    "knots": (49, 67, 90, 121, 153),
    "mph": (56, 77, 103, 140, 176),
}

KIND = Kind(
    key="cyclone",
    units="kph",
    classes=_spec(BOUNDS["kph"]),
    units_classes={u: _spec(b) for u, b in BOUNDS.items()},
    text_classes=",".join(f"category_{i}:cat {i}|category {i}" for i in range(1, 6)),
    displacement={"category_1": 0.0, "category_2": 0.06, "category_3": 0.55, "category_4": 0.97, "category_5": 1.0},
    measure="speed",
    value_column="wind_max",
    point_column="wind",
    evacuation="outside_zones",
    source="InaSAFE cyclone_au_bom_hazard_classes",
)
