"""Evacuation: the nearest safe shelter with room for every building, by walking time.

How it works
------------
* **Costs.** An edge with hazard depth ``d`` (max along it) is walked at
  ``walk_speed / (1 + d / max_walk_depth)``: twice as slow at the limit. Above
  ``max_walk_depth`` (default 0.5 m) it is closed, except for people who start
  inside the flood (see next point).
* **Starting inside the flood.** A building whose own access edge is deeper than
  the limit may wade out: it may use flooded edges (at ``flood_penalty`` times
  the dry walking time) until it reaches a passable node, and from there only
  passable edges. Nobody re-enters deep water. This is a two-layer graph
  (flooded layer → dry layer, one-way) searched in the same single pass.
* **One pass.** Each safe shelter is a virtual source joined to both ends of
  its nearest edge; one multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra``,
  ``min_only=True``) over the reversed graph gives every node its nearest shelter,
  time and predecessor. Buildings join at their nearest edge (``max_snap_m``) and
  take the cheaper end (or walk straight along it to a shelter on the same edge);
  the walk from the footprint to the road counts at dry speed.
* **Capacity (spill rule).** Each shelter takes the buildings that reach it, in
  order of travel time, while their people fit its remaining capacity; the first
  that does not fit and every later one spill, and the shelter is closed as full.
  Spilled buildings are assigned again by a new multi-source pass over the shelters
  that still have room (their next-nearest shelter with room), and so on. Buildings
  left when no reachable shelter has room go to their nearest shelter, which is
  then reported ``over_capacity``. A building is never split between shelters.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from layers.errors import InvalidInputError
from layers.evacuation.network import Network, arcs_matrix

Arr = np.ndarray
NO_PATH = -9999
JUNCTION_TOLERANCE_M = 5.0  # a passable edge this much farther than a flooded one is still preferred
UNREACHABLE_REASONS = ("off_network", "no_route", "no_safe_shelter")


@dataclass
class EvacuationResult:
    """Per-building assignment, shelters with their load, and the edges people use."""

    buildings: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    building_routes: gpd.GeoDataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)  # CPU seconds per stage: snap, graph, search, rest

    def summary(self) -> dict:
        """The ``geoapp evacuate --json`` object."""
        b, s = self.buildings, self.shelters
        reachable = b["reachable"].to_numpy(bool)
        t = b.loc[reachable, "time_s"].to_numpy(np.float64)
        times = (
            {"median": float(np.median(t)), "p95": float(np.percentile(t, 95)), "max": float(t.max())}
            if len(t)
            else {"median": None, "p95": None, "max": None}
        )
        return {
            "buildings": {
                "total": int(len(b)),
                "reachable": int(reachable.sum()),
                "unreachable": int((~reachable).sum()),
            },
            "time_s": times,
            "shelters": {
                "total": int(len(s)),
                "safe": int(s["safe"].sum()) if len(s) else 0,
                "used": int((s["assigned"] > 0).sum()) if len(s) else 0,
                "over_capacity": int(s["over_capacity"].sum()) if len(s) else 0,
            },
        }


def walk_costs(
    network: Network,
    depth_m: np.ndarray | None,
    *,
    walk_speed_m_s: float = 1.0,
    max_walk_depth_m: float = 0.5,
    flood_penalty: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Walking time (s) of every edge: ``(passable, flooded)``; ``inf`` where the edge is not in that layer.

    ``passable = length / speed * (1 + depth / max_walk_depth)`` for ``depth <= max_walk_depth``;
    ``flooded = length / speed * flood_penalty`` for deeper edges.
    """
    if not walk_speed_m_s > 0:
        raise InvalidInputError(f"walk speed {walk_speed_m_s} m/s must be positive")
    if not max_walk_depth_m > 0:
        raise InvalidInputError(f"max walk depth {max_walk_depth_m} m must be positive")
    length = network.edges["length_m"].to_numpy(np.float64)
    d = np.zeros(len(length)) if depth_m is None else np.nan_to_num(np.asarray(depth_m, np.float64), nan=0.0)
    dry_time = length / walk_speed_m_s
    deep = d > max_walk_depth_m
    shallow = np.clip(np.where(deep, 0.0, d), 0.0, None)  # deep (or inf: text zones) edges are closed
    passable = np.where(deep, np.inf, dry_time * (1.0 + shallow / max_walk_depth_m))
    flooded = np.where(deep, dry_time * flood_penalty, np.inf)
    return passable, flooded


