"""The evacuation build step, and every layer an evacuation plan publishes for one hazard scenario."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.area import Area
from layers.build import Layers
from layers.errors import InvalidInputError
from layers.evacuation.assign import EvacuationResult, evacuate
from layers.evacuation.closures import without_edges
from layers.evacuation.graph import edge_depth_m
from layers.evacuation.network import Network, network_from_roads, require_edges
from layers.evacuation.shelters import debris_closed_edges
from layers.hazard.kinds import get_kind


def evacuation_layers(
    network: Network,
    buildings: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame | None,
    *,
    hazard=None,
    classes=None,
    shelters: gpd.GeoDataFrame | None = None,
    extra_shelters: gpd.GeoDataFrame | None = None,
    shelter_categories=None,
    capacity_field: str | None = None,
    m2_per_person: float | None = None,
    default_capacity: float | None = None,
    population=None,
    people_default: float = 4.0,
    walk_speed_m_s: float = 1.0,
    max_walk_depth_m: float = 0.5,
    max_snap_m: float = 500.0,
    building_routes: bool = False,
    scenario: str | None = None,
    hazard_on_roads: bool = True,
    keep_snap_index: bool = True,
) -> tuple[dict[str, gpd.GeoDataFrame], EvacuationResult]:
    """Everything an evacuation plan publishes, for one hazard scenario.

    Hazard depth along each edge and at each shelter site (``hazard``: raster path or
    :class:`~layers.area.HazardSpec`), shelters (:func:`layers.evacuation.shelters.shelters_from_facilities`
    unless ``shelters`` is given, with ``shelter_id``, ``capacity``, ``safe``), people per
    building, the assignment, then catchments and unreachable zones. Layers: ``shelters``,
    ``evacuation_buildings``, ``evacuation_routes``, ``catchments``, ``unreachable`` (and
    ``evacuation_building_routes`` when asked), each with a ``scenario`` column when given.
    ``hazard_on_roads`` False (hazards that are not water: shaking, ash, zones): every road is walkable,
    the hazard only decides which shelters are safe. ``keep_snap_index`` False: the network's snapping
    index is dropped once everything is snapped (a one-off run, see :func:`~layers.evacuation.assign.evacuate`).
    """
    from layers.evacuation.catchments import catchments_and_unreachable
    from layers.evacuation.shelters import DEFAULT_SHELTER_CATEGORIES, M2_PER_PERSON, shelters_from_facilities

    depth = edge_depth_m(network, hazard, classes=classes) if hazard is not None and hazard_on_roads else None
    if depth is not None and not (depth > 0).any():
        warnings.warn(
            f"the hazard {getattr(hazard, 'path', hazard)} does not reach any edge of the network "
            "(does it cover this area?): every road is treated as dry",
            stacklevel=2,
        )
    if shelters is None:
        if facilities is None:
            raise InvalidInputError("give facilities (to pick shelters from) or a shelters layer")
        shelters = shelters_from_facilities(
            facilities,
            buildings=buildings,
            categories=shelter_categories or DEFAULT_SHELTER_CATEGORIES,
            extra=extra_shelters,
            capacity_field=capacity_field,
            m2_per_person=m2_per_person or M2_PER_PERSON,
            default_capacity=default_capacity,
            hazard=hazard,
            classes=classes,
        )
    res = evacuate(
        network,
        buildings,
        shelters,
        depth_m=depth,
        people=people_per_building(buildings, population, default=people_default),
        walk_speed_m_s=walk_speed_m_s,
        max_walk_depth_m=max_walk_depth_m,
        max_snap_m=max_snap_m,
        building_routes=building_routes,
        keep_snap_index=keep_snap_index,
    )
    catch, lost = catchments_and_unreachable(res.buildings)
    layers = {
        "shelters": res.shelters,
        "evacuation_buildings": res.buildings,
        "evacuation_routes": res.routes,
        "catchments": catch,
        "unreachable": lost,
    }
    if res.building_routes is not None:
        layers["evacuation_building_routes"] = res.building_routes
    if scenario is not None:
        layers = {name: gdf.assign(scenario=scenario) for name, gdf in layers.items()}
    return layers, res


def people_per_building(
    buildings: gpd.GeoDataFrame,
    population=None,
    *,
    units: str = "count",
    scale: float = 1.0,
    default: float = 4.0,
) -> np.ndarray:
    """People in each building: each population cell's people shared among the buildings whose
    centroid lies in the cell, in proportion to footprint area; ``default`` off the raster.

    ``population`` is a raster path or a :class:`~layers.area.PopulationSpec` (its ``units`` and
    ``scale`` then apply), read by :func:`layers.hazard.population.read_population` (nodata = 0 people).
    None = ``default`` for every building.
    """
    from layers.hazard.population import read_population

    n = len(buildings)
    if population is None:
        return np.full(n, float(default))
    if getattr(population, "field", None):
        raise InvalidInputError("population polygons are not supported for evacuation; give a population raster")
    grid = read_population(
        getattr(population, "path", population),
        units=getattr(population, "units", units),
        scale=float(getattr(population, "scale", scale)),
    )
    height, width = grid.people.shape
    cent = buildings.geometry.centroid
    if buildings.crs is not None:
        cent = cent.to_crs(grid.crs)
    inv = ~grid.transform
    x, y = cent.x.to_numpy(), cent.y.to_numpy()
    col = np.floor(inv.a * x + inv.b * y + inv.c).astype(np.int64)
    row = np.floor(inv.d * x + inv.e * y + inv.f).astype(np.int64)
    inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
    cell = np.where(inside, row * width + col, 0)
    area = buildings.geometry.area.to_numpy()
    total_area = np.zeros(height * width)
    np.add.at(total_area, cell[inside], area[inside])
    out = np.full(n, float(default))
    tot = total_area[cell[inside]]
    share = np.divide(area[inside], tot, out=np.zeros(int(inside.sum())), where=tot > 0)
    out[inside] = grid.people.ravel()[cell[inside]] * share
    return out


def evacuation_step(area: Area, built: Layers) -> Layers:
    """Build step: every evacuation and access layer for every hazard scenario of ``area``.

    Uses the ``[shelters]`` and ``[evacuation]`` sections of area.toml, published field reports of
    category ``shelter_site`` (a ``field_reports`` layer built earlier) as extra shelters, and the
    first boundary set for emergency access. Layers carry a ``scenario`` column.
    """
    from tqdm.auto import tqdm

    cfg, shl = area.evacuation, area.shelters
    buildings = built["buildings"] if "buildings" in built else area.buildings()
    roads = built["roads"] if "roads" in built else area.roads()
    facilities = built["facilities"] if "facilities" in built else area.facilities()
    capacity_field = shl.capacity_field
    if capacity_field and capacity_field not in facilities.columns and capacity_field.lower() == "capacity":
        capacity_field = None  # the loaders already parsed the capacity attribute into ``capacity``
    source = str(area.roads_path or area.osm_path or f"roads of area '{area.name}'")
    walk = require_edges(network_from_roads(roads, mode="walk", source=source), source)
    drive = network_from_roads(roads, mode="drive", source=source)
    # Roads closed by published field reports are taken out of both networks (layers.evacuation.closures).
    from layers.evacuation.closures import apply_closures

    nets, closures = apply_closures(
        {"walk": walk, "drive": drive}, built.get("field_reports"), distance_m=cfg.closure_distance_m
    )
    walk, drive = nets["walk"], nets["drive"]
    boundaries = area.boundary_layer() if area.boundaries else None
    extra = _published_shelter_sites(built.get("field_reports"))
    parts: dict[str, list[gpd.GeoDataFrame]] = {}
    for hz in tqdm(area.hazards, desc="evacuation", unit="scenario", leave=False, disable=None):  # None: on a TTY
        # Each kind its destinations (layers/hazard/kinds): earthquake -> open spaces, roads by heavily
        # damaged buildings closed; floods -> dry shelters around deep water; zones -> shelters outside them.
        kind = get_kind(hz.hazard_kind)
        net, destinations = walk, None
        if kind.evacuation == "open_space":
            destinations = _open_spaces(area, buildings.crs)
            if destinations is None:
                continue
            net = without_edges(walk, debris_closed_edges(walk, _scenario_rows(built, "exposure_buildings", hz.id)))
        layers, _ = evacuation_layers(
            net,
            buildings,
            facilities,
            hazard=hz,
            shelters=destinations,
            hazard_on_roads=kind.measure == "depth",
            extra_shelters=extra,
            shelter_categories=shl.categories,
            capacity_field=capacity_field,
            m2_per_person=shl.m2_per_person,
            default_capacity=shl.default_capacity,
            population=area.population,
            people_default=cfg.people_per_building,
            walk_speed_m_s=cfg.walk_speed_m_s,
            max_walk_depth_m=cfg.max_walk_depth_m,
            scenario=hz.id,
        )
        if boundaries is not None:
            layers.update(_emergency_layers(area, drive, facilities, boundaries, hz))
        for name, gdf in layers.items():
            parts.setdefault(name, []).append(gdf)
    out = {name: gpd.GeoDataFrame(pd.concat(p, ignore_index=True), crs=p[0].crs) for name, p in parts.items()}
    return {**out, "road_closures": closures}


def _emergency_layers(area: Area, drive: Network, facilities, boundaries, hazard) -> Layers:
    """Emergency access per neighbourhood and drive-time isochrones for one scenario."""
    from layers.evacuation.access import emergency_access, isochrones

    cfg = area.evacuation
    access, node_time = emergency_access(
        drive,
        facilities,
        boundaries,
        depth_m=edge_depth_m(drive, hazard) if get_kind(hazard.hazard_kind).measure == "depth" else None,
        max_drive_depth_m=cfg.max_drive_depth_m,
        drive_speed_kph=cfg.drive_speed_kph,
    )
    return {
        "emergency_access": access.assign(scenario=hazard.id),
        "isochrones": isochrones(drive, node_time, minutes=cfg.isochrones_min).assign(scenario=hazard.id),
    }


def _open_spaces(area: Area, crs) -> gpd.GeoDataFrame | None:
    """Earthquake destinations: the open spaces of the area's OSM file (None, with a warning, without one)."""
    from layers.evacuation.shelters import open_space_shelters, open_spaces_from_osm

    if area.osm_path is None:
        warnings.warn(
            f"area '{area.name}': an earthquake evacuation needs open spaces (parks, pitches, grass, marketplaces) "
            "from an OSM file; set layers.osm in area.toml. Skipped for the earthquake scenarios",
            stacklevel=3,
        )
        return None
    return open_space_shelters(open_spaces_from_osm(area.osm_path, crs=crs), m2_per_person=None)


def _scenario_rows(built: Layers, name: str, scenario: str) -> gpd.GeoDataFrame:
    frame = built.get(name)
    if frame is None or "scenario" not in frame:
        return gpd.GeoDataFrame(geometry=[])
    return frame[frame["scenario"] == scenario]


def _published_shelter_sites(reports: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Published field reports of category ``shelter_site`` (None when there are none)."""
    if reports is None or len(reports) == 0 or "category" not in reports.columns:
        return None
    keep = reports["category"].astype("string").eq("shelter_site").fillna(False)
    if "status" in reports.columns:
        keep &= reports["status"].astype("string").eq("published").fillna(False)
    return reports[keep.to_numpy()] if keep.any() else None
