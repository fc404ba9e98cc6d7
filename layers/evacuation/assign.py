"""Evacuation: the nearest safe shelter with room for every building, by walking time.

Costs, the two-layer graph, the one-pass search and what ``distance_m`` measures are described in
:mod:`layers.evacuation.graph`.

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

from layers.errors import EmptyLayerError, InvalidInputError
from layers.evacuation.graph import Reach, WalkGraph, snap_buildings, snap_shelters, walk_costs
from layers.evacuation.memory import release_memory
from layers.evacuation.network import Network
from layers.evacuation.routes import add_flow, building_route_lines, edge_routes, route_edges
from layers.evacuation.snap import Snap
from layers.settings import MAX_WALK_DEPTH_M, PEOPLE_PER_BUILDING, WALK_SPEED_M_S, check_walk_speed

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


@dataclass
class _Plan:
    """The fixed inputs of every capacity round."""

    graph: WalkGraph
    buildings: Snap
    start_flooded: np.ndarray
    people: np.ndarray
    safe: np.ndarray
    capacity: np.ndarray  # inf = unlimited


@dataclass
class _State:
    """The assignment as it grows round by round."""

    shelter_of: np.ndarray
    time_s: np.ndarray
    dist_m: np.ndarray
    first: Reach  # each building's nearest safe shelter (the fallback when all with room are out of reach)
    load: np.ndarray
    open_: np.ndarray
    edge_people: np.ndarray
    route_parts: list[pd.DataFrame] = field(default_factory=list)
    stranded: list[np.ndarray] = field(default_factory=list)  # spilled, and no shelter with room is reachable

    @classmethod
    def start(cls, n_buildings: int, n_edges: int, safe: np.ndarray) -> _State:
        none = np.full(n_buildings, -1, dtype=np.int64)
        inf = np.full(n_buildings, np.inf)
        return cls(
            none.copy(),
            inf.copy(),
            inf.copy(),
            Reach(none, inf, inf, none),
            np.zeros(len(safe)),
            safe.copy(),
            np.zeros(n_edges),
        )


def evacuate(
    network: Network,
    buildings: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    *,
    depth_m: np.ndarray | None = None,
    people: np.ndarray | float = PEOPLE_PER_BUILDING,
    walk_speed_m_s: float = WALK_SPEED_M_S,
    max_walk_depth_m: float = MAX_WALK_DEPTH_M,
    flood_penalty: float = 10.0,
    max_snap_m: float = 500.0,
    building_routes: bool = False,
    keep_snap_index: bool = True,
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
        Hazard depth along every edge (:func:`layers.evacuation.graph.edge_depth_m`); None = dry.
    people
        People in each building (array aligned with ``buildings``) or one number for all.
    building_routes
        Also return one route line per reachable building.
    keep_snap_index
        False: the network forgets its snapping index once buildings and shelters are snapped
        (:meth:`~layers.evacuation.network.Network.drop_pieces`), for one-off runs on large networks.
    """
    _check_inputs(network, buildings, shelters)
    check_walk_speed(walk_speed_m_s)
    clock = {"start": time.process_time(), "search": 0.0}
    passable, flooded = walk_costs(
        network, depth_m, walk_speed_m_s=walk_speed_m_s, max_walk_depth_m=max_walk_depth_m, flood_penalty=flood_penalty
    )
    b_snap = snap_buildings(network, buildings.geometry.to_numpy(), passable, max_snap_m=max_snap_m)
    s_snap = snap_shelters(network, shelters.geometry.to_numpy(), passable, max_snap_m=max_snap_m)
    if not keep_snap_index:
        network.drop_pieces()
        release_memory()  # the pieces and their KD-tree: one-off runs are the big ones
    clock["snapped"] = time.process_time()
    plan = _plan(network, buildings, shelters, people, passable, flooded, b_snap, s_snap, walk_speed_m_s)
    clock["built"] = time.process_time()
    if not plan.safe.any():
        warnings.warn(
            "no safe shelter can be used (none given, all in the hazard, or all beyond "
            f"{max_snap_m:g} m of the network): every building is reported unreachable",
            stacklevel=2,
        )
    state = _State.start(len(buildings), network.n_edges, plan.safe)
    clock["search"] = _assign_with_room(plan, state, building_routes)
    _assign_leftovers(plan, state, building_routes)
    out_b = _building_table(buildings, shelters, plan, state)
    if (b_snap.edge < 0).any():
        warnings.warn(
            f"{int((b_snap.edge < 0).sum())} of {len(buildings)} buildings are more than {max_snap_m:g} m from "
            "the network (outside its extent?); they are reported unreachable",
            stacklevel=2,
        )
    out_s = _shelter_table(shelters, plan, state, s_snap)
    # The graph (1 GB at 5M nodes), costs and snaps are done with: freed before the route lines are made.
    del plan, passable, flooded, b_snap
    routes = edge_routes(network, state.edge_people, depth_m)
    per_building = building_route_lines(network, state.route_parts, out_b) if building_routes else None
    end = time.process_time()
    timings = {
        "snap": clock["snapped"] - clock["start"],
        "graph": clock["built"] - clock["snapped"],
        "search": clock["search"],
        "rest": end - clock["built"] - clock["search"],
        "total": end - clock["start"],
    }
    return EvacuationResult(out_b, out_s, routes, per_building, timings)


