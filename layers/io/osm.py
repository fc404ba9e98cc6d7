"""Buildings, roads and facilities from raw OpenStreetMap files (.osm, .osm.bz2, .osm.pbf).

Read with GDAL's OSM driver (through pyogrio), which handles both XML and
PBF in compiled code. Tags GDAL does not expose as columns arrive in its
``other_tags`` hstore text and are pulled out with vectorised regexes.
"""

from __future__ import annotations

import bz2
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.errors import InvalidInputError
from layers.io.vectors import buildings_from_frame, facilities_from_frame, roads_from_frame

OSM_SUFFIXES = (".osm", ".osm.bz2", ".pbf", ".osm.pbf")

# Highway values people can walk or drive on (not proposed/construction/abandoned ways).
ROUTABLE_HIGHWAYS = {
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
    "track",
    "pedestrian",
    "footway",
    "path",
    "steps",
    "cycleway",
    "bridleway",
    "corridor",
}


def is_osm_file(path: str | Path) -> bool:
    name = str(path).lower()
    return name.endswith(OSM_SUFFIXES)


def tag(other_tags: pd.Series, key: str) -> pd.Series:
    """Value of ``key`` in GDAL's ``other_tags`` (``"k"=>"v","k2"=>"v2"``), NA when absent."""
    pattern = '"' + key.replace(":", r"\:").replace(".", r"\.") + r'"=>"((?:[^"\\]|\\.)*)"'
    return other_tags.astype("string").str.extract(pattern, expand=False)


@contextmanager
def _readable(path: Path) -> Iterator[Path]:
    """GDAL reads .osm and .pbf directly; a .bz2 is streamed to a temporary .osm first."""
    if not path.exists():
        raise InvalidInputError(f"OSM file {path} does not exist")
    if path.suffix.lower() != ".bz2":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="geoapp-osm-") as tmp:
        out = Path(tmp) / path.with_suffix("").name
        with bz2.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
        yield out


def read_osm_layer(path: str | Path, layer: str) -> gpd.GeoDataFrame:
    """One of GDAL's OSM layers: ``points``, ``lines``, ``multipolygons``."""
    path = Path(path)
    with _readable(path) as readable:
        try:
            gdf = pyogrio.read_dataframe(readable, layer=layer)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InvalidInputError(f"cannot read OSM file {path}: {exc}") from None
    if "other_tags" not in gdf:
        gdf["other_tags"] = pd.NA
    return gdf


def _with_tags(gdf: gpd.GeoDataFrame, *keys: str) -> gpd.GeoDataFrame:
    for key in keys:
        col = key.replace(":", "_")
        if col not in gdf:
            gdf[col] = tag(gdf["other_tags"], key)
    return gdf


def _osm_ids(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Way id for ways, negative relation id for relations (so both fit one int64 column)."""
    way = pd.to_numeric(gdf.get("osm_way_id"), errors="coerce") if "osm_way_id" in gdf else None
    rel = pd.to_numeric(gdf["osm_id"], errors="coerce")
    return way.fillna(-rel) if way is not None else rel


def buildings_from_osm(path: str | Path, *, crs=None) -> gpd.GeoDataFrame:
    """Every ``building=*`` area of an OSM file in the building schema."""
    # building:structure / structure / building:material: the structure type earthquake damage reads
    tags = ("building:levels", "capacity", "building:structure", "structure", "building:material")
    polys = _with_tags(read_osm_layer(path, "multipolygons"), *tags)
    polys = polys[polys["building"].notna() & (polys["building"] != "no")].copy()
    polys["osm_way_id"] = _osm_ids(polys)
    # GDAL's own ``type`` column is the relation type (multipolygon), not the building's.
    polys = polys.drop(columns=["osm_id", "type"]).rename(columns={"building_levels": "levels", "building": "type"})
    return buildings_from_frame(polys, crs=crs, source=str(path))


def roads_from_osm(path: str | Path, *, crs=None) -> gpd.GeoDataFrame:
    """Every routable ``highway=*`` way (footways and paths included: in informal settlements they are the network)."""
    lines = _with_tags(read_osm_layer(path, "lines"), "oneway")
    lines = lines[lines["highway"].isin(ROUTABLE_HIGHWAYS)].copy()
    return roads_from_frame(lines, crs=crs, source=str(path))


def facilities_from_osm(path: str | Path, *, crs=None) -> gpd.GeoDataFrame:
    """Amenities mapped as nodes or areas (``amenity``, ``healthcare``, ``emergency=assembly_point``)."""
    frames = []
    for layer in ("points", "multipolygons"):
        gdf = _with_tags(read_osm_layer(path, layer), "amenity", "healthcare", "emergency", "capacity")
        if layer == "multipolygons":
            gdf["osm_id"] = _osm_ids(gdf)
            gdf = gdf.drop(columns=["osm_way_id"])
        else:
            gdf["osm_id"] = pd.to_numeric(gdf["osm_id"], errors="coerce")
        gdf["amenity"] = gdf["amenity"].fillna(gdf["emergency"].where(gdf["emergency"] == "assembly_point"))
        frames.append(gdf[["osm_id", "amenity", "healthcare", "name", "capacity", "geometry"]])
    raw = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    raw = raw[raw["amenity"].notna() | raw["healthcare"].notna()]
    return facilities_from_frame(raw, crs=crs)
