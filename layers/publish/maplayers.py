"""The layers a web map can show: where each comes from, what colours and sizes it, what its popup lists."""

from __future__ import annotations

from dataclasses import dataclass

from layers.hazard.kinds import kinds


@dataclass(frozen=True)
class WebLayer:
    """One layer of the web map.

    ``sources`` are GeoPackage layer names, first present wins (an analysis
    output before the plain input). ``style`` names the column that colours
    features; ``size`` the one that scales lines or points; ``properties``
    are the columns sent with every feature in tiles (popups ask for the
    whole row on click).
    """

    name: str
    kind: str  # "polygon" | "line" | "point"
    sources: tuple[str, ...]
    id_column: str | None = None
    style: str | None = None
    size: str | None = None
    properties: tuple[str, ...] = ()
    group: str | None = None
    default_on: bool = False
    order: int = 0
    popup: tuple[str, ...] = ()  # columns a popup shows first, in order (all columns when none of them exist)


# Each hazard kind's value columns (depth_max_m for floods, mmi_max for earthquakes...: layers/hazard/kinds).
VALUE_COLUMNS = tuple(dict.fromkeys(k.value_column for k in kinds().values()))
POINT_COLUMNS = tuple(dict.fromkeys(k.point_column for k in kinds().values()))

# Analysis output names and columns as the exposure / evacuation / precarity steps write them.
CATALOGUE: tuple[WebLayer, ...] = (
    WebLayer(
        "precarity_cells",
        "polygon",
        ("precarity_cells",),
        "h3_id",
        style="precarity_index",
        properties=("precarity_index", "rank", "precarity_class"),
        order=1,
        popup=("precarity_index", "rank", "precarity_class", "top_indicators"),
    ),
    WebLayer("unreachable", "polygon", ("unreachable",), order=2),
    WebLayer(
        "roads",
        "line",
        ("exposure_roads", "roads"),
        "road_id",
        style="hazard_class",
        properties=("road_class", "hazard_class"),
        group="hazard_class",
        order=3,
        popup=("name", "road_class", "hazard_class", *VALUE_COLUMNS, "length_m", "oneway"),
    ),
    WebLayer(
        "buildings",
        "polygon",
        ("exposure_buildings", "buildings"),
        "building_id",
        style="hazard_class",
        properties=("hazard_class", "building_type"),
        group="hazard_class",
        default_on=True,
        order=4,
        popup=(
            "name",
            "building_type",
            "hazard_class",
            "damage_class",
            *VALUE_COLUMNS,
            "flooded_share",
            "hazard_share",
            "levels",
            "capacity",
        ),
    ),
    WebLayer(
        "evacuation_routes",
        "line",
        ("evacuation_routes",),
        "edge_id",
        size="people",
        properties=("people",),
        order=5,
        popup=("people", "road_class", "length_m", "depth_max_m"),
    ),
    WebLayer(
        "facilities",
        "point",
        ("exposure_facilities", "facilities"),
        "facility_id",
        style="category",
        properties=("category", "hazard_class"),
        group="category",
        default_on=True,
        order=6,
        popup=("name", "category", "hazard_class", *POINT_COLUMNS, "capacity"),
    ),
    WebLayer(
        "shelters",
        "point",
        ("shelters",),
        "shelter_id",
        style="load_pct",
        size="capacity",
        properties=("capacity", "assigned", "load_pct", "over_capacity", "safe"),
        order=7,
        popup=("name", "category", "capacity", "assigned", "load_pct", "over_capacity", "safe", "buildings"),
    ),
)
# Several hazards in one area: per neighbourhood, people exposed to at least one (layers/hazard/combined.py).
COMBINED = WebLayer(
    "combined",
    "polygon",
    ("exposure_combined",),
    "area_id",
    properties=("name", "pop_any_hazard"),
    order=8,
    popup=("name", "pop_any_hazard", "pop_several_hazards", "exposed_by_hazard", "buildings_any_hazard"),
)
REPORTS = WebLayer(
    "reports",
    "point",
    (),
    "id",
    style="category",
    properties=("category",),
    group="category",
    default_on=True,
    order=9,
    popup=("category", "description", "severity", "observed_at", "created_at"),
)
# What the public map shows of a published report (after the reports module's privacy rules).
REPORT_COLUMNS = ("id", "category", "description", "severity", "observed_at", "created_at", "has_photo")


def reports_layer() -> dict:
    """The page description of the field-reports layer (its features come from the reports, not the build)."""
    return {
        "name": REPORTS.name,
        "kind": REPORTS.kind,
        "style": REPORTS.style,
        "size": None,
        "popup": list(REPORTS.popup),
        "default_on": REPORTS.default_on,
        "per_scenario": False,
        "source": "reports",
    }


AREA_POPUP = (
    "name",
    "pop_total",
    "pop_affected",
    "displaced",
    "fatalities",
    "buildings_total",
    "buildings_affected",
    "facilities_affected",
    "facilities_at_risk",
    "roads_affected_km",
)
TITLES = {
    "precarity_cells": "Precarious neighbourhoods",
    "unreachable": "Places without a safe route",
    "roads": "Roads",
    "buildings": "Buildings",
    "evacuation_routes": "Evacuation routes",
    "facilities": "Facilities",
    "shelters": "Shelters",
    "reports": "Field reports",
    "combined": "All hazards together",
}


def boundary_layer(boundary_id: str, first: bool) -> WebLayer:
    """The web layer of one boundary set: per-area exposure figures when the build has them."""
    return WebLayer(
        f"boundaries_{boundary_id}",
        "polygon",
        ("exposure_areas", f"boundaries_{boundary_id}"),
        "area_id",
        properties=("name",),
        default_on=first,
        order=8,
        popup=AREA_POPUP,
    )