def _plan(
    network: Network,
    buildings: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    people: np.ndarray | float,
    passable: np.ndarray,
    flooded: np.ndarray,
    b_snap: Snap,
    s_snap: Snap,
    walk_speed_m_s: float,
) -> _Plan:
    """The graph and the per-building and per-shelter facts every round uses."""
    nb = len(buildings)
    ppl = np.nan_to_num(np.broadcast_to(np.asarray(people, dtype=np.float64), (nb,)).copy(), nan=0.0)
    capacity = shelters["capacity"].to_numpy(np.float64)
    graph = WalkGraph.build(network, passable, flooded, s_snap, walk_speed_m_s)
    on = b_snap.edge >= 0
    start_flooded = np.zeros(nb, dtype=bool)
    start_flooded[on] = ~np.isfinite(passable[b_snap.edge[on]])
    return _Plan(
        graph=graph,
        buildings=b_snap,
        start_flooded=start_flooded,
        people=ppl,
        safe=shelters["safe"].to_numpy(bool) & (s_snap.edge >= 0),
        capacity=np.where(np.isnan(capacity), np.inf, capacity),
    )


def _assign_with_room(plan: _Plan, state: _State, building_routes: bool) -> float:
    """Capacity rounds until every building has a shelter or none with room is reachable; returns
    the CPU seconds spent searching."""
    todo = np.flatnonzero(plan.buildings.edge >= 0)
    searching = 0.0
    round_no = 0
    while len(todo) and state.open_.any():
        t0 = time.process_time()
        search = plan.graph.search(np.flatnonzero(state.open_))
        searching += time.process_time() - t0
        r = plan.graph.reach(search, todo, plan.buildings, plan.start_flooded, state.open_)
        got = r.shelter >= 0
        if round_no == 0:
            state.first = Reach(*(_scatter(a, todo, b) for a, b in zip(state.first, r, strict=True)))
        else:
            state.stranded.append(todo[~got])
        # Capacity: per shelter, in order of time, accept while the running sum of people fits.
        idx = np.flatnonzero(got)[np.lexsort((r.time_s[got], r.shelter[got]))]
        s_sorted = r.shelter[idx]
        csum = _grouped_cumsum(plan.people[todo[idx]], s_sorted)
        fits = csum + state.load[s_sorted] <= plan.capacity[s_sorted] + 1e-9
        # Once a building spills, every later building of that shelter spills too.
        accept = fits & ~(_grouped_cumsum((~fits).astype(np.float64), s_sorted) > 0)
        acc = idx[accept]
        bacc = todo[acc]
        state.shelter_of[bacc] = r.shelter[acc]
        state.time_s[bacc] = r.time_s[acc]
        state.dist_m[bacc] = r.distance_m[acc]
        np.add.at(state.load, r.shelter[acc], plan.people[bacc])
        _count_people(plan, state, search, r.via[acc], bacc, building_routes)
        state.open_[np.unique(s_sorted[~accept])] = False
        todo = todo[idx[~accept]]
        round_no += 1
    state.stranded.append(todo if round_no else np.array([], dtype=np.int64))
    return searching


def _assign_leftovers(plan: _Plan, state: _State, building_routes: bool) -> None:
    """Buildings no shelter with room can take go to their nearest safe shelter, now over capacity."""
    left = np.concatenate(state.stranded) if state.stranded else np.array([], dtype=np.int64)
    left = left[state.first.shelter[left] >= 0]
    if not len(left):
        return
    state.shelter_of[left] = state.first.shelter[left]
    state.time_s[left] = state.first.time_s[left]
    state.dist_m[left] = state.first.distance_m[left]
    np.add.at(state.load, state.first.shelter[left], plan.people[left])
    search = plan.graph.search(np.flatnonzero(plan.safe))
    r = plan.graph.reach(search, left, plan.buildings, plan.start_flooded, plan.safe)
    _count_people(plan, state, search, r.via, left, building_routes)


def _count_people(plan: _Plan, state: _State, search, via: np.ndarray, bids: np.ndarray, building_routes: bool) -> None:
    """Add the people of buildings ``bids`` to the edges of their paths (and keep the paths if asked)."""
    add_flow(plan.graph, search, via, plan.people[bids], state.edge_people)
    np.add.at(state.edge_people, plan.buildings.edge[bids], plan.people[bids])
    if building_routes and len(bids):
        state.route_parts.append(route_edges(plan.graph, search, via, bids, plan.buildings.edge))


def _building_table(
    buildings: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, plan: _Plan, state: _State
) -> gpd.GeoDataFrame:
    reachable = state.shelter_of >= 0
    reason = np.full(len(buildings), None, dtype=object)
    reason[~reachable] = "no_route"
    reason[plan.buildings.edge < 0] = "off_network"
    if not plan.safe.any():
        reason[~reachable] = "no_safe_shelter"
    return gpd.GeoDataFrame(
        {
            "building_id": buildings["building_id"].to_numpy(),
            "shelter_id": _ids_or_na(shelters["shelter_id"].to_numpy(), state.shelter_of),
            "distance_m": np.where(reachable, state.dist_m, np.nan),
            "time_s": np.where(reachable, state.time_s, np.nan),
            "reachable": reachable,
            "people": plan.people,
            "start_flooded": plan.start_flooded,
            "reason": pd.array(reason, dtype="string"),
        },
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    )


def _shelter_table(shelters: gpd.GeoDataFrame, plan: _Plan, state: _State, s_snap: Snap) -> gpd.GeoDataFrame:
    out = shelters.copy()
    load, capacity = state.load, plan.capacity
    reachable = state.shelter_of >= 0
    out["assigned"] = load
    out["buildings"] = np.bincount(state.shelter_of[reachable], minlength=len(shelters))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["load_pct"] = np.where(np.isfinite(capacity) & (capacity > 0), 100.0 * load / capacity, np.nan)
    out["over_capacity"] = load > capacity + 1e-9
    out["on_network"] = s_snap.edge >= 0
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
        raise EmptyLayerError("roads: the walk network has no edges (no road or path line that can be walked)")


def _scatter(base: np.ndarray, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = base.copy()
    out[index] = values
    return out


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
