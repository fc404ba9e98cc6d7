"""Evacuation shelters: which facilities can take people, how many, and whether their site is safe.

* **Which**: facilities whose ``category`` is one of ``categories`` (default schools,
  places of worship, community centres, designated shelters), plus extra points such
  as published field reports marked as shelter sites.
* **How many** (``capacity_source``): the capacity attribute when it parses to a
  number ("100 Orang" → 100, see :func:`layers.io.values.parse_capacity`), else the
  SPHERE rule floor area × levels / ``m2_per_person`` (3.5 m² per person) of the
  footprint the facility stands in (levels unknown → 1), else ``default_capacity``
  (NaN when not set: unknown, treated as unlimited by the assignment).
* **Safe**: the site (its footprint, or the point) has a hazard depth below the first
  hazard class (0.1 m with the default flood classes); a vector hazard zone of any
  class makes a site unsafe. Unsafe shelters are listed and not used.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError
from layers.hazard.classes import NOT_AFFECTED, ClassScheme, class_names
from layers.io.values import parse_capacity
from layers.settings import DEFAULT_SHELTER_CATEGORIES, M2_PER_PERSON

SHELTER_COLUMNS = [
    "shelter_id",
    "facility_id",
    "report_id",
    "source",
    "category",
    "name",
    "capacity",
    "capacity_source",
    "floor_area_m2",
    "depth_m",
    "hazard_class",
    "safe",
]


def shelters_from_facilities(
    facilities: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    categories: Iterable[str] = DEFAULT_SHELTER_CATEGORIES,
    extra: gpd.GeoDataFrame | None = None,
    capacity_field: str | None = None,
    m2_per_person: float = M2_PER_PERSON,
    default_capacity: float | None = None,
    hazard=None,
    classes: ClassScheme | str | None = None,
) -> gpd.GeoDataFrame:
    """Shelters (points, one per facility or extra point) with capacity and site safety.

    Parameters
    ----------
    facilities
        Facilities in the common schema (``facility_id``, ``category``, ``capacity``, ``building_id``).
    buildings
        Footprints (``building_id``, ``levels``) for the floor-area rule and the site's hazard.
    extra
        More shelter points, e.g. published field reports of category ``shelter_site``
        (``name`` and ``capacity`` columns used when present).
    capacity_field
        Column of ``facilities`` (and ``extra``) holding capacity text; default ``capacity``.
    hazard
        A hazard raster path or :class:`~layers.area.HazardSpec`; None = every site safe.
    """
    if not m2_per_person > 0:
        raise InvalidInputError(f"m2_per_person {m2_per_person} must be positive")
    cats = {str(c).strip().lower() for c in categories}
    field = capacity_field or "capacity"
    if field not in facilities.columns:
        raise InvalidInputError(
            f"capacity field '{field}' is not a facility column; columns are {list(facilities.columns[:-1])}"
        )
    out = _candidates(facilities, cats, field, extra)
    if len(out) == 0:
        warnings.warn(
            f"no shelter in the area: no facility of categories {sorted(cats)} and no extra shelter points",
            stacklevel=2,
        )
        return _empty(facilities.crs)
    site = out.geometry.copy()
    floor = np.full(len(out), np.nan)
    if buildings is not None and len(buildings):
        fp, floor = _footprints(out, buildings)
        site = gpd.GeoSeries(np.where(fp.notna(), fp, out.geometry.to_numpy()), crs=out.crs)
    capacity, source = _capacity(out["capacity"].to_numpy(np.float64), floor, m2_per_person, default_capacity)
    out["capacity"] = capacity
    out["capacity_source"] = pd.array(source, dtype="string")
    out["floor_area_m2"] = floor
    out = out.assign(**_site_safety(site, hazard, classes))
    out.insert(0, "shelter_id", np.arange(1, len(out) + 1, dtype=np.int64))
    return out[[*SHELTER_COLUMNS, "geometry"]]


def _candidates(
    facilities: gpd.GeoDataFrame, cats: set[str], field: str, extra: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """Facilities of categories ``cats`` and the extra points, with their capacity attribute parsed."""
    chosen = facilities[facilities["category"].astype("string").str.lower().isin(cats).fillna(False).to_numpy()]
    parts = [
        pd.DataFrame(
            {
                "facility_id": chosen["facility_id"].to_numpy(),
                "source": "facility",
                "category": chosen["category"].astype("string").to_numpy(),
                "name": chosen["name"].astype("string").to_numpy() if "name" in chosen else pd.NA,
                "capacity": parse_capacity(chosen[field].to_numpy()).to_numpy(),
                "building_id": chosen["building_id"].astype("Int64").to_numpy() if "building_id" in chosen else pd.NA,
                "report_id": pd.NA,
                "geometry": chosen.geometry.to_numpy(),
            }
        )
    ]
    if extra is not None and len(extra):
        ex = extra.to_crs(facilities.crs) if extra.crs is not None and facilities.crs is not None else extra
        ex = ex[ex.geometry.notna() & ~ex.geometry.is_empty]
        pts = ex.geometry.where(ex.geom_type == "Point", ex.geometry.representative_point())
        cap_col = field if field in ex.columns else ("capacity" if "capacity" in ex.columns else None)
        parts.append(
            pd.DataFrame(
                {
                    "facility_id": pd.array([pd.NA] * len(ex), dtype="Int64"),
                    "source": "field_report",
                    "category": "shelter",
                    "name": ex["name"].astype("string").to_numpy() if "name" in ex else pd.NA,
                    "capacity": parse_capacity(ex[cap_col].to_numpy()).to_numpy() if cap_col else np.nan,
                    "building_id": pd.NA,
                    # the field report's own id, so a planner can trace the shelter to it
                    "report_id": ex["id"].astype("string").to_numpy() if "id" in ex else pd.NA,
                    "geometry": pts.to_numpy(),
                }
            )
        )
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=facilities.crs)
    out["building_id"] = pd.array(out["building_id"], dtype="Int64")
    out["report_id"] = pd.array(out["report_id"], dtype="string")
    return out


def _capacity(
    attribute: np.ndarray, floor: np.ndarray, m2_per_person: float, default_capacity: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Capacity and where it comes from: the attribute, else floor area, else the default (or unknown)."""
    source = np.where(~np.isnan(attribute), "attribute", "").astype(object)
    by_area = np.isnan(attribute) & ~np.isnan(floor)
    capacity = np.where(by_area, np.floor(floor / m2_per_person), attribute)
    source[by_area] = "floor_area"
    unknown = np.isnan(capacity)
    if default_capacity is not None:
        capacity = np.where(unknown, float(default_capacity), capacity)
    source[unknown] = "default" if default_capacity is not None else "unknown"
    if unknown.any() and default_capacity is None:
        warnings.warn(
            f"{int(unknown.sum())} shelters have no capacity attribute and no footprint: capacity unknown "
            "(treated as unlimited); set shelters.default_capacity to bound them",
            stacklevel=3,
        )
    return capacity, source


