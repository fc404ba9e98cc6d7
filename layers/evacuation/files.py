"""``geoapp evacuate``: an evacuation plan from files (an OSM file, or roads and buildings layers).

Building **points** (door-to-door surveys, HOT exports) are buildings too: each point
stands for one structure with a default footprint, a square of ``POINT_FOOTPRINT_M2``
(36 m², 6 × 6 m) centred on it. The footprint gives the floor area of a shelter
(capacity = area × levels / 3.5 m² per person, so 10 people for a one-storey point)
and a building's share of a population cell; without a population raster every
building, point or polygon, holds ``people_per_building`` (4) people.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import EmptyLayerError, InvalidInputError
from layers.evacuation.assign import EvacuationResult
from layers.evacuation.memory import release_memory
from layers.evacuation.network import network_from_roads, require_edges
from layers.evacuation.step import evacuation_layers
from layers.settings import check_walk_speed

POINT_FOOTPRINT_M2 = 36.0  # a small one-storey dwelling, typical of the informal settlements surveyed by points


def evacuation_from_files(
    *,
    hazard: str,
    osm: str | None = None,
    roads: str | None = None,
    buildings: str | None = None,
    shelters: str | None = None,
    shelter_tags: str | None = None,
    capacity_field: str | None = None,
    classes: str | None = None,
    hazard_field: str | None = None,
    walk_speed_m_s: float = 1.0,
    building_routes: bool = False,
    progress: bool = False,
) -> tuple[dict[str, gpd.GeoDataFrame], EvacuationResult]:
    """``geoapp evacuate``: read the inputs, build the walk network, run :func:`evacuation_layers`.

    Roads come from ``osm`` or ``roads``; buildings (footprints or points, see the module docstring)
    from ``buildings`` or the OSM file; shelters from the ``shelters`` file (every feature a shelter)
    or from the facilities (OSM amenities, or the buildings' amenity/type attributes) of
    ``shelter_tags`` categories. ``capacity_field`` names the capacity column of the shelters or
    buildings file. ``hazard_field`` makes ``hazard`` vector zones classified by that attribute
    (``classes`` such as ``wet:yes``: roads touching a zone are closed). Works in the buildings' UTM zone.
    """
    from tqdm.auto import tqdm

    from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, parse_classes
    from layers.hazard.sources import open_hazard

    check_walk_speed(walk_speed_m_s)  # before minutes of reading and routing
    _check_options(osm=osm, roads=roads, buildings=buildings, shelters=shelters, shelter_tags=shelter_tags)
    if capacity_field and not (shelters or buildings):
        raise InvalidInputError("--capacity-field names a field of a --shelters or --buildings file; give one of them")
    scheme = parse_classes(classes or DEFAULT_FLOOD_CLASSES)
    opened = open_hazard(hazard, classes=scheme, field=hazard_field)
    with tqdm(total=4, desc="evacuate", unit="step", disable=not progress) as bar:  # closed on error too
        b, r, f, categories = _read_inputs(osm, roads, buildings, shelters, shelter_tags, capacity_field)
        release_memory()  # the raw frames read
        bar.update()
        source = roads or osm or "roads"
        net = require_edges(network_from_roads(r, mode="walk", source=source), source)
        del r  # the network holds the edges; the road lines are not needed while routing
        release_memory()
        bar.update()
        layers, res = evacuation_layers(
            net,
            b,
            f,
            hazard=opened,
            classes=scheme,
            shelter_categories=categories,
            walk_speed_m_s=walk_speed_m_s,
            building_routes=building_routes,
            keep_snap_index=False,  # this network is routed once
        )
        bar.update(2)
    return layers, res


def _check_options(*, osm, roads, buildings, shelters, shelter_tags) -> None:
    if bool(osm) == bool(roads):
        raise InvalidInputError("give exactly one of --osm FILE or --roads PATH")
    if shelters and shelter_tags is not None:
        raise InvalidInputError("give --shelters PATH or --shelter-tags, not both")
    if not (buildings or osm):
        raise InvalidInputError("no buildings: give --buildings PATH (or an --osm file holding buildings)")


def _read_inputs(
    osm: str | None,
    roads: str | None,
    buildings: str | None,
    shelters: str | None,
    shelter_tags: str | None,
    capacity_field: str | None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, list[str] | None]:
    """Buildings, roads and facilities in the buildings' UTM zone, and the shelter categories."""
    from layers.io.crs import working_crs
    from layers.io.osm import buildings_from_osm, facilities_from_osm, roads_from_osm
    from layers.io.vectors import (
        buildings_from_frame,
        facilities_from_buildings,
        facilities_from_frame,
        read_vector,
        roads_from_file,
    )

    categories = shelter_categories_from_tags(shelter_tags) if shelter_tags is not None else None
    # The capacity field belongs to the shelters file when one is given, else to the buildings file.
    raw_b = None
    if buildings:
        raw_b = _with_capacity(
            read_vector(buildings, what="buildings"), None if shelters else capacity_field, buildings
        )
        if len(raw_b) == 0:
            raise EmptyLayerError(f"buildings: {buildings} has no features")
    osm_file = osm or ""  # read only when given (_check_options: buildings or osm, roads or osm)
    crs = working_crs(raw_b if raw_b is not None else roads_from_osm(osm_file))
    if raw_b is not None:
        raw_b = footprints_for_points(raw_b, crs)
        b = buildings_from_frame(raw_b, crs=crs, source=str(buildings))
    else:
        b = buildings_from_osm(osm_file, crs=crs)
    r = roads_from_osm(osm_file, crs=crs) if osm else roads_from_file(roads, crs=crs)
    if shelters:
        raw_s = _with_capacity(read_vector(shelters, what="shelters"), capacity_field, shelters)
        f = facilities_from_frame(raw_s, crs=crs, category="shelter")
        categories = ["shelter"]
    elif osm or raw_b is None:
        f = facilities_from_osm(osm_file, crs=crs)
    else:
        f = facilities_from_buildings(raw_b, crs=crs, source=str(buildings))
    return b, r, f, categories


def footprints_for_points(raw: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """``raw`` in ``crs`` (metric), each building point replaced by its default footprint: a square of
    ``POINT_FOOTPRINT_M2`` centred on it. Polygons are kept as they are."""
    geoms = raw.geometry.to_numpy()
    kind = shapely.get_type_id(geoms)
    points = (kind == 0) | (kind == 4)  # Point, MultiPoint (a point stored as a one-part multipoint)
    if not points.any():
        return raw
    out = raw.to_crs(crs) if raw.crs is not None else raw.set_crs(crs)
    geoms = out.geometry.to_numpy().copy()
    centre = shapely.centroid(geoms[points])
    half = np.sqrt(POINT_FOOTPRINT_M2) / 2.0
    x, y = shapely.get_x(centre), shapely.get_y(centre)
    geoms[points] = shapely.box(x - half, y - half, x + half, y + half)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))


