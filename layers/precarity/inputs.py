"""Inputs of the precarity index from files (``geoapp precarity``); the build step is in :mod:`.step`.

People come from the population layer placed on the hazard by
:func:`layers.hazard.population.people_on_hazard` (points at cell centres with
``people`` and ``hazard_class``) or :func:`~layers.hazard.population.census_on_hazard`.
Without population the hazard shares are taken over buildings (each
building's all-touched class, or the exposure result's ``hazard_class``) and
population-based figures are left out.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.errors import InvalidInputError
from layers.precarity.grid import DEFAULT_RESOLUTION
from layers.precarity.index import DEFAULT_THRESHOLD, PrecarityResult, precarity_index
from layers.settings import ROAD_DISTANCE_M

REPORT_BOUNDARY_CATEGORY = "community_boundary"


def parse_weights(spec: str | dict | None) -> dict[str, str | float]:
    """``"hazard_score:3,data_completeness:0.5"`` (or a table) into ``{indicator: weight}``; checked later."""
    if spec is None or spec == "":
        return {}
    if isinstance(spec, dict):
        return dict(spec)
    out: dict[str, str | float] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, sep, value = part.partition(":")
        if not sep:
            raise InvalidInputError(
                f"weight '{part}' must be INDICATOR:WEIGHT, e.g. 'hazard_score:3,data_completeness:0'"
            )
        out[name.strip()] = value.strip()
    return out


def community_boundaries(reports: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Published ``community_boundary`` reports (polygons drawn or uploaded by the community), or None."""
    if reports is None or reports.empty or "category" not in reports:
        return None
    keep = reports["category"].astype("string").eq(REPORT_BOUNDARY_CATEGORY).fillna(False)
    if "status" in reports:
        keep &= reports["status"].astype("string").eq("published").fillna(False)
    out = reports[keep.to_numpy() & reports.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]
    if out.empty:
        return None
    out = out.reset_index(drop=True)
    if "name" not in out and "attributes" in out:  # stored reports keep extra fields in an ``attributes`` dict
        out["name"] = [a.get("name") if isinstance(a, dict) else None for a in out["attributes"]]
    cols = [c for c in ("id", "name", "description", "observed_at") if c in out]
    return out[cols + [out.geometry.name]]


