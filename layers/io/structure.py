"""A building's structure type from OSM tags, in the classes the earthquake kind reads.

OSM says how a building is made in three keys (wiki ``Key:building:structure``,
``Key:building:material``): ``building:structure`` (the construction method: ``confined_masonry``,
``unreinforced_masonry``, ``wood_frame``, ``RCC_with_beam``...; mapped mostly in Indonesia),
a bare ``structure`` (HOT/InAWARE-style surveys) and ``building:material`` (the facade: ``brick``,
``concrete``, ``wood``, ``metal``, ``stone``, ``mud``, ``adobe``, ``bamboo``...). The construction
method is read first, the facade last, since a plastered brick wall is tagged ``plaster``.

Each value maps to one class of :mod:`layers.hazard.kinds.earthquake` (EMS-98 vulnerability):
``adobe``, ``earth``, ``rubble``, ``stone``, ``unreinforced_masonry`` (damaged one MMI early);
``brick``, ``masonry``, ``rc_non_engineered`` (as shaken); ``reinforced_concrete``,
``reinforced_masonry``, ``steel``, ``timber`` (one MMI late). A value that says nothing of the
structure (``plaster``, ``glass``, ``tiles``, ``yes``...) or is unknown stays missing.
"""

from __future__ import annotations

import pandas as pd

# OSM value (lower case, spaces and dashes as "_") -> structure class of the earthquake kind.
STRUCTURE_CLASSES: dict[str, str] = {
    # earth and mud (EMS-98 class A)
    "adobe": "adobe",
    "mud": "adobe",
    "mud_brick": "adobe",
    "mudbrick": "adobe",
    "clay": "adobe",
    "loam": "adobe",
    "cob": "adobe",
    "rammed_earth": "earth",
    "earth": "earth",
    "wattle_and_daub": "earth",
    "rubble": "rubble",
    "rubble_stone": "rubble",
    "stone": "stone",
    "sandstone": "stone",
    "limestone": "stone",
    "marble": "stone",
    "granite": "stone",
    "unreinforced_masonry": "unreinforced_masonry",
    # masonry as given (class B-C)
    "brick": "brick",
    "bricks": "brick",
    "masonry": "masonry",
    "cement_block": "masonry",
    "cement_blocks": "masonry",
    "sand_cement_blocks": "masonry",
    "concrete_block": "masonry",
    "concrete_blocks": "masonry",
    "block": "masonry",
    "non_engineered_reinforced_concrete": "rc_non_engineered",
    # frames and reinforced walls (class D-E)
    "concrete": "reinforced_concrete",
    "reinforced_concrete": "reinforced_concrete",
    "rcc": "reinforced_concrete",
    "rcc_with_beam": "reinforced_concrete",
    "engineered_reinforced_concrete": "reinforced_concrete",
    "reinforced_masonry": "reinforced_masonry",
    "confined_masonry": "reinforced_masonry",
    "steel": "steel",
    "steel_frame": "steel",
    "metal": "steel",
    "metal_plates": "steel",
    "wood": "timber",
    "timber": "timber",
    "timber_framing": "timber",
    "timber_frame": "timber",
    "wood_frame": "timber",
    "wooden": "timber",
    "logs": "timber",
    "bamboo": "timber",  # light and flexible, as timber
}
STRUCTURE_CLASSES |= {c: c for c in set(STRUCTURE_CLASSES.values())}  # a layer geoapp wrote keeps its classes
# Columns read, first found value wins: construction method, bare structure, facade (GDAL's "_" spellings too).
STRUCTURE_COLUMNS = (
    ("building:structure", "building_structure"),
    ("structure",),
    ("building:material", "building_material"),
)


def normalise(values: pd.Series) -> pd.Series:
    """Each OSM value as its structure class (NA when it says nothing of the structure).

    ``a;b`` lists take their first value that maps."""
    text = values.astype("string").str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    parts = text.str.split(";").explode().str.strip("_")
    # groupby.first skips NA: the first value of a list that maps
    out = parts.map(STRUCTURE_CLASSES).groupby(level=0).first().reindex(text.index)
    return out.astype("string")


def structure_from_tags(raw: pd.DataFrame) -> pd.Series | None:
    """The structure class of each row of ``raw`` from its OSM structure/material columns; None when ``raw``
    has none of them or none of its values maps (so a layer without the tags keeps the building schema)."""
    out: pd.Series | None = None
    for names in STRUCTURE_COLUMNS:
        name = next((n for n in names if n in raw.columns), None)
        if name is None:
            continue
        mapped = normalise(raw[name].reset_index(drop=True))
        out = mapped if out is None else out.fillna(mapped)
    if out is None or out.isna().all():
        return None
    return out.astype("string")
