"""The one column schema every loader produces.

Loaders return GeoDataFrames in the area's working metric CRS with exactly
these columns (plus ``geometry``), in this order. Ids are stable for the same
input: taken from the source (OSM id, an id column) when it has one, else
the 1-based row number.
"""

from __future__ import annotations

BUILDING_COLUMNS = ["building_id", "building_type", "levels", "capacity", "name"]
FACILITY_COLUMNS = ["facility_id", "category", "name", "capacity", "building_id", "source_type"]
ROAD_COLUMNS = ["road_id", "road_class", "oneway", "name"]
BOUNDARY_COLUMNS = ["area_id", "name"]

# Normalised facility categories (mapped from OSM tags or export columns).
FACILITY_CATEGORIES = [
    "hospital",
    "clinic",
    "pharmacy",
    "school",
    "university",
    "kindergarten",
    "place_of_worship",
    "community_centre",
    "shelter",
    "police",
    "fire_station",
    "government",
    "market",
    "water_point",
    "toilet",
]
