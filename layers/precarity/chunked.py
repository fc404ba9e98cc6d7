"""The precarity index with bounded memory: buildings streamed in row batches.

What the index needs of a building is a handful of numbers: its H3 cell and boundary unit (of its
footprint centre), its footprint area, type and levels, whether a vehicle road is near, and its
walks to each facility kind. Each batch computes them with the in-memory path's own functions
(:mod:`layers.precarity.indicators`; the walk network and one Dijkstra pass per facility kind are
built once, before the first batch, and each batch only snaps its buildings), then drops its
footprints. The kept rows (about 60 bytes a building) go through the same
:func:`layers.precarity.index.indicator_table` and composite as :func:`layers.precarity.index.precarity_index`,
so every cell, unit and neighbourhood is identical to the in-memory result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError
from layers.hazard.chunked import batches_on
from layers.io.stream import FID, file_order
from layers.precarity import indicators as ind
from layers.precarity.composite import INDICATORS, check_weights
from layers.precarity.grid import DEFAULT_RESOLUTION, h3_cell_polygons, h3_cells_of_points
from layers.precarity.index import (
    DEFAULT_THRESHOLD,
    Inputs,
    PrecarityResult,
    _assemble,
    _require_an_index,
    indicator_table,
    precarious_neighbourhoods,
)
from layers.precarity.walks import FACILITY_KINDS
from layers.settings import ROAD_DISTANCE_M


@dataclass
class WalkTargets:
    """The walk network and, per facility kind, the distance of every node to its nearest facility."""

    network: object | None
    node_distance: dict[str, tuple]  # name -> (dist per node, t_edge, t_frac, t_gap)
    why: dict[str, str]


def walk_targets(roads, facilities) -> WalkTargets:
    """Network and one Dijkstra pass per facility kind, as :func:`layers.precarity.walks.facility_walks` does."""
    from scipy import sparse

    from layers.precarity.walks import _distances_from_targets

    why: dict[str, str] = {}
    if roads is None or facilities is None or len(roads) == 0:
        for name in FACILITY_KINDS:
            why[f"{name}:why"] = "no roads given" if roads is None or len(roads) == 0 else "no facilities given"
        return WalkTargets(None, {}, why)
    from layers.evacuation.network import network_from_roads

    net = network_from_roads(roads, mode="walk")
    lengths = net.table["length_m"].to_numpy(np.float64)
    u, v = net.table["u"].to_numpy(np.int64), net.table["v"].to_numpy(np.int64)
    base = sparse.hstack([net.matrix(lengths), sparse.csr_matrix((net.n_nodes, 1))])
    dist: dict[str, tuple] = {}
    for name, kinds in FACILITY_KINDS.items():
        pts = facilities[facilities["category"].isin(kinds).to_numpy()]
        if len(pts) == 0:
            why[f"{name}:why"] = f"no facilities of category {', '.join(kinds)}"
            continue
        if net.n_edges == 0:
            dist[name] = ()
            continue
        t_edge, t_frac, t_gap = net.snap(pts.geometry.values, max_distance_m=500.0)
        ok = t_edge >= 0
        if not ok.any():
            dist[name] = ()
            continue
        t_edge, t_frac, t_gap = t_edge[ok], t_frac[ok], t_gap[ok]
        dist[name] = (_distances_from_targets(base, u, v, lengths, t_edge, t_frac, t_gap), t_edge, t_frac, t_gap)
    return WalkTargets(net, dist, why)


def _walks(targets: WalkTargets, centres: np.ndarray) -> dict[str, np.ndarray]:
    """Per building (its centre point) the walk to each kind: the arithmetic of ``walk_distances``."""
    from layers.precarity.walks import _same_edge_walks

    out = {name: np.full(len(centres), np.inf) for name in targets.node_distance}
    net = targets.network
    if net is None or net.n_edges == 0 or len(centres) == 0:  # type: ignore[attr-defined]
        return out
    lengths = net.table["length_m"].to_numpy(np.float64)  # type: ignore[attr-defined]
    u, v = net.table["u"].to_numpy(np.int64), net.table["v"].to_numpy(np.int64)  # type: ignore[attr-defined]
    b_edge, b_frac, b_gap = net.snap(centres, max_distance_m=500.0)  # type: ignore[attr-defined]
    on = np.flatnonzero(b_edge >= 0)
    e, g = b_edge[on], b_frac[on]
    for name, entry in targets.node_distance.items():
        if not entry:
            continue
        dist, t_edge, t_frac, t_gap = entry
        d = b_gap[on] + np.minimum(dist[u[e]] + g * lengths[e], dist[v[e]] + (1 - g) * lengths[e])
        _same_edge_walks(d, e, g, b_gap[on], t_edge, t_frac, t_gap, lengths)
        out[name][on] = d
    return out


@dataclass
class BatchContext:
    """What every batch needs, prepared once."""

    crs: Any
    resolution: int
    roads: gpd.GeoDataFrame | None
    targets: WalkTargets
    units: gpd.GeoDataFrame | None
    road_distance_m: float
    hazard: Any = None  # classes every building (when there is no population to class people)


def building_rows(batch: gpd.GeoDataFrame, ctx: BatchContext) -> pd.DataFrame:
    """The per-building numbers of one batch (no footprints)."""
    b = batch.to_crs(ctx.crs) if batch.crs != ctx.crs else batch
    b = b.reset_index(drop=True)
    centres = ind.centre_points(b.geometry.values)
    rows = pd.DataFrame(
        {
            "building_type": b["building_type"].astype("string").astype("category"),
            "levels": pd.to_numeric(b["levels"], errors="coerce").to_numpy(dtype="float64"),
            "footprint_m2": shapely.area(b.geometry.values).astype("float64"),
            "cell": h3_cells_of_points(gpd.GeoSeries(centres, crs=ctx.crs), resolution=ctx.resolution),
        }
    )
    if ctx.hazard is not None:
        from layers.hazard.sampling import geometry_hazard
        from layers.precarity.inputs import class_names_of

        idx = geometry_hazard(b.geometry, ctx.hazard)["hazard_class"].to_numpy(np.int64)
        rows["hazard_class"] = class_names_of(idx, list(ctx.hazard.classes.names))
    elif "hazard_class" in b:
        rows["hazard_class"] = b["hazard_class"].to_numpy()
    if ctx.roads is not None and len(ctx.roads):
        rows["far"] = ind.far_from_vehicle_road(b, ctx.roads, max_distance_m=ctx.road_distance_m, centres=centres)
    for name, d in _walks(ctx.targets, centres).items():
        rows[f"walk:{name}"] = d
    if ctx.units is not None:
        rows["unit"] = ind.units_of_points(gpd.GeoSeries(centres, crs=ctx.crs), ctx.units).to_numpy()
    if FID in b:  # a spatial batch: put back in file order at the end
        rows[FID] = b[FID].to_numpy()
    return rows


def precarity_chunked(
    batches: Iterable[gpd.GeoDataFrame],
    *,
    crs,
    roads: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    people: gpd.GeoDataFrame | None = None,
    hazard_classes: list[str] | None = None,
    reports: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    weights: dict | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_classes: int = 5,
    road_distance_m: float = ROAD_DISTANCE_M,
    hazard=None,
    rows_of: Callable[[Iterable[gpd.GeoDataFrame], BatchContext], Iterator[pd.DataFrame]] | None = None,
) -> PrecarityResult:
    """:func:`layers.precarity.index.precarity_index` over buildings given in batches (same arguments).

    ``hazard`` (an opened hazard) classes each building batch by batch, as ``geoapp precarity`` does
    without a population layer.

    ``rows_of(batches, ctx)`` turns batches into per-building rows (default: one batch after the
    other here; :mod:`layers.distributed` runs them on a Dask cluster).
    """
    if not 0 < threshold <= 1:
        raise InvalidInputError(f"precarity threshold {threshold} must be in (0, 1]: it is compared with the index")
    weights = check_weights(weights)
    roads = roads.to_crs(crs) if roads is not None and roads.crs != crs else roads
    facilities = facilities.to_crs(crs) if facilities is not None and facilities.crs != crs else facilities
    people = people.reset_index(drop=True).to_crs(crs) if people is not None else None
    units = None
    if boundaries is not None:
        units = (boundaries.to_crs(crs) if boundaries.crs != crs else boundaries).set_index(
            pd.RangeIndex(len(boundaries))
        )
    ctx = BatchContext(
        crs,
        resolution,
        roads,
        walk_targets(roads, facilities),
        units,
        road_distance_m,
        hazard if people is None else None,
    )
    if rows_of is None:

        def rows_of(batches, ctx):
            for batch in batches:
                yield building_rows(batch, ctx)

    parts = [r for r in rows_of(batches, ctx) if len(r)]
    if not parts:
        raise InvalidInputError("no buildings: the precarity index needs building footprints")
    rows = pd.concat(parts, ignore_index=True)
    if FID in rows:
        rows = file_order(rows, renumber=False)
    return _index(rows, ctx, people, hazard_classes, reports, weights, threshold, n_classes)


def _index(rows, ctx: BatchContext, people, hazard_classes, reports, weights, threshold, n_classes) -> PrecarityResult:
    """The in-memory path's assembly (see :func:`layers.precarity.index.precarity_index`) on the kept rows."""
    crs = ctx.crs
    buildings = gpd.GeoDataFrame(
        {
            "building_type": rows["building_type"].astype(object).where(rows["building_type"].notna(), None),
            "levels": rows["levels"],
            "footprint_m2": rows["footprint_m2"],
            **({"hazard_class": rows["hazard_class"]} if "hazard_class" in rows else {}),
        },
        geometry=gpd.GeoSeries([None] * len(rows), crs=crs),
        crs=crs,
    )
    walk = {name: rows[f"walk:{name}"].to_numpy() for name in ctx.targets.node_distance}
    walk.update(ctx.targets.why)
    far = rows["far"].to_numpy(dtype=bool) if "far" in rows else None
    inputs = Inputs(buildings, walk, far, people, hazard_classes, reports)
    cell_of = rows["cell"].to_numpy()
    cells = h3_cell_polygons(np.unique(cell_of), crs=crs)
    people_cell = h3_cells_of_points(people.geometry, resolution=ctx.resolution) if people is not None else None
    table, skipped = indicator_table(cells, inputs, pd.Series(cell_of), people_cell)
    cells_out = _assemble(cells[["h3_id", "geometry"]], table, weights, n_classes)
    _require_an_index(cells_out, weights, skipped)
    for name in INDICATORS:
        if name in table and table[name].nunique(dropna=True) <= 1:
            skipped[name] = "one value in every cell: carries no information here"
    areas_out = None
    if ctx.units is not None:
        units = ctx.units
        p_unit = ind.units_of_points(people.geometry, units) if people is not None else None
        a_table, _ = indicator_table(units, inputs, pd.Series(rows["unit"].to_numpy(), dtype=object), p_unit)
        keep = [c for c in ("area_id", "name") if c in units]
        areas_out = _assemble(units[keep + ["geometry"]], a_table, weights, n_classes)
    hoods = precarious_neighbourhoods(cells_out, threshold=threshold)
    return PrecarityResult(cells_out, areas_out, hoods, weights, skipped)