def _footprints(shelters: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> tuple[gpd.GeoSeries, np.ndarray]:
    """Footprint of each shelter (by ``building_id``, else the footprint containing the point) and its floor area."""
    b = buildings.reset_index(drop=True)
    pos = pd.Series(np.arange(len(b)), index=b["building_id"].to_numpy())
    pos = pos[~pos.index.duplicated()]
    linked = shelters["building_id"].map(pos).to_numpy(dtype=np.float64, na_value=np.nan)
    free = np.flatnonzero(np.isnan(linked))
    if len(free):
        hit = gpd.sjoin(shelters.iloc[free][["geometry"]], b[["geometry"]], predicate="within", how="inner")
        hit = hit[~hit.index.duplicated()]
        linked[hit.index.to_numpy()] = hit["index_right"].to_numpy()
    has = ~np.isnan(linked)
    idx = linked[has].astype(np.int64)
    geoms = np.full(len(shelters), None, dtype=object)
    geoms[has] = b.geometry.to_numpy()[idx]
    floor = np.full(len(shelters), np.nan)
    levels = b["levels"].to_numpy(np.float64) if "levels" in b else np.ones(len(b))
    levels = np.where(np.isnan(levels) | (levels <= 0), 1.0, levels)
    floor[has] = b.geometry.area.to_numpy()[idx] * levels[idx]
    return gpd.GeoSeries(geoms, crs=shelters.crs), floor


def _site_safety(site: gpd.GeoSeries, hazard, classes) -> dict:
    """Depth and class of each site (all cells or zones it touches); safe = in no hazard class."""
    from layers.evacuation.graph import near_wet_cells
    from layers.hazard.sampling import geometry_hazard
    from layers.hazard.sources import HazardRaster, HazardZones, open_hazard

    n = len(site)
    if hazard is None:
        return {"depth_m": np.zeros(n), "hazard_class": pd.array([pd.NA] * n, dtype="string"), "safe": np.ones(n, bool)}
    h = hazard if isinstance(hazard, (HazardRaster, HazardZones)) else open_hazard(hazard, classes=classes)
    near = np.ones(n, dtype=bool)
    if isinstance(h, HazardRaster) and (h.classes.classify(np.array([0.0, np.nan])) < 0).all():
        # Sites touching only 0 or nodata cells are in no class at depth 0: sample only the others.
        g = site.to_crs(h.crs) if site.crs is not None and not site.crs.equals(h.crs) else site
        near = near_wet_cells(shapely.bounds(g.to_numpy()), h)
    cls = np.full(n, NOT_AFFECTED, dtype=np.int8)
    depth = np.zeros(n)
    if near.any():
        res = geometry_hazard(site[near], h)
        cls[near] = res["hazard_class"].to_numpy()
        depth[near] = np.nan_to_num(res["depth_max_m"].to_numpy(), nan=0.0)
    return {"depth_m": depth, "hazard_class": class_names(cls, h.classes.names), "safe": cls < 0}


def _empty(crs) -> gpd.GeoDataFrame:
    cols = {c: pd.Series(dtype="float64") for c in SHELTER_COLUMNS}
    cols["shelter_id"] = pd.Series(dtype="int64")
    cols["safe"] = pd.Series(dtype="bool")
    for c in ("source", "category", "name", "capacity_source", "hazard_class", "report_id"):
        cols[c] = pd.Series(dtype="string")
    cols["facility_id"] = pd.Series(dtype="Int64")
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


# -- destinations per hazard kind (layers/hazard/kinds: Kind.evacuation) ----------------------------
# Earthquake: people go to open assembly areas, not into buildings that may collapse in aftershocks.
OPEN_SPACE_TAGS = {"leisure": ("park", "pitch"), "landuse": ("grass",), "amenity": ("marketplace",)}


def open_spaces_from_osm(path, *, crs=None) -> gpd.GeoDataFrame:
    """Open spaces of an OSM file (``leisure=park|pitch``, ``landuse=grass``, ``amenity=marketplace``):
    polygons with ``category`` (the tag value) and ``name``."""
    from layers.io.osm import read_osm_layer, tag

    polys = read_osm_layer(path, "multipolygons")
    category = pd.Series(pd.NA, index=polys.index, dtype="string")
    for key, values in OPEN_SPACE_TAGS.items():
        col = polys[key] if key in polys else tag(polys["other_tags"], key)
        hit = col.astype("string").isin(values).fillna(False) & category.isna()
        category[hit] = col[hit].astype("string")
    keep = category.notna().to_numpy()
    out = gpd.GeoDataFrame(
        {
            "category": category[keep].to_numpy(),
            "name": polys["name"][keep].to_numpy() if "name" in polys else None,
        },
        geometry=polys.geometry[keep].to_numpy(),
        crs=polys.crs,
    )
    return out.to_crs(crs) if crs is not None else out


def open_space_shelters(spaces: gpd.GeoDataFrame, *, m2_per_person: float | None = None) -> gpd.GeoDataFrame:
    """Open spaces as shelters: a point inside each, capacity = area / ``m2_per_person`` (default
    :data:`layers.settings.OPEN_SPACE_M2_PER_PERSON`, 2 m²: people standing), always safe (open ground)."""
    from layers.settings import OPEN_SPACE_M2_PER_PERSON

    per = OPEN_SPACE_M2_PER_PERSON if m2_per_person is None else m2_per_person
    if not per > 0:
        raise InvalidInputError(f"m2_per_person {per} must be positive")
    polys = spaces[spaces.geometry.notna() & ~spaces.geometry.is_empty]
    polys = polys[polys.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    if not len(polys):
        return _empty(spaces.crs)
    area = polys.geometry.area.to_numpy()
    n = len(polys)
    out = gpd.GeoDataFrame(
        {
            "shelter_id": np.arange(1, n + 1, dtype=np.int64),
            "facility_id": pd.array([pd.NA] * n, dtype="Int64"),
            "report_id": pd.array([pd.NA] * n, dtype="string"),
            "source": pd.array(["open_space"] * n, dtype="string"),
            "category": pd.array(polys["category"].to_numpy(), dtype="string"),
            "name": pd.array(polys["name"].to_numpy() if "name" in polys else [pd.NA] * n, dtype="string"),
            "capacity": np.floor(area / per),
            "capacity_source": pd.array(["open area"] * n, dtype="string"),
            "floor_area_m2": area,
            "depth_m": np.zeros(n),
            "hazard_class": pd.array([pd.NA] * n, dtype="string"),
            "safe": np.ones(n, bool),
        },
        geometry=polys.geometry.representative_point().to_numpy(),
        crs=polys.crs,
    )
    return out[[*SHELTER_COLUMNS, "geometry"]]


def debris_closed_edges(network, buildings: gpd.GeoDataFrame, *, distance_m: float | None = None) -> np.ndarray:
    """Edges within ``distance_m`` (default :data:`layers.settings.DEBRIS_DISTANCE_M`) of a building whose
    earthquake ``damage_class`` is high: roads its debris may block."""
    from layers.evacuation.closures import closed_edges
    from layers.settings import DEBRIS_DISTANCE_M

    if "damage_class" not in buildings:
        return np.array([], np.int64)
    heavy = buildings[buildings["damage_class"].astype("string").eq("high").fillna(False).to_numpy()]
    edges, _ = closed_edges(network, heavy.geometry, distance_m=DEBRIS_DISTANCE_M if distance_m is None else distance_m)
    return np.unique(edges)