def shelter_categories_from_tags(spec: str) -> list[str]:
    """``"amenity=school,amenity=place_of_worship"`` → ``["school", "place_of_worship"]`` (normalised categories)."""
    from layers.io.categories import category_from_values

    tags = [t.strip() for t in spec.split(",") if t.strip()]
    if not tags:
        raise InvalidInputError("--shelter-tags is empty; expected e.g. 'amenity=school,amenity=place_of_worship'")
    values = []
    for t in tags:
        key, sep, value = t.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInputError(f"shelter tag '{t}' must be KEY=VALUE, e.g. amenity=school")
        values.append(value.strip())
    cats = category_from_values(pd.Series(values))
    bad = [t for t, c in zip(tags, cats, strict=True) if pd.isna(c)]
    if bad:
        raise InvalidInputError(f"shelter tag(s) {', '.join(bad)} name no known facility type (e.g. amenity=school)")
    return sorted(set(cats))


def _with_capacity(raw: gpd.GeoDataFrame, field: str | None, path: str) -> gpd.GeoDataFrame:
    """The raw frame with ``field`` as its capacity column (loaders parse "capacity")."""
    if not field:
        return raw
    lower = {str(c).lower(): c for c in raw.columns}
    if field.lower() not in lower:
        raise InvalidInputError(
            f"--capacity-field '{field}' is not a field of {path}; fields are {list(raw.columns[:-1])}"
        )
    src = lower[field.lower()]
    keep = [c for c in raw.columns if str(c).lower() != "capacity" or c == src]
    return raw[keep].rename(columns={src: "capacity"})