def needs_reports(reports: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The point reports (everything but community boundaries)."""
    if reports is None or reports.empty:
        return None
    return reports[reports.geom_type.isin(["Point", "MultiPoint"]).to_numpy()]


def precarity_from_files(
    buildings: str | Path | None = None,
    *,
    osm: str | Path | None = None,
    roads: str | Path | None = None,
    facilities: str | Path | None = None,
    hazard: str | Path | None = None,
    hazard_field: str | None = None,
    classes: str | None = None,
    population: str | Path | None = None,
    population_field: str | None = None,
    population_units: str = "count",
    population_scale: float | None = None,
    boundaries: str | Path | None = None,
    boundary_name: str | None = None,
    reports: str | Path | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    weights: str | dict | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_classes: int = 5,
    road_distance_m: float = ROAD_DISTANCE_M,
    progress: bool = False,
) -> PrecarityResult:
    """The precarity index from files (what ``geoapp precarity`` runs); layers in the buildings' UTM zone.

    ``osm`` (.osm, .osm.bz2, .pbf) gives the buildings, roads and facilities not given as files. Without
    ``facilities`` (or OSM), the buildings whose amenity or type names a facility are used.
    """
    from layers.io.usable import warn_outside
    from layers.io.vectors import boundaries_from_file

    if boundaries is not None and not boundary_name:
        raise InvalidInputError("--boundaries needs --boundary-name, the field holding each unit's name")
    b, r, f = _vector_inputs(buildings, roads, facilities, osm)
    crs = b.crs
    units = boundaries_from_file(boundaries, name_field=boundary_name, crs=crs) if boundaries else None
    rep = read_reports(reports, crs=crs) if reports else None
    for what, layer in (("roads", r), ("facilities", f), ("boundaries", units), ("field reports", rep)):
        warn_outside(layer, b, what=what)
    people, class_names = None, None
    if hazard is not None or population is not None:
        people, class_names, b_class = _hazard_and_people(
            b,
            hazard=hazard,
            hazard_field=hazard_field,
            classes=classes,
            population=population,
            population_field=population_field,
            population_units=population_units,
            population_scale=population_scale,
        )
        if b_class is not None:
            b = b.assign(hazard_class=b_class)
    return precarity_index(
        b,
        roads=r,
        facilities=f,
        people=people,
        hazard_classes=class_names,
        reports=needs_reports(rep),
        boundaries=units,
        resolution=resolution,
        weights=parse_weights(weights),
        threshold=threshold,
        n_classes=n_classes,
        road_distance_m=road_distance_m,
        progress=progress,
    )


def read_reports(path: str | Path, *, crs) -> gpd.GeoDataFrame:
    """Field reports (points, community polygons) from a file, in ``crs``; they need a ``category`` column."""
    from layers.io.vectors import column, read_vector

    rep = read_vector(path, what="field reports")
    category = column(rep, "category")
    if len(rep) and category is None:
        fields = [c for c in rep.columns if c != rep.geometry.name]
        raise InvalidInputError(
            f"field reports file {path} has no 'category' column (fields: {fields}); "
            "give the published reports exported by geoapp"
        )
    if category is not None and category.name != "category":
        rep = rep.rename(columns={category.name: "category"})
    return rep.to_crs(crs)


def _vector_inputs(buildings, roads, facilities, osm):
    """Buildings (in their UTM zone), roads and facilities from files, the rest from the OSM file."""
    from layers.io.osm import buildings_from_osm, facilities_from_osm, is_osm_file, roads_from_osm
    from layers.io.vectors import (
        buildings_from_file,
        facilities_from_buildings,
        facilities_from_file,
        read_vector,
        roads_from_file,
    )

    if buildings is None and osm is None:
        raise InvalidInputError("give --buildings FILE or --osm FILE (an OSM extract with buildings)")
    if osm is not None and not is_osm_file(osm):
        raise InvalidInputError(f"--osm {osm} is not an OSM file (.osm, .osm.bz2, .pbf); give GIS files as --buildings")
    b = buildings_from_file(buildings) if buildings else buildings_from_osm(osm)
    crs = b.crs
    r = roads_from_file(roads, crs=crs) if roads else (roads_from_osm(osm, crs=crs) if osm else None)
    if facilities:
        f = facilities_from_file(facilities, crs=crs)
    elif osm:
        f = facilities_from_osm(osm, crs=crs)
    else:  # facilities mapped as buildings (amenity / type), as an area does without a facilities file
        f = facilities_from_buildings(read_vector(buildings, what="buildings"), crs=crs) if roads else None
    return b, r, f


def people_and_classes(buildings, hazard, pop_grid=None, census=None):
    """(people points or None, class names or None, building class names or None)."""
    from layers.hazard.population import census_on_hazard, people_on_hazard
    from layers.hazard.sampling import geometry_hazard
    from layers.hazard.sources import HazardRaster
    from layers.io.usable import warn_outside

    crs = buildings.crs
    names = list(hazard.classes.names) if hazard is not None else None
    if pop_grid is not None:
        people = people_on_hazard(pop_grid, hazard, crs=crs)[0]
    elif census is not None:
        people = census_on_hazard(census, hazard, crs=crs)[0]
    else:
        people = None
    b_class = None
    if people is None and hazard is not None:
        sampled = geometry_hazard(buildings.geometry, hazard)
        if isinstance(hazard, HazardRaster) and len(sampled) and sampled["depth_max_m"].isna().all():
            warnings.warn(
                f"every building lies on nodata cells of the hazard {hazard.path}; none can be classed", stacklevel=2
            )
        b_class = class_names_of(sampled["hazard_class"].to_numpy(np.int64), list(hazard.classes.names))
    if people is not None and hazard is None:
        people = people.drop(columns="hazard_class")
    if people is not None:
        warn_outside(people, buildings, what="population")
    return people, names, b_class


def class_names_of(idx: np.ndarray, names: list[str]) -> pd.api.extensions.ExtensionArray:
    from layers.hazard.classes import class_names  # the one class-name helper

    return class_names(idx, names)


def _hazard_and_people(
    buildings, *, hazard, hazard_field, classes, population, population_field, population_units, population_scale
):
    from layers.hazard.population import read_census, read_population
    from layers.hazard.sources import check_overlap, open_hazard

    hz = open_hazard(hazard, classes=classes, field=hazard_field) if hazard is not None else None
    if hz is not None:
        check_overlap(hz, buildings, what="buildings")
    grid = census = None
    if population is not None and population_field:
        census = read_census(population, field=population_field)
    elif population is not None:
        grid = read_population(population, units=population_units, scale=population_scale or 1.0)
    return people_and_classes(buildings, hz, grid, census)
