"""The routing graph of an evacuation: edge costs from the hazard, where buildings and shelters join it,
and one multi-source search from the shelters.

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
  take the cheaper end (or walk straight along it to a shelter on the same edge).
* **The walk** (``distance_m``) runs from the building's representative point
  (``shapely.point_on_surface``) straight to its nearest street, along the streets
  (only the walked part of the first and last one) and straight from the street
  to the shelter point. The straight legs are walked at dry speed, so on dry
  streets ``time_s == distance_m / walk_speed``. Times and metres are summed along
  the same search tree in the same order, so the two agree to the last bit when
  the speed is 1 m/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from layers.errors import InvalidInputError
from layers.evacuation.network import Network, arcs_matrix
from layers.evacuation.snap import Snap
from layers.settings import MAX_WALK_DEPTH_M, WALK_SPEED_M_S

Arr = np.ndarray
JUNCTION_TOLERANCE_M = 5.0  # a passable edge this much farther than a flooded one is still preferred


def walk_costs(
    network: Network,
    depth_m: np.ndarray | None,
    *,
    walk_speed_m_s: float = WALK_SPEED_M_S,
    max_walk_depth_m: float = MAX_WALK_DEPTH_M,
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
    length = network.table["length_m"].to_numpy(np.float64)
    d = np.zeros(len(length)) if depth_m is None else np.nan_to_num(np.asarray(depth_m, np.float64), nan=0.0)
    dry_time = length / walk_speed_m_s
    deep = d > max_walk_depth_m
    shallow = np.clip(np.where(deep, 0.0, d), 0.0, None)  # deep (or inf: text zones) edges are closed
    passable = np.where(deep, np.inf, dry_time * (1.0 + shallow / max_walk_depth_m))
    flooded = np.where(deep, dry_time * flood_penalty, np.inf)
    return passable, flooded


def edge_depth_m(network: Network, hazard, *, classes=None) -> np.ndarray:
    """Hazard depth (m) along every edge: the max over the cells or zones it crosses (0 where dry or
    outside the hazard; ``inf`` on edges touching text-classed zones, which have no depth).

    ``hazard`` is anything :func:`layers.hazard.sources.open_hazard` takes (a path, a HazardSpec) or an
    opened hazard. On a raster, only the edges near a non-zero cell (:func:`near_wet_cells`) are
    sampled cell by cell: every other edge crosses only zero or nodata cells, so its depth is 0 anyway.
    """
    from layers.hazard.sampling import max_depth_along_lines
    from layers.hazard.sources import HazardRaster, HazardZones, open_hazard

    h = hazard if isinstance(hazard, (HazardRaster, HazardZones)) else open_hazard(hazard, classes=classes)
    if not isinstance(h, HazardRaster) or network.n_edges == 0:
        return np.nan_to_num(max_depth_along_lines(network.edges.geometry, h), nan=0.0, posinf=np.inf)
    if network.crs is not None and not network.crs.equals(h.crs):
        lines = network.edges.geometry.to_crs(h.crs)  # once, for the check and the sampling
        near = near_wet_cells(shapely.bounds(lines.to_numpy()), h)
    else:  # the edges' boxes from their coordinates; lines made only for the edges near water
        lines = None
        near = near_wet_cells(network.lines.bounds(), h)
    depth = np.zeros(network.n_edges)
    if near.any():
        wet = lines[near] if lines is not None else gpd.GeoSeries(network.edge_lines(np.flatnonzero(near)), crs=h.crs)
        depth[near] = np.nan_to_num(max_depth_along_lines(wet, h), nan=0.0, posinf=np.inf)
    return depth


WET_GRID_CELLS = 4_000_000  # the coarse grid of wet blocks stays a few tens of MB however large the raster


def near_wet_cells(bounds: np.ndarray, raster) -> np.ndarray:
    """Whether each box (minx, miny, maxx, maxy, in the raster CRS) grown by one cell reaches a block of
    the raster holding a cell that is neither 0 nor nodata (False for an empty geometry's NaN box).

    The raster is read once over the boxes' extent, by bands of rows, and kept as a coarse grid of
    blocks (wet or not); a box is then answered from the grid's summed-area table. On an all-dry raster
    no box is looked at (10M edges: 2 s of index arithmetic saved).
    """
    near = np.zeros(len(bounds), dtype=bool)
    finite = np.isfinite(bounds).all(axis=1)
    if not finite.any():
        return near
    t = raster.transform
    lo = [np.min(bounds[:, k], where=finite, initial=np.inf) for k in (0, 1)]  # the finite boxes' extent
    hi = [np.max(bounds[:, k], where=finite, initial=-np.inf) for k in (2, 3)]
    cols = _cells(np.array([lo[0], hi[0]]), t.c, t.a, raster.width)
    rows = _cells(np.array([lo[1], hi[1]]), t.f, t.e, raster.height)
    if cols is None or rows is None:
        return near
    wc0, wc1 = int(cols[0]), int(cols[1]) + 1  # the window: the extent's first and last cells
    wr0, wr1 = int(rows[0]), int(rows[1]) + 1
    block = max(1, int(np.ceil(np.sqrt((wc1 - wc0) * (wr1 - wr0) / WET_GRID_CELLS))))
    wet = _wet_blocks(raster, wc0, wr0, wc1 - wc0, wr1 - wr0, block)
    if not wet.any():
        return near
    sat = np.zeros((wet.shape[0] + 1, wet.shape[1] + 1), dtype=np.int64)
    sat[1:, 1:] = wet.cumsum(axis=0).cumsum(axis=1)
    i = np.flatnonzero(finite)
    c, r = (
        _cells(np.stack([bounds[i, 0], bounds[i, 2]]), t.c, t.a, raster.width),
        _cells(np.stack([bounds[i, 1], bounds[i, 3]]), t.f, t.e, raster.height),
    )
    if c is None or r is None:  # the extent reaches the raster, but no box does on this axis
        return near
    inside = c[2] & r[2]
    i, (c0, c1), (r0, r1) = i[inside], (c[0][inside], c[1][inside]), (r[0][inside], r[1][inside])
    g0, g1 = (r0 - wr0) // block, (r1 - wr0) // block + 1
    k0, k1 = (c0 - wc0) // block, (c1 - wc0) // block + 1
    near[i] = (sat[g1, k1] - sat[g0, k1] - sat[g1, k0] + sat[g0, k0]) > 0
    return near


def _cells(ends: np.ndarray, origin: float, step: float, size: int):
    """First and last cell (grown by one, cut to ``[0, size)``) of the spans between ``ends[0]`` and
    ``ends[1]`` along one raster axis, and whether each span reaches the raster; None if none does."""
    fa, fb = (ends[0] - origin) / step, (ends[1] - origin) / step
    lo = np.floor(np.minimum(fa, fb)).astype(np.int64) - 1
    hi = np.floor(np.maximum(fa, fb)).astype(np.int64) + 1
    reaches = (hi >= 0) & (lo < size)
    if not reaches.any():
        return None
    return np.clip(lo, 0, size - 1), np.clip(hi, 0, size - 1), reaches


def _wet_blocks(raster, col: int, row: int, width: int, height: int, block: int) -> np.ndarray:
    """Blocks of ``block``² cells of a raster window holding a non-zero, non-nodata cell (read by bands)."""
    from rasterio.windows import Window

    gw, gh = -(-width // block), -(-height // block)
    wet = np.zeros((gh, gw), dtype=bool)
    band = block * max(1, 1024 // block)  # rows per read: whole blocks
    with raster.windows() as src:
        for top in range(0, height, band):
            rows = min(band, height - top)
            v = src.read(Window(col, row + top, width, rows))
            cells = np.isfinite(v) & (v != 0)
            pad = np.zeros((-(-rows // block) * block, gw * block), dtype=bool)
            pad[:rows, :width] = cells
            wet[top // block : top // block + pad.shape[0] // block] = pad.reshape(
                pad.shape[0] // block, block, gw, block
            ).any(axis=(1, 3))
    return wet


def snap_buildings(network: Network, geoms, passable: Arr, *, max_snap_m: float) -> Snap:
    """Each building's nearest edge, but a passable one when it is (nearly) as close: a building at a
    junction with a flooded street is not inside the flood."""
    nearest = network.snap(geoms, max_distance_m=max_snap_m)
    dry = np.isfinite(passable)
    if dry.all():
        return nearest
    on_dry = network.snap(geoms, max_distance_m=max_snap_m, usable=dry)
    use_dry = (on_dry.edge >= 0) & (on_dry.gap_m <= nearest.gap_m + JUNCTION_TOLERANCE_M)
    return on_dry.where(use_dry, nearest)


def snap_shelters(network: Network, geoms, passable: Arr, *, max_snap_m: float) -> Snap:
    """Each shelter's nearest passable edge (people arrive on foot, from dry streets)."""
    dry = np.isfinite(passable)
    return network.snap(geoms, max_distance_m=max_snap_m, usable=None if dry.all() else dry)


def _times(share: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """``share * cost`` where a closed (infinite) edge stays closed even for a zero share."""
    return np.where(np.isfinite(cost), share * np.where(np.isfinite(cost), cost, 0.0), np.inf)


@dataclass
class Search:
    """One multi-source search: per graph node its time to the nearest source, predecessor and source."""

    dist: np.ndarray
    pred: np.ndarray  # int64: scipy returns int32, and ``pred * size`` must not overflow on large graphs
    src: np.ndarray


class Reach(NamedTuple):
    """Where each building goes in one search."""

    shelter: Arr  # shelter index, -1 when none is reachable
    time_s: Arr
    distance_m: Arr
    via: Arr  # graph node where the building joins the search tree; -1 - j for a direct walk to shelter j


@dataclass
class WalkGraph:
    """Reversed two-layer graph: dry nodes 0..n-1, flooded nodes n..2n-1, shelters 2n.."""

    n: int
    matrix: sparse.csr_matrix
    arc_keys: np.ndarray  # tail * size + head (int64), sorted
    arc_edge: np.ndarray  # network edge of each arc, -1 for layer changes and shelter links
    arc_cost: np.ndarray  # (seconds, metres) of each arc; shelter links include the straight leg
    size: int
    u: np.ndarray  # network edge ends
    v: np.ndarray
    length: np.ndarray  # metres of each network edge
    passable: np.ndarray  # seconds of each edge on the dry layer (inf = closed)
    flooded: np.ndarray  # seconds of each edge on the flooded layer (inf = not flooded)
    shelters: Snap
    walk_speed_m_s: float

    @classmethod
    def build(cls, network: Network, passable: Arr, flooded: Arr, shelters: Snap, walk_speed_m_s: float) -> WalkGraph:
        n = network.n_nodes
        size = 2 * n + len(shelters.edge)
        length = network.table["length_m"].to_numpy(np.float64)
        t1, h1, w1, e1 = network.arcs(passable, reverse=True)
        t2, h2, w2, e2 = network.arcs(flooded, reverse=True)
        t2, h2 = t2 + n, h2 + n
        # Forward a flooded node may step onto the dry layer; reversed: dry i -> flooded i.
        wet_nodes = np.unique(np.concatenate([t2, h2])) - n
        t3, h3 = wet_nodes, wet_nodes + n
        # Shelter j (node 2n+j) reaches both ends of its edge on the dry layer.
        on = np.flatnonzero(shelters.edge >= 0)
        e = shelters.edge[on]
        u_all = network.table["u"].to_numpy(np.int64)
        v_all = network.table["v"].to_numpy(np.int64)
        t4 = np.concatenate([2 * n + on, 2 * n + on])
        h4 = np.concatenate([u_all[e], v_all[e]])
        part = np.concatenate([shelters.frac[on], 1 - shelters.frac[on]])
        gap = np.tile(shelters.gap_m[on], 2)
        w4 = _times(part, np.tile(passable[e], 2)) + gap / walk_speed_m_s
        len4 = part * np.tile(length[e], 2) + gap
        tail = np.concatenate([t1, t2, t3, t4]).astype(np.int64)
        head = np.concatenate([h1, h2, h3, h4]).astype(np.int64)
        w = np.concatenate([w1, w2, np.zeros(len(t3)), w4])
        edge = np.concatenate([e1, e2, np.full(len(t3), -1), np.tile(e, 2)])
        metres = np.concatenate([length[e1], length[e2], np.zeros(len(t3)), len4])
        ok = np.isfinite(w)
        tail, head, w, edge, metres = tail[ok], head[ok], w[ok], edge[ok], metres[ok]
        m, order = arcs_matrix(tail, head, w, size)
        keys = tail[order] * size + head[order]
        cost = np.column_stack([w[order], metres[order]])
        return cls(
            n, m, keys, edge[order], cost, size, u_all, v_all, length, passable, flooded, shelters, walk_speed_m_s
        )

    def search(self, shelters: np.ndarray) -> Search:
        """Nearest of ``shelters`` (indices) for every node, in one multi-source pass."""
        dist, pred, src = dijkstra(
            self.matrix, directed=True, indices=2 * self.n + shelters, return_predecessors=True, min_only=True
        )
        return Search(dist, pred.astype(np.int64), src.astype(np.int64))

    def reach(self, s: Search, todo: Arr, buildings: Snap, start_flooded: Arr, open_: Arr) -> Reach:
        """Nearest open shelter of each building of ``todo``, with its time and walk.

        The building takes the cheaper end of its edge, or walks straight along it to an open shelter
        on the same edge; the straight leg from the building to its edge counts at dry speed.
        """
        n = self.n
        e, f, gap = buildings.edge[todo], buildings.frac[todo], buildings.gap_m[todo]
        wet = start_flooded[todo]
        cost = np.where(wet, self.flooded[e], self.passable[e])
        off = np.where(wet, n, 0)
        tu = s.dist[self.u[e] + off] + _times(f, cost)
        tv = s.dist[self.v[e] + off] + _times(1 - f, cost)
        at_u = tu <= tv
        via = np.where(at_u, self.u[e], self.v[e]) + off
        best = np.minimum(tu, tv)
        sh = np.where(np.isfinite(best), s.src[via] - 2 * n, -1)
        share = np.where(at_u, f, 1 - f)
        tree = self.tree_costs(s)[via]
        time_s = tree[:, 0] + _times(share, cost)
        metres = tree[:, 1] + share * self.length[e]
        k, j, direct = self._direct(todo, e, f, cost, open_)
        better = direct < best[k]
        k, j = k[better], j[better]
        sh[k], via[k] = j, -1 - j
        time_s[k] = direct[better]
        metres[k] = np.abs(f[k] - self.shelters.frac[j]) * self.length[e[k]] + self.shelters.gap_m[j]
        got = sh >= 0
        time_s = np.where(got, time_s + gap / self.walk_speed_m_s, np.inf)
        metres = np.where(got, metres + gap, np.inf)
        return Reach(sh, time_s, metres, via)

    def _direct(self, todo: Arr, e: Arr, f: Arr, cost: Arr, open_: Arr) -> tuple[Arr, Arr, Arr]:
        """Buildings (positions in ``todo``) with an open shelter on their own edge: the nearest such
        shelter and the time of walking straight along the edge to it."""
        sh_edge = self.shelters.edge
        cand = np.flatnonzero(open_ & (sh_edge >= 0))
        if not len(cand):
            return np.array([], np.int64), np.array([], np.int64), np.array([])
        order = np.argsort(sh_edge[cand], kind="stable")
        cand = cand[order]
        lo = np.searchsorted(sh_edge[cand], e, side="left")
        hi = np.searchsorted(sh_edge[cand], e, side="right")
        count = hi - lo
        k = np.repeat(np.arange(len(todo)), count)
        j = cand[np.repeat(lo, count) + np.arange(len(k)) - np.repeat(np.cumsum(count) - count, count)]
        direct = _times(np.abs(f[k] - self.shelters.frac[j]), cost[k]) + self.shelters.gap_m[j] / self.walk_speed_m_s
        # The quickest shelter of each building (first of equal times).
        pick = np.lexsort((direct, k))
        k, j, direct = k[pick], j[pick], direct[pick]
        first = np.r_[True, k[1:] != k[:-1]] if len(k) else np.array([], bool)
        return k[first], j[first], direct[first]

    def parent_arcs(self, s: Search) -> tuple[np.ndarray, np.ndarray]:
        """For every node with a parent: (child nodes, arc index into the sorted arcs)."""
        child = np.flatnonzero(s.pred >= 0)
        arc = np.searchsorted(self.arc_keys, s.pred[child] * self.size + child)
        return child, arc

    def tree_costs(self, s: Search) -> np.ndarray:
        """(seconds, metres) from each node to its shelter along the search tree, summed in one order."""
        child, arc = self.parent_arcs(s)
        return self.to_root(s, child, self.arc_cost[arc])

    def to_root(self, s: Search, child: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum of per-arc ``values`` (one row per child) from every node up to its tree root (pointer doubling)."""
        acc = np.zeros((self.size, *values.shape[1:]))
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