def evacuate(
    network: Network,
    buildings: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    *,
    depth_m: np.ndarray | None = None,
    people: np.ndarray | float = 4.0,
    walk_speed_m_s: float = 1.0,
    max_walk_depth_m: float = 0.5,
    flood_penalty: float = 10.0,
    max_snap_m: float = 500.0,
    building_routes: bool = False,
) -> EvacuationResult:
    """Assign every building to a safe shelter with room (see the module docstring for the rules).

    Parameters
    ----------
    network
        A walk network (:func:`layers.evacuation.network.network_from_roads`).
    buildings
        ``building_id`` and footprints (or points), in the network CRS.
    shelters
        ``shelter_id``, ``capacity`` (people, NaN = unlimited), ``safe`` (bool) and points
        (:func:`layers.evacuation.shelters.shelters_from_facilities`). Unsafe shelters are never used.
    depth_m
        Hazard depth along every edge (:func:`edge_depth_m`); None = dry.
    people
        People in each building (array aligned with ``buildings``) or one number for all.
    building_routes
        Also return one route line per reachable building.
    """
    _check_inputs(network, buildings, shelters)
    clock = {"start": time.process_time(), "search": 0.0}
    n = network.n_nodes
    passable, flooded = walk_costs(
        network, depth_m, walk_speed_m_s=walk_speed_m_s, max_walk_depth_m=max_walk_depth_m, flood_penalty=flood_penalty
    )
    nb = len(buildings)
    ppl = np.broadcast_to(np.asarray(people, dtype=np.float64), (nb,)).copy()
    ppl = np.nan_to_num(ppl, nan=0.0)

    # Buildings join their nearest edge, but a passable one when it is (nearly) as close: a building
    # at a junction with a flooded street is not inside the flood. Shelters join passable edges only.
    dry = np.isfinite(passable)
    b_geoms = buildings.geometry.to_numpy()
    b_edge, b_frac, b_gap = network.snap(b_geoms, max_distance_m=max_snap_m)
    if not dry.all():
        d_edge, d_frac, d_gap = network.snap(b_geoms, max_distance_m=max_snap_m, usable=dry)
        use_dry = (d_edge >= 0) & (d_gap <= b_gap + JUNCTION_TOLERANCE_M)
        b_edge, b_frac, b_gap = (
            np.where(use_dry, a, b) for a, b in ((d_edge, b_edge), (d_frac, b_frac), (d_gap, b_gap))
        )
    s_edge, s_frac, s_gap = network.snap(
        shelters.geometry.to_numpy(), max_distance_m=max_snap_m, usable=None if dry.all() else dry
    )
    safe = shelters["safe"].to_numpy(bool) & (s_edge >= 0)
    capacity = shelters["capacity"].to_numpy(np.float64)
    capacity = np.where(np.isnan(capacity), np.inf, capacity)

    clock["snapped"] = time.process_time()
    graph = _Graph.build(network, passable, flooded, s_edge, s_frac, s_gap / walk_speed_m_s)
    clock["built"] = time.process_time()
    b_on = b_edge >= 0
    start_flooded = np.zeros(nb, dtype=bool)
    start_flooded[b_on] = ~np.isfinite(passable[b_edge[b_on]])

    shelter_of = np.full(nb, -1, dtype=np.int64)
    time_s = np.full(nb, np.inf)
    dist_m = np.full(nb, np.inf)
    first_choice = np.full(nb, -1, dtype=np.int64)
    first_time = np.full(nb, np.inf)
    first_dist = np.full(nb, np.inf)
    edge_people = np.zeros(network.n_edges)
    load = np.zeros(len(shelters))
    open_ = safe.copy()
    todo = np.flatnonzero(b_on)
    routes_parts: list[pd.DataFrame] = []
    stranded: list[np.ndarray] = []  # spilled, and no shelter with room is reachable any more
    round_no = 0
    if not safe.any():
        warnings.warn(
            "no safe shelter can be used (none given, all in the hazard, or all beyond "
            f"{max_snap_m:g} m of the network): every building is reported unreachable",
            stacklevel=2,
        )
    while len(todo) and open_.any():
        t0 = time.process_time()
        search = graph.search(np.flatnonzero(open_))
        clock["search"] += time.process_time() - t0
        sh, t, via = graph.assign(search, todo, b_edge, b_frac, passable, flooded, start_flooded, s_edge, s_frac, open_)
        t = t + b_gap[todo] / walk_speed_m_s
        got = sh >= 0
        if round_no > 0:
            stranded.append(todo[~got])
        d = np.full(len(todo), np.inf)
        d[got] = (
            graph.path_length(search, via[got], todo[got], b_edge, b_frac, s_edge, s_frac, s_gap, network)
            + b_gap[todo[got]]
        )
        if round_no == 0:
            first_choice[todo] = sh
            first_time[todo] = t
            first_dist[todo] = d
        # Capacity: per shelter, in order of time, accept while the running sum of people fits.
        order = np.lexsort((t[got], sh[got]))
        idx = np.flatnonzero(got)[order]
        s_sorted = sh[idx]
        csum = _grouped_cumsum(ppl[todo[idx]], s_sorted)
        fits = csum + load[s_sorted] <= capacity[s_sorted] + 1e-9
        # Once a building spills, every later building of that shelter spills too.
        spilled_before = _grouped_cumsum((~fits).astype(np.float64), s_sorted) > 0
        accept = fits & ~spilled_before
        acc = idx[accept]
        bacc = todo[acc]
        shelter_of[bacc] = sh[acc]
        time_s[bacc] = t[acc]
        dist_m[bacc] = d[acc]
        np.add.at(load, sh[acc], ppl[bacc])
        graph.add_flow(search, via[acc], ppl[bacc], edge_people)
        np.add.at(edge_people, b_edge[bacc], ppl[bacc])
        if building_routes and len(acc):
            routes_parts.append(graph.route_edges(search, via[acc], bacc, b_edge))
        full = np.unique(s_sorted[~accept])
        open_[full] = False
        todo = todo[idx[~accept]]
        round_no += 1

    # Left over: no shelter with room is reachable. They go to their first choice, now over capacity.
    left = np.concatenate([todo, *stranded]) if round_no else np.array([], dtype=np.int64)
    left = left[first_choice[left] >= 0]
    if len(left):
        shelter_of[left] = first_choice[left]
        time_s[left] = first_time[left]
        dist_m[left] = first_dist[left]
        np.add.at(load, first_choice[left], ppl[left])
        search = graph.search(np.flatnonzero(safe))
        sh, _, via = graph.assign(search, left, b_edge, b_frac, passable, flooded, start_flooded, s_edge, s_frac, safe)
        graph.add_flow(search, via, ppl[left], edge_people)
        np.add.at(edge_people, b_edge[left], ppl[left])
        if building_routes:
            routes_parts.append(graph.route_edges(search, via, left, b_edge))

    reachable = shelter_of >= 0
    reason = np.full(nb, None, dtype=object)
    reason[~reachable] = "no_route"
    reason[~b_on] = "off_network"
    if not safe.any():
        reason[~reachable] = "no_safe_shelter"
    sid = shelters["shelter_id"].to_numpy()
    out_b = gpd.GeoDataFrame(
        {
            "building_id": buildings["building_id"].to_numpy(),
            "shelter_id": _ids_or_na(sid, shelter_of),
            "distance_m": np.where(reachable, dist_m, np.nan),
            "time_s": np.where(reachable, time_s, np.nan),
            "reachable": reachable,
            "people": ppl,
            "start_flooded": start_flooded,
            "reason": pd.array(reason, dtype="string"),
        },
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    )
    if (~b_on).any():
        warnings.warn(
            f"{int((~b_on).sum())} of {nb} buildings are more than {max_snap_m:g} m from the network "
            "(outside its extent?); they are reported unreachable",
            stacklevel=2,
        )
    out_s = shelters.copy()
    out_s["assigned"] = load
    out_s["buildings"] = np.bincount(shelter_of[reachable], minlength=len(shelters))
    with np.errstate(divide="ignore", invalid="ignore"):
        out_s["load_pct"] = np.where(np.isfinite(capacity) & (capacity > 0), 100.0 * load / capacity, np.nan)
    out_s["over_capacity"] = load > capacity + 1e-9
    out_s["on_network"] = s_edge >= 0
    routes = network.edges.loc[edge_people > 0, ["edge_id", "road_class", "length_m", "geometry"]].copy()
    routes["people"] = edge_people[edge_people > 0]
    if depth_m is not None:
        routes["depth_max_m"] = np.asarray(depth_m, np.float64)[edge_people > 0]
    per_building = None
    if building_routes:
        per_building = _building_route_lines(network, routes_parts, out_b)
    end = time.process_time()
    timings = {
        "snap": clock["snapped"] - clock["start"],
        "graph": clock["built"] - clock["snapped"],
        "search": clock["search"],
        "rest": end - clock["built"] - clock["search"],
        "total": end - clock["start"],
    }
    return EvacuationResult(out_b, out_s, routes.reset_index(drop=True), per_building, timings)


