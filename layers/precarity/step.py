"""The precarity build step: the index of an area from the layers earlier steps built."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.area import Area
from layers.build import Layers
from layers.errors import AreaConfigError, GeoappError, NotFoundError
from layers.precarity.composite import check_weights
from layers.precarity.grid import DEFAULT_RESOLUTION
from layers.precarity.index import DEFAULT_THRESHOLD, precarity_index
from layers.precarity.inputs import class_names_of, community_boundaries, needs_reports, people_and_classes


def precarity_step(area: Area, built: Layers) -> Layers:
    """Build step: ``precarity_cells``, ``precarity_areas`` (first boundary set), ``precarious_neighbourhoods``,
    and ``community_boundaries`` when published ones exist.

    Uses what earlier steps built when present: ``buildings``, ``roads``, ``facilities``,
    ``field_reports`` (published reports, points and community polygons) and, for the
    hazard, the area's first scenario on the population grid (or ``exposure_buildings``'
    classes when the area has no population); ``[precarity] hazards = {id = weight, ...}`` weights several
    scenarios into one ``hazard_score`` (the weighted mean of each one's score).
    """
    settings = _settings(area)
    buildings = built.get("buildings")
    buildings = area.buildings() if buildings is None else buildings
    roads = built.get("roads")
    if roads is None:
        roads = _optional(area.roads)
    facilities = built.get("facilities")
    if facilities is None:
        facilities = _optional(area.facilities)
    units = None
    if area.boundaries:
        units = built.get(f"boundaries_{area.boundaries[0].id}")
        units = area.boundary_layer(area.boundaries[0].id) if units is None else units
    reports = built.get("field_reports")
    people, class_names = None, None
    if area.hazards:
        people, class_names, b_class = _area_hazard_and_people(area, buildings, built)
        if b_class is not None:
            buildings = buildings.assign(hazard_class=b_class)
    res = precarity_index(
        buildings,
        roads=roads,
        facilities=facilities,
        people=people,
        hazard_classes=class_names,
        reports=needs_reports(reports),
        boundaries=units,
        **settings,
    )
    out = res.layers()
    community = community_boundaries(reports)
    if community is not None:
        out["community_boundaries"] = community.to_crs(area.crs)
    return out


def _settings(area) -> dict:
    """The ``[precarity]`` table checked up front; a bad value is an AreaConfigError naming its key and file."""
    cfg = dict(area.precarity)
    resolution = int(cfg.get("h3_resolution", DEFAULT_RESOLUTION))
    threshold = float(cfg.get("threshold", DEFAULT_THRESHOLD))
    n_classes = int(cfg.get("classes", 5))
    road_distance_m = float(cfg.get("road_distance_m", 50.0))
    weights = cfg.get("weights")
    checks = {
        "h3_resolution": (0 <= resolution <= 15, "must be between 0 and 15 (9 ≈ 0.1 km² cells)"),
        "threshold": (0 < threshold <= 1, "must be in (0, 1]: it is compared with the index"),
        "classes": (n_classes >= 2, "must be at least 2 (5 = quintiles)"),
        "road_distance_m": (road_distance_m > 0, "must be a positive distance in metres"),
    }
    for key, (ok, why) in checks.items():
        if not ok:
            raise AreaConfigError(f"{cfg[key]!r} {why}", key=f"precarity.{key}", path=str(area.toml_path))
    try:
        check_weights(weights)
    except GeoappError as exc:
        raise AreaConfigError(str(exc), key="precarity.weights", path=str(area.toml_path)) from None
    return {
        "resolution": resolution,
        "threshold": threshold,
        "n_classes": n_classes,
        "road_distance_m": road_distance_m,
        "weights": weights,
    }


def _optional(loader):
    try:
        return loader()
    except NotFoundError:
        return None


def _hazard_weights(area) -> dict[str, float]:
    """``[precarity] hazards = {scenario = weight, ...}`` checked against the scenarios ({} when not set)."""
    table = area.precarity.hazards or {}
    ids = [h.id for h in area.hazards]
    out = {}
    for sid, w in table.items():
        if sid not in ids:
            raise AreaConfigError(
                f"'{sid}' is not a hazard scenario; scenarios are {ids}",
                key="precarity.hazards",
                path=str(area.toml_path),
            )
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not w > 0:
            raise AreaConfigError(
                f"weight {w!r} of '{sid}' must be a positive number", key="precarity.hazards", path=str(area.toml_path)
            )
        out[sid] = float(w)
    return out


def _area_hazard_and_people(area, buildings, built: dict):
    """The first scenario, on the area's population; building classes from ``exposure_buildings`` when built."""
    from layers.hazard.population import read_census, read_population
    from layers.hazard.sources import open_hazard

    weights = _hazard_weights(area)
    pop = area.population
    if len(weights) >= 2 and pop is not None and pop.kind != "vector":
        # Several hazards weighted into one hazard_score (layers.hazard.combined.weighted_people).
        from layers.hazard.combined import weighted_people

        hazards = {h.id: open_hazard(h) for h in area.hazards if h.id in weights}
        grid = read_population(pop.path, units=pop.units, scale=pop.scale)
        people, names = weighted_people(grid, hazards, weights, crs=buildings.crs)
        return people, names, None
    spec = area.hazard(next(iter(weights))) if weights else area.hazards[0]
    hz = open_hazard(spec)
    if pop is not None:
        if pop.kind == "vector":
            return people_and_classes(buildings, hz, census=read_census(pop.path, field=pop.field))
        return people_and_classes(buildings, hz, read_population(pop.path, units=pop.units, scale=pop.scale))
    exposed = built.get("exposure_buildings")
    if exposed is not None and {"building_id", "hazard_class", "scenario"} <= set(exposed.columns):
        rows = exposed[exposed["scenario"] == spec.id].drop_duplicates("building_id").set_index("building_id")
        names = list(hz.classes.names)
        cls = buildings["building_id"].map(rows["hazard_class"])
        if pd.api.types.is_numeric_dtype(cls):  # class index, -1 / NaN = not affected
            return None, names, class_names_of(cls.fillna(-1).to_numpy(np.int64), names)
        return None, names, cls.astype("string").to_numpy()
    return people_and_classes(buildings, hz)
