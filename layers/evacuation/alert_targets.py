"""Who to alert after a scenario build: neighbourhoods with people affected, each with its nearest safe shelter.

Reads the built GeoPackage (``exposure_areas`` and ``shelters`` of one scenario) and answers one row per
affected unit: ``boundary, area_id, name, pop_affected, shelter, shelter_m`` (the safe shelter nearest
to the unit's representative point, and how far, in the layers' metric CRS).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.errors import MissingInputError, NotFoundError

COLUMNS = ["boundary", "area_id", "name", "pop_affected", "shelter", "shelter_m"]


def alert_targets(
    gpkg: str | Path, scenario: str, *, boundary: str | None = None, min_people: float = 1.0
) -> pd.DataFrame:
    """Units of ``scenario`` with at least ``min_people`` affected (one boundary set, or every set)."""
    path = Path(gpkg)
    if not path.exists():
        raise MissingInputError(f"no build at {path}: run `geoapp build` first", input="build")
    names = set(pyogrio.list_layers(path)[:, 0])
    if "exposure_areas" not in names:
        raise MissingInputError(f"the build {path} has no exposure_areas layer (no boundaries?)", input="exposure")
    where = f"scenario = '{scenario.replace(chr(39), chr(39) * 2)}'"
    units = gpd.read_file(path, layer="exposure_areas", where=where, engine="pyogrio")
    if units.empty:
        raise NotFoundError(f"the build has no scenario {scenario!r}")
    if boundary is not None:
        units = units[units["boundary"] == boundary]
    units = units[units["pop_affected"].fillna(0) >= min_people].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "boundary": units["boundary"].astype(str),
            "area_id": units["area_id"].astype(str),
            "name": units["name"].astype("string"),
            "pop_affected": units["pop_affected"].astype(float),
            "shelter": pd.Series(pd.NA, index=units.index, dtype="string"),
            "shelter_m": float("nan"),
        }
    )
    if units.empty or "shelters" not in names:
        return out[COLUMNS]
    shelters = gpd.read_file(path, layer="shelters", where=where, engine="pyogrio")
    if "safe" in shelters:
        shelters = shelters[shelters["safe"].astype(bool)]
    if shelters.empty:
        return out[COLUMNS]
    points = gpd.GeoDataFrame(geometry=units.geometry.representative_point(), crs=units.crs)
    near = gpd.sjoin_nearest(points, shelters[["name", "geometry"]].to_crs(units.crs), distance_col="shelter_m")
    near = near[~near.index.duplicated(keep="first")]
    out.loc[near.index, "shelter"] = near["name"].astype("string").fillna("shelter").to_numpy()
    out.loc[near.index, "shelter_m"] = near["shelter_m"].to_numpy()
    return out[COLUMNS]