def edge_depth_m(network: Network, hazard, *, classes=None) -> np.ndarray:
    """Hazard depth (m) along every edge: the max over the cells or zones it crosses (0 where dry or
    outside the hazard; ``inf`` on edges touching text-classed zones, which have no depth).

    ``hazard`` is anything :func:`layers.hazard.sources.open_hazard` takes (a path, a HazardSpec) or an
    opened hazard.
    """
    from layers.hazard.sources import HazardRaster, HazardZones, max_depth_along_lines, open_hazard

    h = hazard if isinstance(hazard, (HazardRaster, HazardZones)) else open_hazard(hazard, classes=classes)
    return np.nan_to_num(max_depth_along_lines(network.edges.geometry, h), nan=0.0, posinf=np.inf)


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


def _check_inputs(network: Network, buildings: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame) -> None:
    for name, frame, cols in (
        ("buildings", buildings, ("building_id",)),
        ("shelters", shelters, ("shelter_id", "capacity", "safe")),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InvalidInputError(f"{name} lack column(s) {', '.join(missing)}")
        if network.crs is not None and frame.crs is not None and not frame.crs.equals(network.crs):
            raise InvalidInputError(
                f"{name} are in {frame.crs.name} but the network is in {network.crs.name}; reproject first"
            )
    if network.n_edges == 0:
        raise InvalidInputError("the walk network has no edges: no road or path lines were given")


def _times(share: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """``share * cost`` where a closed (infinite) edge stays closed even for a zero share."""
    return np.where(np.isfinite(cost), share * np.where(np.isfinite(cost), cost, 0.0), np.inf)


def _ids_or_na(ids: np.ndarray, index: np.ndarray) -> pd.arrays.IntegerArray:
    """``ids[index]`` as nullable integers, NA where ``index`` is -1."""
    out = pd.array(np.zeros(len(index), dtype=np.int64), dtype="Int64")
    ok = index >= 0
    out[ok] = np.asarray(ids, dtype=np.int64)[index[ok]]
    out[~ok] = pd.NA
    return out


def _grouped_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each new group (groups already contiguous)."""
    c = np.cumsum(values)
    if len(values) == 0:
        return c
    start = np.r_[True, groups[1:] != groups[:-1]]
    base = np.maximum.accumulate(np.where(start, np.arange(len(values)), 0))
    return c - (c[base] - values[base])


@dataclass
class _Search:
    dist: np.ndarray
    pred: np.ndarray
    src: np.ndarray


@dataclass
class _Graph:
    """Reversed two-layer graph: dry nodes 0..n-1, flooded nodes n..2n-1, shelters 2n.."""

    n: int
    matrix: sparse.csr_matrix
    arc_keys: np.ndarray  # tail * size + head, sorted
    arc_edge: np.ndarray  # network edge of each arc, -1 for layer changes and shelter links
    arc_len: np.ndarray  # metres walked on each arc
    size: int
    u: np.ndarray  # network edge ends
    v: np.ndarray
    s_gap_s: np.ndarray  # seconds from each shelter to its road

    @classmethod
    def build(cls, network: Network, passable: Arr, flooded: Arr, s_edge: Arr, s_frac: Arr, s_gap_s: Arr) -> _Graph:
        n = network.n_nodes
        size = 2 * n + len(s_edge)
        length = network.edges["length_m"].to_numpy(np.float64)
        t1, h1, w1, e1 = network.arcs(passable, reverse=True)
        t2, h2, w2, e2 = network.arcs(flooded, reverse=True)
        t2, h2 = t2 + n, h2 + n
        # Forward a flooded node may step onto the dry layer; reversed: dry i -> flooded i.
        wet_nodes = np.unique(np.concatenate([t2, h2])) - n
        t3, h3 = wet_nodes, wet_nodes + n
        w3 = np.zeros(len(wet_nodes))
        # Shelter j (node 2n+j) reaches both ends of its edge on the dry layer.
        on = np.flatnonzero(s_edge >= 0)
        e = s_edge[on]
        u = network.edges["u"].to_numpy(np.int64)[e]
        v = network.edges["v"].to_numpy(np.int64)[e]
        frac = s_frac[on]
        t4 = np.concatenate([2 * n + on, 2 * n + on])
        h4 = np.concatenate([u, v])
        part = np.concatenate([frac, 1 - frac])
        w4 = _times(part, np.tile(passable[e], 2)) + np.tile(s_gap_s[on], 2)
        len4 = np.concatenate([frac, 1 - frac]) * np.tile(length[e], 2)
        tail = np.concatenate([t1, t2, t3, t4])
        head = np.concatenate([h1, h2, h3, h4])
        w = np.concatenate([w1, w2, w3, w4])
        edge = np.concatenate([e1, e2, np.full(len(t3), -1), np.tile(e, 2)])
        alen = np.concatenate([length[e1], length[e2], np.zeros(len(t3)), len4])
        ok = np.isfinite(w)
        tail, head, w, edge, alen = tail[ok], head[ok], w[ok], edge[ok], alen[ok]
        m, order = arcs_matrix(tail, head, w, size)
        keys = tail[order] * size + head[order]
        u_all = network.edges["u"].to_numpy(np.int64)
        v_all = network.edges["v"].to_numpy(np.int64)
        return cls(n, m, keys, edge[order], alen[order], size, u_all, v_all, np.asarray(s_gap_s, np.float64))

    def search(self, shelters: np.ndarray) -> _Search:
        dist, pred, src = dijkstra(
            self.matrix, directed=True, indices=2 * self.n + shelters, return_predecessors=True, min_only=True
        )
        return _Search(dist, pred, src)

    def assign(
        self,
        s: _Search,
        todo: Arr,
        b_edge: Arr,
        b_frac: Arr,
        passable: Arr,
        flooded: Arr,
        start_flooded: Arr,
        s_edge: Arr,
        s_frac: Arr,
        open_: Arr,
    ) -> tuple[Arr, Arr, Arr]:
        """Nearest open shelter, time and the node each building enters the tree at (-1 = direct)."""
        n = self.n
        e = b_edge[todo]
        f = b_frac[todo]
        wet = start_flooded[todo]
        cost = np.where(wet, flooded[e], passable[e])
        off = np.where(wet, n, 0)
        u = self.u[e] + off
        v = self.v[e] + off
        tu = s.dist[u] + _times(f, cost)
        tv = s.dist[v] + _times(1 - f, cost)
        via = np.where(tu <= tv, u, v)
        t = np.minimum(tu, tv)
        sh = np.where(np.isfinite(t), s.src[via] - 2 * n, -1)
        # A shelter on the building's own edge: walk straight along it.
        cand = np.flatnonzero(open_ & (s_edge >= 0))
        if len(cand):
            pairs = pd.DataFrame({"k": np.arange(len(todo)), "edge": e}).merge(
                pd.DataFrame({"shelter": cand, "edge": s_edge[cand]}), on="edge"
            )
            if len(pairs):
                k = pairs["k"].to_numpy()
                j = pairs["shelter"].to_numpy()
                direct = _times(np.abs(f[k] - s_frac[j]), cost[k]) + self.s_gap_s[j]
                best = pd.Series(direct).groupby(k).idxmin().to_numpy()
                k, j, direct = k[best], j[best], direct[best]
                better = direct < t[k]
                k, j = k[better], j[better]
                t[k] = direct[better]
                sh[k] = j
                via[k] = -1 - j  # marks a direct walk to shelter j
        return sh, t, via

    def path_length(
        self,
        s: _Search,
        via: Arr,
        todo: Arr,
        b_edge: Arr,
        b_frac: Arr,
        s_edge: Arr,
        s_frac: Arr,
        s_gap: Arr,
        network: Network,
    ) -> Arr:
        """Metres walked from each building's road position to its shelter."""
        length = network.edges["length_m"].to_numpy(np.float64)
        e = b_edge[todo]
        f = b_frac[todo]
        out = np.empty(len(todo))
        direct = via < 0
        j = -1 - via[direct]
        out[direct] = np.abs(f[direct] - s_frac[j]) * length[e[direct]] + s_gap[j]
        tree = ~direct
        node_len = self._node_lengths(s)
        nodes = via[tree]
        at_u = (nodes % self.n) == self.u[e[tree]]
        partial = np.where(at_u, f[tree], 1 - f[tree]) * length[e[tree]]
        out[tree] = node_len[nodes] + partial
        shelter_gap = np.zeros(self.size)
        shelter_gap[2 * self.n : 2 * self.n + len(s_gap)] = np.where(np.isfinite(s_gap), s_gap, 0)
        out[tree] += shelter_gap[s.src[nodes]]
        return out

    def _parent_arcs(self, s: _Search) -> tuple[np.ndarray, np.ndarray]:
        """For every node with a parent: (child nodes, arc index into the sorted arcs)."""
        child = np.flatnonzero(s.pred >= 0)
        arc = np.searchsorted(self.arc_keys, s.pred[child] * self.size + child)
        return child, arc

    def _node_lengths(self, s: _Search) -> np.ndarray:
        """Metres from each node to its shelter along the search tree."""
        child, arc = self._parent_arcs(s)
        return self._to_root(s, child, self.arc_len[arc])

    def _to_root(self, s: _Search, child: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum of per-arc ``values`` from every node up to its tree root (pointer doubling)."""
        acc = np.zeros(self.size)
        parent = np.full(self.size, -1, dtype=np.int64)
        acc[child] = values
        parent[child] = s.pred[child]
        idx = child
        while len(idx):
            p = parent[idx]
            acc[idx] += acc[p]
            parent[idx] = parent[p]
            idx = idx[parent[idx] >= 0]
        return acc

    def add_flow(self, s: _Search, via: Arr, people: Arr, edge_people: Arr) -> None:
        """Add each building's people to every edge of its path (subtree sums, level by level)."""
        tree = via >= 0
        flow = np.zeros(self.size)
        np.add.at(flow, via[tree], people[tree])
        child, arc = self._parent_arcs(s)
        if len(child) == 0:
            return
        depth = self._to_root(s, child, np.ones(len(child)))
        # Deepest first: a node's flow is final once all its children have been added.
        order = np.argsort(-depth[child], kind="stable")
        child, arc = child[order], arc[order]
        d = depth[child]
        bounds = np.flatnonzero(np.r_[True, d[1:] != d[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:]):
            c = child[a:b]
            np.add.at(flow, s.pred[c], flow[c])
        arc_flow = flow[child]
        real = self.arc_edge[arc] >= 0
        np.add.at(edge_people, self.arc_edge[arc][real], arc_flow[real])

    def route_edges(self, s: _Search, via: Arr, bids: Arr, b_edge: Arr) -> pd.DataFrame:
        """(building, step, edge) rows of each building's path, from its own edge to the shelter."""
        rows = [pd.DataFrame({"b": bids, "step": 0, "edge": b_edge[bids]})]
        cur = via.copy()
        cur[cur < 0] = NO_PATH
        k = 1
        active = np.flatnonzero(cur >= 0)
        while len(active):
            c = cur[active]
            p = s.pred[c]
            ok = p >= 0
            arc = np.searchsorted(self.arc_keys, p[ok] * self.size + c[ok])
            e = self.arc_edge[arc]
            rows.append(pd.DataFrame({"b": bids[active[ok]], "step": k, "edge": e}))
            cur[active] = np.where(ok, p, NO_PATH)
            active = active[ok]
            k += 1
        out = pd.concat(rows, ignore_index=True)
        return out[out["edge"] >= 0]


def _building_route_lines(network: Network, parts: list[pd.DataFrame], buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One line per routed building: its own edge and every edge of its path to the shelter, merged."""
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"b": [], "step": [], "edge": []})
    rows = rows.drop_duplicates(["b", "edge"]).sort_values(["b", "step"])
    b = rows["b"].to_numpy(np.int64)
    geoms = network.edges.geometry.to_numpy()[rows["edge"].to_numpy(np.int64)]
    uniq, inv = np.unique(b, return_inverse=True)
    lines = shapely.line_merge(shapely.multilinestrings(geoms, indices=inv)) if len(b) else np.array([], object)
    src = buildings.iloc[uniq]
    return gpd.GeoDataFrame(
        {
            "building_id": src["building_id"].to_numpy(),
            "shelter_id": src["shelter_id"].to_numpy(),
            "distance_m": src["distance_m"].to_numpy(),
            "time_s": src["time_s"].to_numpy(),
        },
        geometry=lines,
        crs=network.crs,
    )


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
) -> tuple[dict[str, gpd.GeoDataFrame], EvacuationResult]:
    """Everything an evacuation plan publishes, for one hazard scenario.

    Hazard depth along each edge and at each shelter site (``hazard``: raster path or
    :class:`~layers.area.HazardSpec`), shelters (:func:`layers.evacuation.shelters.shelters_from_facilities`
    unless ``shelters`` is given, with ``shelter_id``, ``capacity``, ``safe``), people per
    building, the assignment, then catchments and unreachable zones. Layers: ``shelters``,
    ``evacuation_buildings``, ``evacuation_routes``, ``catchments``, ``unreachable`` (and
    ``evacuation_building_routes`` when asked), each with a ``scenario`` column when given.
    """
    from layers.evacuation.access import catchments_and_unreachable
    from layers.evacuation.shelters import DEFAULT_SHELTER_CATEGORIES, M2_PER_PERSON, shelters_from_facilities

    depth = edge_depth_m(network, hazard, classes=classes) if hazard is not None else None
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
    people = people_per_building(buildings, population, default=people_default)
    res = evacuate(
        network,
        buildings,
        shelters,
        depth_m=depth,
        people=people,
        walk_speed_m_s=walk_speed_m_s,
        max_walk_depth_m=max_walk_depth_m,
        max_snap_m=max_snap_m,
        building_routes=building_routes,
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
    bad = [t for t, c in zip(tags, cats) if pd.isna(c)]
    if bad:
        raise InvalidInputError(f"shelter tag(s) {', '.join(bad)} name no known facility type (e.g. amenity=school)")
    return sorted(set(cats))


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

    Roads come from ``osm`` or ``roads``; buildings from ``buildings`` or the OSM file; shelters
    from the ``shelters`` file (every feature a shelter) or from the facilities (OSM amenities, or
    the buildings' amenity/type attributes) of ``shelter_tags`` categories. ``capacity_field``
    names the capacity column of the shelters or buildings file. ``hazard_field`` makes ``hazard``
    vector zones classified by that attribute (``classes`` such as ``wet:yes``: roads touching a
    zone are closed). Works in the buildings' UTM zone.
    """
    from tqdm.auto import tqdm

    from layers.evacuation.network import network_from_roads
    from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, parse_classes
    from layers.hazard.sources import open_hazard
    from layers.io.crs import working_crs
    from layers.io.osm import buildings_from_osm, facilities_from_osm, roads_from_osm
    from layers.io.vectors import (
        buildings_from_frame,
        facilities_from_buildings,
        facilities_from_frame,
        read_vector,
        roads_from_file,
    )

    if bool(osm) == bool(roads):
        raise InvalidInputError("give exactly one of --osm FILE or --roads PATH")
    if shelters and shelter_tags:
        raise InvalidInputError("give --shelters PATH or --shelter-tags, not both")
    if not (buildings or osm):
        raise InvalidInputError("no buildings: give --buildings PATH (or an --osm file holding buildings)")
    scheme = parse_classes(classes or DEFAULT_FLOOD_CLASSES)
    opened = open_hazard(hazard, classes=scheme, field=hazard_field)
    categories = shelter_categories_from_tags(shelter_tags) if shelter_tags else None
    bar = tqdm(total=4, desc="evacuate", unit="step", disable=not progress)
    # The capacity field belongs to the shelters file when one is given, else to the buildings file.
    b_capacity = None if shelters else capacity_field
    if b_capacity and not buildings:
        raise InvalidInputError("--capacity-field names a field of a --shelters or --buildings file; give one of them")
    raw_b = _with_capacity(read_vector(buildings, what="buildings"), b_capacity, buildings) if buildings else None
    crs = working_crs(raw_b if raw_b is not None else roads_from_osm(osm))
    b = (
        buildings_from_frame(raw_b, crs=crs, source=buildings)
        if raw_b is not None
        else buildings_from_osm(osm, crs=crs)
    )
    r = roads_from_osm(osm, crs=crs) if osm else roads_from_file(roads, crs=crs)
    if shelters:
        raw_s = _with_capacity(read_vector(shelters, what="shelters"), capacity_field, shelters)
        f = facilities_from_frame(raw_s, crs=crs, category="shelter")
        categories = ["shelter"]
    elif osm:
        f = facilities_from_osm(osm, crs=crs)
    else:
        f = facilities_from_buildings(raw_b, crs=crs, source=buildings)
    bar.update()
    net = network_from_roads(r, mode="walk")
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
    )
    bar.update(2)
    bar.close()
    return layers, res


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


def evacuation_step(area, built: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Build step: every evacuation and access layer for every hazard scenario of ``area``.

    Uses the ``[shelters]`` and ``[evacuation]`` sections of area.toml, published field reports of
    category ``shelter_site`` (a ``field_reports`` layer built earlier) as extra shelters, and the
    first boundary set for emergency access. Layers carry a ``scenario`` column.
    """
    from tqdm.auto import tqdm

    from layers.evacuation.access import ISOCHRONE_MINUTES, emergency_access, isochrones
    from layers.evacuation.network import network_from_roads

    cfg, shl = area.evacuation, area.shelters
    buildings = built.get("buildings", None)
    buildings = area.buildings() if buildings is None else buildings
    roads = built.get("roads", None)
    roads = area.roads() if roads is None else roads
    facilities = built.get("facilities", None)
    facilities = area.facilities() if facilities is None else facilities
    extra = _published_shelter_sites(built.get("field_reports"))
    capacity_field = shl.get("capacity_field")
    if capacity_field and capacity_field not in facilities.columns and capacity_field.lower() == "capacity":
        capacity_field = None  # the loaders already parsed the capacity attribute into ``capacity``
    walk = network_from_roads(roads, mode="walk")
    drive = network_from_roads(roads, mode="drive")
    boundaries = area.boundary_layer() if area.boundaries else None
    parts: dict[str, list[gpd.GeoDataFrame]] = {}
    for hz in tqdm(
        area.hazards, desc="evacuation", unit="scenario", leave=False, disable=None
    ):  # None: only on a terminal
        layers, _ = evacuation_layers(
            walk,
            buildings,
            facilities,
            hazard=hz,
            extra_shelters=extra,
            shelter_categories=shl.get("categories"),
            capacity_field=capacity_field,
            m2_per_person=shl.get("m2_per_person"),
            default_capacity=shl.get("default_capacity"),
            population=area.population,
            people_default=float(cfg.get("people_per_building", 4.0)),
            walk_speed_m_s=float(cfg.get("walk_speed_m_s", 1.0)),
            max_walk_depth_m=float(cfg.get("max_walk_depth_m", 0.5)),
            scenario=hz.id,
        )
        if boundaries is not None:
            depth = edge_depth_m(drive, hz)
            access, node_time = emergency_access(
                drive,
                facilities,
                boundaries,
                depth_m=depth,
                max_drive_depth_m=float(cfg.get("max_drive_depth_m", 0.3)),
                drive_speed_kph=cfg.get("drive_speed_kph"),
            )
            layers["emergency_access"] = access.assign(scenario=hz.id)
            bands = cfg.get("isochrones_min", ISOCHRONE_MINUTES)
            layers["isochrones"] = isochrones(drive, node_time, minutes=bands).assign(scenario=hz.id)
        for name, gdf in layers.items():
            parts.setdefault(name, []).append(gdf)
    return {name: gpd.GeoDataFrame(pd.concat(p, ignore_index=True), crs=p[0].crs) for name, p in parts.items()}


def _published_shelter_sites(reports: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Published field reports of category ``shelter_site`` (None when there are none)."""
    if reports is None or len(reports) == 0 or "category" not in reports.columns:
        return None
    keep = reports["category"].astype("string").eq("shelter_site").fillna(False)
    if "status" in reports.columns:
        keep &= reports["status"].astype("string").eq("published").fillna(False)
    return reports[keep.to_numpy()] if keep.any() else None
