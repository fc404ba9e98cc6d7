"""Walking distances from every building to the nearest facility of each kind, along the walk network."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

# Indicator name: facility categories it walks to.
FACILITY_KINDS: dict[str, tuple[str, ...]] = {
    "walk_health_m": ("hospital", "clinic", "doctors"),
    "walk_school_m": ("school", "kindergarten"),
    "walk_water_m": ("water_point",),
}


def walk_distances(
    network, buildings: gpd.GeoDataFrame, targets: dict[str, gpd.GeoDataFrame], *, snap_m: float = 500.0
) -> dict[str, np.ndarray]:
    """Walking distance (m) from every building to the nearest target of each set, along ``network``
    (a walk :class:`layers.evacuation.network.Network`); inf where the building or every target is off the network.

    Buildings are snapped to their nearest edge once (:meth:`Network.snap`, within
    ``snap_m``); then per target set one Dijkstra pass from a virtual source joined
    to both ends of every target's edge (cost: snap gap + along-edge offset). A
    building at fraction ``g`` of edge ``(u, v)`` of length ``L`` is
    ``gap + min(D[u] + g·L, D[v] + (1-g)·L)`` away, or walks straight along its
    edge to a target on the same edge. Same rules as :func:`layers.evacuation.assign.evacuate`
    without hazard or capacity (checked against it in the tests); snapping once
    instead of once per set keeps 1M buildings fast.
    """
    out = {name: np.full(len(buildings), np.inf) for name in targets}
    if network.n_edges == 0 or len(buildings) == 0:
        return out
    lengths = network.table["length_m"].to_numpy(np.float64)
    u = network.table["u"].to_numpy(np.int64)
    v = network.table["v"].to_numpy(np.int64)
    b_edge, b_frac, b_gap = network.snap(buildings.geometry.values, max_distance_m=snap_m)
    on = np.flatnonzero(b_edge >= 0)
    e, g = b_edge[on], b_frac[on]
    base = sparse.hstack([network.matrix(lengths), sparse.csr_matrix((network.n_nodes, 1))])
    for name, pts in targets.items():
        if len(pts) == 0:
            continue
        t_edge, t_frac, t_gap = network.snap(pts.geometry.values, max_distance_m=snap_m)
        ok = t_edge >= 0
        if not ok.any():
            continue
        t_edge, t_frac, t_gap = t_edge[ok], t_frac[ok], t_gap[ok]
        dist = _distances_from_targets(base, u, v, lengths, t_edge, t_frac, t_gap)
        d = b_gap[on] + np.minimum(dist[u[e]] + g * lengths[e], dist[v[e]] + (1 - g) * lengths[e])
        _same_edge_walks(d, e, g, b_gap[on], t_edge, t_frac, t_gap, lengths)
        out[name][on] = d
    return out


def _distances_from_targets(base, u, v, lengths, t_edge, t_frac, t_gap) -> np.ndarray:
    """Network distance of every node to its nearest target: Dijkstra from a virtual node joined to the targets."""
    n = base.shape[0]
    legs = (
        pd.Series(
            np.concatenate([t_gap + t_frac * lengths[t_edge], t_gap + (1 - t_frac) * lengths[t_edge]]),
            index=np.concatenate([u[t_edge], v[t_edge]]),
        )
        .groupby(level=0)
        .min()
    )
    # scipy.sparse drops explicit zeros: a target exactly on a node still needs its arc.
    cost = np.maximum(legs.to_numpy(), 1e-9)
    row = sparse.csr_matrix((cost, (np.zeros(len(legs), int), legs.index)), shape=(1, n + 1))
    return dijkstra(sparse.vstack([base, row]).tocsr(), directed=True, indices=n)


def _same_edge_walks(d, e, g, gap, t_edge, t_frac, t_gap, lengths) -> None:
    """Lower ``d`` in place where a target on the building's own edge is nearer straight along the edge."""
    pairs = pd.DataFrame({"i": np.arange(len(e)), "edge": e, "g": g}).merge(
        pd.DataFrame({"edge": t_edge, "f": t_frac, "s": t_gap}), on="edge"
    )
    if not len(pairs):
        return
    i = pairs["i"].to_numpy()
    along = np.abs(pairs["g"] - pairs["f"]).to_numpy() * lengths[pairs["edge"].to_numpy()]
    best = pd.Series(gap[i] + pairs["s"].to_numpy() + along).groupby(i).min()
    d[best.index.to_numpy()] = np.minimum(d[best.index.to_numpy()], best.to_numpy())


def facility_walks(buildings: gpd.GeoDataFrame, roads, facilities) -> dict:
    """Per-building walks to each facility kind of :data:`FACILITY_KINDS`; ``<name>:why`` says why one is missing."""
    out: dict = {}
    if roads is None or facilities is None or len(roads) == 0:
        for name in FACILITY_KINDS:
            out[f"{name}:why"] = "no roads given" if roads is None or len(roads) == 0 else "no facilities given"
        return out
    from layers.evacuation.network import network_from_roads

    net = network_from_roads(roads, mode="walk")
    targets = {}
    for name, kinds in FACILITY_KINDS.items():
        pts = facilities[facilities["category"].isin(kinds).to_numpy()]
        if len(pts) == 0:
            out[f"{name}:why"] = f"no facilities of category {', '.join(kinds)}"
        else:
            targets[name] = pts
    out.update(walk_distances(net, buildings, targets))
    return out
