"""Normalised facility categories from OSM tags and HOT-export columns.

The OSM ``amenity`` tag is the primary source: an exact table first, then
keyword rules for the free-text labels of exports ("Clinic/Doctor",
"Place of Worship - Islam", Map Kibera's "kindergaten,nursery,primary").
"""

from __future__ import annotations

import pandas as pd

from layers.io.values import snake

EXACT = {
    "hospital": "hospital",
    "clinic": "clinic",
    "doctors": "doctors",
    "dentist": "doctors",
    "health_post": "clinic",
    "health_centre": "clinic",
    "pharmacy": "pharmacy",
    "chemist": "pharmacy",
    "school": "school",
    "kindergarten": "kindergarten",
    "college": "university",
    "university": "university",
    "place_of_worship": "place_of_worship",
    "community_centre": "community_centre",
    "social_centre": "community_centre",
    "shelter": "shelter",
    "emergency_shelter": "shelter",
    "assembly_point": "shelter",
    "police": "police",
    "fire_station": "fire_station",
    "townhall": "government",
    "public_building": "government",
    "marketplace": "market",
    "drinking_water": "water_point",
    "water_point": "water_point",
    "toilets": "toilet",
    "toilet": "toilet",
}

# Keyword rules for export labels, tried in order on the snake_cased value.
KEYWORDS: list[tuple[str, str]] = [
    (r"hospital", "hospital"),
    (r"clinic|dispensary|health_cent|health_post|maternity", "clinic"),
    (r"doctor", "doctors"),
    (r"pharmac|chemist|drug", "pharmacy"),
    (r"universit|college", "university"),
    (r"school|primary|secondary|education", "school"),
    (r"kindergar|kindergaten|nursery|day_care", "kindergarten"),
    (r"worship|mosque|masjid|musholla|church|islam|christian|buddhist|hindu|temple", "place_of_worship"),
    (r"police", "police"),
    (r"fire", "fire_station"),
    (r"community|social_hall", "community_centre"),
    (r"shelter|evacuation", "shelter"),
    (r"government|townhall|public_building", "government"),
    (r"market", "market"),
    (r"water|tap|borehole|well", "water_point"),
    (r"toilet|latrine|sanitation|ablution", "toilet"),
]


def category_from_values(values) -> pd.Series:
    """Facility category of each label, NA where the label is not a facility (residential, bank, ...)."""
    key = snake(values)
    out = key.map(EXACT).astype("string")
    todo = out.isna() & key.notna()
    for pattern, category in KEYWORDS:
        hit = todo & key.str.contains(pattern, regex=True).fillna(False)
        out[hit] = category
        todo &= ~hit
    return out


def first_category(*columns) -> pd.Series:
    """Category from the first column that names one, row by row (e.g. AMENITY, then a healthcare tag)."""
    out = None
    for col in columns:
        if col is None:
            continue
        cat = category_from_values(col)
        out = cat if out is None else out.fillna(cat)
    return out