def precarity_chunked_from_files(
    buildings: str,
    *,
    chunk_rows: int,
    scheduler: str | None = None,
    roads: str | None = None,
    facilities: str | None = None,
    hazard: str | None = None,
    hazard_field: str | None = None,
    classes: str | None = None,
    population: str | None = None,
    population_field: str | None = None,
    population_units: str = "count",
    population_scale: float | None = None,
    boundaries: str | None = None,
    boundary_name: str | None = None,
    reports: str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    weights=None,
    threshold: float = DEFAULT_THRESHOLD,
    n_classes: int = 5,
    road_distance_m: float = ROAD_DISTANCE_M,
) -> PrecarityResult:
    """``geoapp precarity --chunk-rows N`` (and ``--scheduler``): :func:`layers.precarity.inputs.precarity_from_files`
    with the buildings streamed ``chunk_rows`` at a time, or as partitions on a Dask cluster."""
    from layers.hazard.population import read_census, read_population
    from layers.hazard.sources import open_hazard
    from layers.io.stream import building_source
    from layers.io.vectors import boundaries_from_file, facilities_from_file, roads_from_file
    from layers.precarity.inputs import needs_reports, parse_weights, read_reports

    if chunk_rows < 1:
        raise InvalidInputError(f"--chunk-rows {chunk_rows} must be a positive number of buildings")
    if boundaries is not None and not boundary_name:
        raise InvalidInputError("--boundaries needs --boundary-name, the field holding each unit's name")
    src = building_source(buildings)
    crs = src.crs
    r = roads_from_file(roads, crs=crs) if roads else None
    if facilities:
        f = facilities_from_file(facilities, crs=crs)
    else:  # facilities mapped as buildings: only the rows naming one are read
        f = _facilities_in_buildings(src, crs) if roads else None
    units = boundaries_from_file(boundaries, name_field=boundary_name, crs=crs) if boundaries else None
    rep = read_reports(reports, crs=crs) if reports else None
    hz = open_hazard(hazard, classes=classes, field=hazard_field) if hazard is not None else None
    people, names = None, None
    if population is not None:
        grid = census = None
        if population_field:
            census = read_census(population, field=population_field)
        else:
            grid = read_population(population, units=population_units, scale=population_scale or 1.0)
        from layers.hazard.population import census_on_hazard, people_on_hazard

        # As people_and_classes does (people on the hazard grid), without a buildings layer to compare extents.
        people = (
            people_on_hazard(grid, hz, crs=crs)[0] if grid is not None else census_on_hazard(census, hz, crs=crs)[0]
        )
        if hz is None:
            people = people.drop(columns="hazard_class")
        names = list(hz.classes.names) if hz is not None else None
    elif hz is not None:
        names = list(hz.classes.names)
    kw = {
        "crs": crs,
        "roads": r,
        "facilities": f,
        "people": people,
        "hazard_classes": names,
        "reports": needs_reports(rep),
        "boundaries": units,
        "resolution": resolution,
        "weights": parse_weights(weights),
        "threshold": threshold,
        "n_classes": n_classes,
        "road_distance_m": road_distance_m,
        "hazard": hz,
    }
    plan, batches = batches_on(src, hz, chunk_rows)  # spatial when buildings are classed on a raster
    if scheduler:
        from layers.distributed import connect, precarity_rows

        with connect(scheduler) as client:
            rows_of = precarity_rows(client, src, rows=chunk_rows, plan=plan)
            return precarity_chunked(batches, rows_of=rows_of, **kw)
    return precarity_chunked(batches, **kw)


def _facilities_in_buildings(src, crs) -> gpd.GeoDataFrame:
    """Facilities named by the buildings' amenity/type, reading only those rows (ids as the whole-file loader's
    when the file has an id column; else the feature ids, which are the row numbers of a GeoPackage)."""
    import pyogrio

    from layers.io.vectors import facilities_from_buildings

    info = pyogrio.read_info(src.path, layer=src.layer)
    fields = {str(c).lower(): str(c) for c in info["fields"]}
    named = [fields[c] for c in ("amenity", "type", "building_type") if c in fields]
    if not named:
        return facilities_from_buildings(gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=crs), crs=crs), crs=crs)
    where = " OR ".join(f'"{c}" IS NOT NULL' for c in named)
    cols = named + [fields[c] for c in ("name", "capacity") if c in fields]
    if src.id_column:
        cols.append(src.id_column)
    raw = pyogrio.read_dataframe(src.path, layer=src.layer, columns=cols, where=where, fid_as_index=True)
    if not src.id_column:
        raw.insert(0, "building_id", raw.index.to_numpy())
    return facilities_from_buildings(raw.reset_index(drop=True), crs=crs)
