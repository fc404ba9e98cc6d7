"""Exposure of people, buildings, roads and facilities to one hazard scenario, per class and per unit.

Rules (what InaSAFE users expect):

* building: the highest class of any cell/zone it touches (all-touched), its
  ``depth_max_m`` and ``flooded_share`` (share of the footprint in a class);
* facility: the class of the building it came from when known, else the class
  at its point;
* road: length in each class, the lines cut by the class polygons;
* population: people per class on the hazard grid (see :mod:`layers.hazard.population`);
  displaced = Σ people in class × displacement rate of the class; weekly
  minimum needs of the displaced (:mod:`layers.hazard.needs`);
* units (boundaries): buildings and facilities by their representative point,
  people points by location, census pieces and roads cut by the units.

Every sum is float64. :func:`exposure` returns an :class:`ExposureResult`;
:meth:`ExposureResult.summary` is the ``geoapp exposure --json`` object and
:meth:`ExposureResult.layers` the ``exposure_*`` GeoPackage layers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError
from layers.hazard.needs import PROFILES, check_profile, minimum_needs
from layers.hazard.population import PopulationGrid, census_on_hazard, people_on_hazard, units_on_grid
from layers.hazard.sources import Hazard, HazardRaster, check_overlap, geometry_hazard
from layers.io.crs import working_crs


@dataclass
class ExposureResult:
    """Everything one scenario exposes; ``hazard_class`` columns hold class names (NA = not affected)."""

    classes: list[str]
    crs: object
    buildings: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    roads_total_km: float | None = None
    road_lengths: pd.DataFrame | None = None  # per road: road_id, road_class, length_m
    facilities: gpd.GeoDataFrame | None = None
    people: gpd.GeoDataFrame | None = None
    population_method: str | None = None
    displacement: dict[str, float] = field(default_factory=dict)
    needs: str = "bnpb"
    areas: gpd.GeoDataFrame | None = None

    # -- JSON -------------------------------------------------------------
    def summary(self) -> dict:
        """The ``geoapp exposure --json`` object; keys for inputs not given are omitted."""
        out: dict = {"classes": list(self.classes)}
        if self.people is not None:
            out["population"] = self._population_summary()
        if self.buildings is not None:
            b = self.buildings
            by_class = _counts(b["hazard_class"], self.classes)
            by_type = {
                str(t): _counts(g["hazard_class"], self.classes)
                for t, g in b.groupby(b["building_type"].astype("string").fillna("unknown"), sort=True)
            }
            out["buildings"] = {
                "total": int(len(b)),
                "affected": int(sum(by_class.values())),
                "by_class": by_class,
                "by_type": by_type,
            }
        if self.roads is not None:
            r = self.roads
            km = {c: _r(r.loc[r["hazard_class"] == c, "length_m"].sum() / 1000) for c in self.classes}
            by_road = {}
            for rc, g in r.groupby(r["road_class"].astype("string").fillna("unknown"), sort=True):
                by_road[str(rc)] = {c: _r(g.loc[g["hazard_class"] == c, "length_m"].sum() / 1000) for c in self.classes}
            out["roads"] = {
                "total_km": _r(self.roads_total_km or 0.0),
                "affected_km": _r(sum(km.values())),
                "by_class_km": km,
                "by_road_class_km": by_road,
            }
        if self.facilities is not None:
            f = self.facilities
            by_class = _counts(f["hazard_class"], self.classes)
            cats = f["category"].astype("string").fillna("other")
            by_cat = {str(c): _counts(g["hazard_class"], self.classes) for c, g in f.groupby(cats, sort=True)}
            hit = f[f["hazard_class"].notna()]
            rank = {c: i for i, c in enumerate(self.classes)}
            hit = hit.assign(_rank=hit["hazard_class"].map(rank)).sort_values(
                ["_rank", "category", "facility_id"], ascending=[False, True, True]
            )
            at_risk = [
                {
                    "facility_id": _py(r.facility_id),
                    "name": None if pd.isna(r.name) else str(r.name),
                    "category": None if pd.isna(r.category) else str(r.category),
                    "hazard_class": str(r.hazard_class),
                    "depth_m": None if pd.isna(r.depth_m) else _r(r.depth_m),
                }
                for r in hit.itertuples()
            ]
            out["facilities"] = {
                "total": int(len(f)),
                "affected": int(len(hit)),
                "by_class": by_class,
                "by_category": by_cat,
                "at_risk": at_risk,
            }
        if self.areas is not None:
            cols = [c for c in self.areas.columns if c not in ("geometry", "boundary", "scenario")]
            rows = self.areas[cols].to_dict(orient="records")
            out["by_area"] = [{k: _py(v) for k, v in row.items()} for row in rows]
        return out

    def _population_summary(self) -> dict:
        p = self.people
        total = float(p["people"].sum())
        by_class = {c: _r(float(p.loc[p["hazard_class"] == c, "people"].sum())) for c in self.classes}
        affected = float(p.loc[p["hazard_class"].notna(), "people"].sum())
        displaced = _displaced(by_class, self.displacement)
        pop = {
            "total": _r(total),
            "affected": _r(affected),
            "by_class": by_class,
            "displaced": _r(displaced),
            "method": self.population_method,
        }
        if self.needs != "none":
            pop["needs"] = minimum_needs(displaced, profile=self.needs)
            pop["needs_profile"] = self.needs
        return pop

    # -- layers -----------------------------------------------------------
    def layers(self, *, scenario: str | None = None, boundary: str | None = None) -> dict[str, gpd.GeoDataFrame]:
        """``exposure_buildings``, ``exposure_roads``, ``exposure_facilities``, ``exposure_areas`` (those computed)."""
        out = {}
        for name, frame in (
            ("exposure_buildings", self.buildings),
            ("exposure_roads", self.roads),
            ("exposure_facilities", self.facilities),
            ("exposure_areas", self.areas),
        ):
            if frame is None:
                continue
            frame = frame.copy()
            if name == "exposure_areas" and boundary is not None:
                frame.insert(0, "boundary", boundary)
            if scenario is not None:
                frame["scenario"] = scenario
            out[name] = frame
        return out


def _r(x: float) -> float:
    return round(float(x), 3)


def _py(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else _r(v)
    if v is pd.NA or v is None:
        return None
    return v


def _counts(col: pd.Series, classes: list[str]) -> dict[str, int]:
    vc = col.value_counts()
    return {c: int(vc.get(c, 0)) for c in classes}


def _displaced(by_class: dict[str, float], rates: dict[str, float]) -> float:
    return float(sum(by_class[c] * rates.get(c, 0.0) for c in by_class))


def default_displacement(classes: list[str]) -> dict[str, float]:
    """Everyone in the most severe class is displaced, nobody in the others (InaSAFE's ``wet`` rule)."""
    return {c: (1.0 if i == len(classes) - 1 else 0.0) for i, c in enumerate(classes)}


def _names(index: np.ndarray, classes: list[str]) -> pd.Series:
    names = np.array([*classes, None], dtype=object)
    idx = np.asarray(index, dtype=np.int64)
    return pd.Series(pd.array(names[np.where(idx >= 0, idx, len(classes))], dtype="string"))


# --------------------------------------------------------------------------
# Per layer
# --------------------------------------------------------------------------
def buildings_exposure(buildings: gpd.GeoDataFrame, hazard: Hazard, *, progress: bool = False) -> gpd.GeoDataFrame:
    """``building_id, building_type, hazard_class, depth_max_m, flooded_share, geometry`` for every building."""
    res = geometry_hazard(buildings.geometry, hazard, share=True, progress="buildings" if progress else None)
    return gpd.GeoDataFrame(
        {
            "building_id": buildings["building_id"].to_numpy()
            if "building_id" in buildings
            else np.arange(1, len(buildings) + 1),
            "building_type": buildings["building_type"].to_numpy() if "building_type" in buildings else "building",
            "hazard_class": _names(res["hazard_class"].to_numpy(), hazard.classes.names).to_numpy(),
            "depth_max_m": res["depth_max_m"].to_numpy(),
            "flooded_share": res["flooded_share"].to_numpy(),
        },
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    )


def roads_exposure(roads: gpd.GeoDataFrame, hazard: Hazard) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Roads cut by the class polygons.

    Returns ``(pieces, lengths)``: ``pieces`` has one row per road and class (affected parts) plus the
    unaffected rest of each road (``hazard_class`` NA): ``road_id, road_class, hazard_class, length_m,
    geometry`` in the roads' CRS; ``lengths`` has the whole length of every road.
    """
    crs = roads.crs
    ids = roads["road_id"].to_numpy() if "road_id" in roads else np.arange(1, len(roads) + 1)
    rclass = roads["road_class"].to_numpy() if "road_class" in roads else np.full(len(roads), "road", dtype=object)
    lines = roads.geometry.to_crs(hazard.crs).to_numpy()
    # Polygons covering the roads' extent: every class, plus "no class" (-1) everywhere else.
    lb = shapely.bounds(lines)
    hb = hazard.bounds
    pad = 1e-6 * max(hb[2] - hb[0], hb[3] - hb[1], 1.0)
    extent = (
        (
            min(np.nanmin(lb[:, 0]), hb[0]) - pad,
            min(np.nanmin(lb[:, 1]), hb[1]) - pad,
            max(np.nanmax(lb[:, 2]), hb[2]) + pad,
            max(np.nanmax(lb[:, 3]), hb[3]) + pad,
        )
        if len(lines)
        else hb
    )
    zones = hazard.class_polygons(extent=extent)
    zg = zones.geometry.to_numpy()
    zc = zones["hazard_class"].to_numpy()
    src, dst = shapely.STRtree(zg).query(lines, predicate="intersects") if len(zg) else (np.empty(0, int),) * 2
    # The polygons cover the extent, so a line meeting one polygon only lies in it: no cut needed.
    single = np.bincount(src, minlength=len(lines))[src] == 1
    cut = lines[src].copy()
    # Keep only the linear part of each cut (a road may just touch a polygon corner).
    cut[~single] = shapely.line_merge(_linear(shapely.intersection(lines[src[~single]], zg[dst[~single]])))
    keep = ~shapely.is_empty(cut)
    owner, cls, geoms = src[keep], zc[dst][keep].astype(np.int64), cut[keep]
    # One row per road and class.
    key = owner * 1000 + (cls + 1)
    groups, inverse = np.unique(key, return_inverse=True)
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    order = np.argsort(inverse[pidx], kind="stable")
    geoms = shapely.line_merge(shapely.multilinestrings(parts[order], indices=inverse[pidx][order]))
    owner, cls = groups // 1000, (groups % 1000 - 1).astype(np.int8)
    geoms = _on_edges_once(lines, owner, cls, geoms)
    pieces = gpd.GeoDataFrame(
        {
            "road_id": ids[owner],
            "road_class": rclass[owner],
            "hazard_class": _names(cls, hazard.classes.names).to_numpy(),
        },
        geometry=geoms,
        crs=hazard.crs,
    ).to_crs(crs)
    pieces["length_m"] = pieces.length.to_numpy(np.float64)
    pieces = pieces[pieces["length_m"] > 0][["road_id", "road_class", "hazard_class", "length_m", "geometry"]]
    lengths = pd.DataFrame({"road_id": ids, "road_class": rclass, "length_m": roads.length.to_numpy(np.float64)})
    return pieces.reset_index(drop=True), lengths


def _on_edges_once(lines: np.ndarray, owner: np.ndarray, cls: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """A stretch of road lying exactly on the edge between two class polygons belongs to both cuts:
    keep it in the most severe class only. Only roads whose pieces add up to more than the road are
    touched (rare: roads drawn along cell edges), one by one."""
    total = np.bincount(owner, weights=shapely.length(geoms), minlength=len(lines))
    excess = np.flatnonzero(total > shapely.length(lines) * (1 + 1e-9) + 1e-12)
    if not len(excess):
        return geoms
    geoms = geoms.copy()
    for road in excess:
        rows = np.flatnonzero(owner == road)
        taken = None
        for r in rows[np.argsort(-cls[rows], kind="stable")]:  # most severe first; -1 (no class) last
            if taken is not None:
                geoms[r] = _linear(np.array([shapely.difference(geoms[r], taken)]))[0]
            taken = geoms[r] if taken is None else shapely.union(taken, geoms[r])
    return geoms


def _linear(geoms: np.ndarray) -> np.ndarray:
    """The line parts of each geometry (points of a corner touch dropped), as (Multi)LineStrings."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    # Geometry collections inside results: explode once more.
    sub, sidx = shapely.get_parts(parts, return_index=True)
    idx = idx[sidx]
    line = shapely.get_type_id(sub) == 1
    out = np.full(len(geoms), shapely.from_wkt("LINESTRING EMPTY"), dtype=object)
    if line.any():
        got, dense = np.unique(idx[line], return_inverse=True)  # indices must have no gaps
        out[got] = shapely.multilinestrings(sub[line], indices=dense)
    return out


def facilities_exposure(
    facilities: gpd.GeoDataFrame, hazard: Hazard, buildings: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """``facility_id, category, name, hazard_class, depth_m`` per facility: its building's class when the
    facility came from a footprint in ``buildings`` (an exposure result), else the class at its point."""
    res = geometry_hazard(facilities.geometry, hazard)
    cls = _names(res["hazard_class"].to_numpy(), hazard.classes.names).to_numpy()
    depth = res["depth_max_m"].to_numpy().copy()
    if buildings is not None and "building_id" in facilities and "hazard_class" in buildings:
        fb = pd.Series(facilities["building_id"].to_numpy())
        lookup = buildings.drop_duplicates("building_id").set_index("building_id")
        known = fb.isin(lookup.index).to_numpy()
        if known.any():
            ids = fb[known]
            cls[known] = lookup.loc[ids, "hazard_class"].to_numpy()
            depth[known] = lookup.loc[ids, "depth_max_m"].to_numpy()
    return gpd.GeoDataFrame(
        {
            "facility_id": facilities["facility_id"].to_numpy()
            if "facility_id" in facilities
            else np.arange(1, len(facilities) + 1),
            "category": facilities["category"].to_numpy() if "category" in facilities else "facility",
            "name": facilities["name"].to_numpy() if "name" in facilities else None,
            "hazard_class": pd.array(cls, dtype="string"),
            "depth_m": depth,
        },
        geometry=facilities.geometry.to_numpy(),
        crs=facilities.crs,
    )


def population_exposure(population, hazard: Hazard | None, *, crs) -> tuple[gpd.GeoDataFrame, str]:
    """People with ``people`` and ``hazard_class`` (name) in ``crs``: raster cells as points, census as pieces."""
    if isinstance(population, PopulationGrid):
        people, method = people_on_hazard(population, hazard, crs=crs)
    elif isinstance(population, gpd.GeoDataFrame):
        if "people" not in population:
            raise InvalidInputError(
                "population polygons need a 'people' column (see layers.hazard.population.read_census)"
            )
        people, method = census_on_hazard(population, hazard, crs=crs)
    else:
        raise InvalidInputError("population must be a PopulationGrid or census polygons with a 'people' column")
    names = hazard.classes.names if hazard is not None else []
    people["hazard_class"] = _names(people["hazard_class"].to_numpy(), names).to_numpy()
    return people, method


# --------------------------------------------------------------------------
# Per unit
# --------------------------------------------------------------------------
def _unit_of(geoms: gpd.GeoSeries, units: gpd.GeoDataFrame) -> np.ndarray:
    from layers.precarity.indicators import units_of_points

    u = units_of_points(geoms.reset_index(drop=True), units)
    return u.fillna(-1).to_numpy(dtype=np.int64)


def _sum_by(unit: np.ndarray, values, n: int) -> np.ndarray:
    ok = unit >= 0
    return np.bincount(unit[ok], weights=np.asarray(values, np.float64)[ok], minlength=n)


def _cut_by_units(layer: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (row of layer, unit, geometry of the part inside the unit)."""
    g = layer.geometry.to_numpy()
    ug = units.geometry.to_numpy()
    src, dst = shapely.STRtree(ug).query(g, predicate="intersects")
    parts = g[src].copy()
    # Most features lie in one unit: keep them whole, cut only the others.
    single = np.bincount(src, minlength=len(g))[src] == 1
    single[single] = shapely.within(g[src[single]], ug[dst[single]])
    parts[~single] = shapely.intersection(g[src[~single]], ug[dst[~single]])
    return src, dst, parts


def aggregate(result: ExposureResult, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per unit (``area_id``, ``name``) with every figure of ``result``; also set as ``result.areas``."""
    units = units.to_crs(result.crs).reset_index(drop=True)
    n, classes = len(units), result.classes
    t = pd.DataFrame(
        {
            "area_id": units["area_id"].to_numpy() if "area_id" in units else np.arange(1, n + 1),
            "name": units["name"].to_numpy() if "name" in units else None,
        }
    )
    if result.people is not None:
        p = result.people
        if (p.geom_type == "Point").all():
            grid = p.attrs.get("grid")
            unit = units_on_grid(grid, units) if grid is not None and len(grid.row) == len(p) else None
            if unit is None:
                unit = _unit_of(p.geometry, units)
            src, people, cls = np.flatnonzero(unit >= 0), p["people"].to_numpy(), p["hazard_class"]
            unit_of, w = unit[src], people[src]
            cls = cls.to_numpy()[src]
        else:  # census pieces: area-weighted share of each piece in each unit
            src, unit_of, parts = _cut_by_units(p, units)
            w = p["people"].to_numpy()[src] * shapely.area(parts) / p.area.to_numpy()[src]
            cls = p["hazard_class"].to_numpy()[src]
        t["pop_total"] = np.bincount(unit_of, weights=w, minlength=n)
        cls = pd.array(cls, dtype="string")
        t["pop_affected"] = np.bincount(unit_of, weights=np.where(pd.notna(cls), w, 0.0), minlength=n)
        for c in classes:
            t[f"pop_{c}"] = np.bincount(unit_of, weights=np.where((cls == c).fillna(False), w, 0.0), minlength=n)
        t["displaced"] = sum(t[f"pop_{c}"] * result.displacement.get(c, 0.0) for c in classes)
        if result.needs != "none":
            for key, rate in PROFILES[result.needs].items():  # weekly needs of each unit's displaced
                t[f"needs_{key}"] = np.ceil(np.round(t["displaced"].to_numpy() * rate, 6)).astype(np.int64)
    if result.buildings is not None:
        b = result.buildings
        unit = _unit_of(b.geometry, units)
        t["buildings_total"] = _sum_by(unit, np.ones(len(b)), n).astype(np.int64)
        affected = b["hazard_class"].notna().to_numpy()
        t["buildings_affected"] = _sum_by(unit, affected, n).astype(np.int64)
        for c in classes:
            t[f"buildings_{c}"] = _sum_by(unit, (b["hazard_class"] == c).fillna(False).to_numpy(), n).astype(np.int64)
    if result.roads is not None:
        r = result.roads
        src, dst, parts = _cut_by_units(r, units)
        km = shapely.length(parts) / 1000.0
        t["roads_km"] = np.bincount(dst, weights=km, minlength=n)
        rc = r["hazard_class"].to_numpy()[src]
        rc = pd.array(rc, dtype="string")
        t["roads_affected_km"] = np.bincount(dst, weights=np.where(pd.notna(rc), km, 0.0), minlength=n)
        for c in classes:
            t[f"roads_{c}_km"] = np.bincount(dst, weights=np.where((rc == c).fillna(False), km, 0.0), minlength=n)
    if result.facilities is not None:
        f = result.facilities
        unit = _unit_of(f.geometry, units)
        t["facilities_total"] = _sum_by(unit, np.ones(len(f)), n).astype(np.int64)
        hit = f["hazard_class"].notna().to_numpy()
        t["facilities_affected"] = _sum_by(unit, hit, n).astype(np.int64)
        # The list a planner asks for: "hospital: 2, school: 1" per unit.
        fa = pd.DataFrame(
            {
                "u": unit[hit & (unit >= 0)],
                "cat": f["category"].astype("string").fillna("other").to_numpy()[hit & (unit >= 0)],
            }
        )
        listing = fa.groupby(["u", "cat"]).size().reset_index(name="k")
        listing["txt"] = listing["cat"] + ": " + listing["k"].astype(str)
        text = listing.groupby("u")["txt"].agg(", ".join)
        t["facilities_at_risk"] = pd.Series(text).reindex(range(n)).fillna("").to_numpy()
    areas = gpd.GeoDataFrame(t, geometry=units.geometry.to_numpy(), crs=units.crs)
    result.areas = areas
    return areas


# --------------------------------------------------------------------------
# The whole analysis
# --------------------------------------------------------------------------
def exposure(
    hazard: Hazard,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    population: PopulationGrid | gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    displacement: dict[str, float] | None = None,
    needs: str = "bnpb",
    crs=None,
    progress: bool = False,
) -> ExposureResult:
    """Exposure of every given layer to ``hazard`` (from :func:`layers.hazard.sources.open_hazard`).

    Layers are GeoDataFrames in the common schema (any CRS); results are in ``crs``
    (default: the buildings' CRS when metric, else the UTM zone of the first layer).
    A layer wholly outside the hazard raises OutsideExtentError; an empty layer gives
    zero counts with a warning.
    """
    needs = check_profile(needs)
    classes = hazard.classes.names
    layers = {"buildings": buildings, "roads": roads, "facilities": facilities, "boundaries": boundaries}
    if isinstance(population, gpd.GeoDataFrame):
        layers["population"] = population
    given = {k: v for k, v in layers.items() if v is not None}
    if not given and population is None:
        raise InvalidInputError("nothing to assess: give buildings, roads, facilities or population")
    if crs is None:
        first = next(
            (v for v in (buildings, roads, facilities, boundaries, population) if isinstance(v, gpd.GeoDataFrame)), None
        )
        if first is None:
            first = gpd.GeoSeries([shapely.box(*hazard.bounds)], crs=hazard.crs)
        crs = working_crs(first)
    for name, layer in given.items():
        if layer.crs is None:
            raise InvalidInputError(f"the {name} layer has no CRS; add a .prj or write the file with one")
        if len(layer) == 0:
            warnings.warn(f"the {name} layer is empty; its figures are 0", stacklevel=2)
        elif name != "boundaries":
            check_overlap(hazard, layer, what=name)
    rates = dict(displacement) if displacement else default_displacement(classes)
    unknown = set(rates) - set(classes)
    if unknown:
        raise InvalidInputError(f"displacement names classes {sorted(unknown)} that are not hazard classes {classes}")
    result = ExposureResult(classes=classes, crs=crs, displacement=rates, needs=needs)
    if buildings is not None:
        result.buildings = buildings_exposure(buildings.to_crs(crs), hazard, progress=progress)
    if roads is not None:
        result.roads, result.road_lengths = roads_exposure(roads.to_crs(crs), hazard)
        result.roads_total_km = float(result.road_lengths["length_m"].sum()) / 1000.0
    if facilities is not None:
        result.facilities = facilities_exposure(facilities.to_crs(crs), hazard, result.buildings)
    if population is not None:
        if isinstance(population, PopulationGrid) and isinstance(hazard, HazardRaster):
            _check_grid_overlap(population, hazard)
        result.people, result.population_method = population_exposure(population, hazard, crs=crs)
    if boundaries is not None:
        aggregate(result, boundaries)
    return result


def _check_grid_overlap(pop: PopulationGrid, hazard: HazardRaster) -> None:
    from rasterio.warp import transform_bounds

    from layers.errors import OutsideExtentError

    h, w = pop.people.shape
    t = pop.transform
    x0, y0, x1, y1 = t.c, t.f, t.c + t.a * w, t.f + t.e * h
    b = transform_bounds(pop.crs, hazard.crs, min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    hb = hazard.bounds
    if b[0] >= hb[2] or b[2] <= hb[0] or b[1] >= hb[3] or b[3] <= hb[1]:
        raise OutsideExtentError(
            "the population raster does not overlap the hazard; check that both cover the same place and carry the right CRS"
        )


def exposure_summary(hazard: Hazard, **kwargs) -> dict:
    """:func:`exposure` then :meth:`ExposureResult.summary`: the ``geoapp exposure --json`` object."""
    return exposure(hazard, **kwargs).summary()


def exposure_from_files(
    *,
    hazard: str,
    hazard_field: str | None = None,
    classes: str | None = None,
    displacement: str | None = None,
    buildings: str | None = None,
    roads: str | None = None,
    facilities: str | None = None,
    population: str | None = None,
    population_field: str | None = None,
    population_units: str = "count",
    population_scale: float = 1.0,
    boundaries: str | None = None,
    boundary_name: str | None = None,
    needs: str = "bnpb",
    progress: bool = False,
) -> ExposureResult:
    """``geoapp exposure``: read the files (any format GDAL reads) and run :func:`exposure`.

    Works in the UTM zone of the first vector layer given (buildings, roads, facilities,
    boundaries, census), else of the hazard.
    """
    import pyogrio

    from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, parse_classes, parse_displacement
    from layers.hazard.population import read_census, read_population
    from layers.hazard.sources import open_hazard
    from layers.io.vectors import boundaries_from_file, buildings_from_file, facilities_from_file, roads_from_file

    if boundaries and not boundary_name:
        raise InvalidInputError("--boundaries needs --boundary-name, the attribute holding each unit's name")
    if boundary_name and not boundaries:
        raise InvalidInputError("--boundary-name needs --boundaries, the file of units to sum the figures by")
    check_profile(needs)
    scheme = parse_classes(classes or DEFAULT_FLOOD_CLASSES)
    rates = parse_displacement(displacement, scheme) if displacement else None
    haz = open_hazard(hazard, classes=scheme, field=hazard_field)
    first = next(
        (p for p in (buildings, roads, facilities, boundaries, population if population_field else None) if p), None
    )
    extent = gpd.GeoSeries([shapely.box(*haz.bounds)], crs=haz.crs)
    if first:
        try:
            info = pyogrio.read_info(first, force_total_bounds=True)
        except pyogrio.errors.DataSourceError:
            info = None  # the loader below gives the clear error
        if info is not None and info["crs"] and info.get("total_bounds") is not None:
            extent = gpd.GeoSeries([shapely.box(*info["total_bounds"])], crs=info["crs"])
    crs = working_crs(extent)
    layers = {
        "buildings": buildings_from_file(buildings, crs=crs) if buildings else None,
        "roads": roads_from_file(roads, crs=crs) if roads else None,
        "facilities": facilities_from_file(facilities, crs=crs) if facilities else None,
        "boundaries": boundaries_from_file(boundaries, name_field=boundary_name, crs=crs) if boundaries else None,
    }
    pop = None
    if population:
        pop = (
            read_census(population, field=population_field)
            if population_field
            else read_population(population, units=population_units, scale=population_scale)
        )
    return exposure(haz, population=pop, displacement=rates, needs=needs, crs=crs, progress=progress, **layers)
