"""Joining points and footprints to the nearest edge of a network, exactly and fast.

Edges are cut into straight pieces of at most ``SNAP_PIECE_M``; a KD-tree of the pieces' midpoints
gives candidate pieces per point, measured exactly in numpy (see :func:`snap_to_edges`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import shapely

from layers.evacuation.edge_lines import EdgeLines
from layers.evacuation.points import points_xy

if TYPE_CHECKING:
    from layers.evacuation.network import Network

SNAP_PIECE_M = 40.0  # edges are cut into pieces this long for nearest-edge search
SNAP_K = 8  # candidate pieces measured exactly per point
SNAP_CHUNK = 65_536  # points measured at a time
PIECE_CHUNK = 262_144  # edges cut into pieces at a time


class Snap(NamedTuple):
    """Where geometries join the network (one row each)."""

    edge: np.ndarray  # edge index, -1 when no usable edge is within the snap distance
    frac: np.ndarray  # position along the edge, 0 at ``u`` .. 1 at ``v``
    gap_m: np.ndarray  # straight distance from the geometry (its representative point) to the edge; inf off it

    def where(self, mask: np.ndarray, other: Snap) -> Snap:
        """This snap where ``mask`` holds, ``other`` elsewhere."""
        return Snap(*(np.where(mask, a, b) for a, b in zip(self, other, strict=True)))


def snap_to_edges(network: Network, geoms, *, max_distance_m: float, usable: np.ndarray | None = None) -> Snap:
    """Nearest edge (among ``usable`` ones, default all) of every geometry within ``max_distance_m``.

    Polygons snap from their representative point (``shapely.point_on_surface``).

    Edges are cut into pieces of at most ``SNAP_PIECE_M``; a KD-tree of the pieces' midpoints
    gives ``SNAP_K`` candidates per point, measured exactly in numpy. The answer is proven
    exact when the farthest candidate midpoint lies beyond the best distance plus half a piece;
    where it does not, 8x more candidates are measured, and the rare points still unproven are
    answered by a GEOS STRtree nearest query.
    """
    from scipy.spatial import cKDTree

    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    edge = np.full(n, -1, dtype=np.int64)
    frac = np.zeros(n)
    dist = np.full(n, np.inf)
    if network.n_edges == 0 or n == 0:
        return Snap(edge, frac, dist)
    pieces = network.pieces()
    a, b, owner, before = pieces["a"], pieces["b"], pieces["owner"], pieces["before"]
    if usable is not None:  # (all edges: the cached pieces themselves, not a copy of them)
        keep = np.asarray(usable, bool)[owner]
        if not keep.any():
            return Snap(edge, frac, dist)
        a, b, owner, before = a[keep], b[keep], owner[keep], before[keep]
    if len(a) == 0:
        return Snap(edge, frac, dist)
    if usable is None:
        if "tree" not in pieces:
            pieces["tree"] = cKDTree(_midpoints(a, b), balanced_tree=False, compact_nodes=False)
        tree = pieces["tree"]
    else:
        tree = cKDTree(_midpoints(a, b), balanced_tree=False, compact_nodes=False)
    pxy = points_xy(geoms, _representative_points, SNAP_CHUNK)
    piece, dist_best, t, proven, low = _nearest_pieces(tree, a, b, pxy, min(SNAP_K, len(a)))
    proven |= low > max_distance_m  # surely off the network: no need to know its nearest edge
    retry = np.flatnonzero(~proven)
    if len(retry):  # crowded places: look at more candidates before falling back on GEOS
        p2, d2, t2, ok2, _ = _nearest_pieces(tree, a, b, pxy[retry], min(8 * SNAP_K, len(a)))
        piece[retry], dist_best[retry], t[retry], proven[retry] = p2, d2, t2, ok2
    e = owner[piece]
    along = before[piece] + t * np.hypot(*(b[piece] - a[piece]).T)
    length = network.table["length_m"].to_numpy(np.float64)[e]
    edge[:], dist[:] = e, dist_best
    frac[:] = np.clip(np.divide(along, length, out=np.zeros(n), where=length > 0), 0.0, 1.0)
    todo = np.flatnonzero(~proven)
    if len(todo):
        ids = np.arange(network.n_edges) if usable is None else np.flatnonzero(usable)
        lines = network.edge_lines(ids)
        pts = _representative_points(geoms[todo])
        (src, tgt), dd = shapely.STRtree(lines).query_nearest(pts, return_distance=True, all_matches=False)
        first = np.unique(src, return_index=True)[1]
        local, tgt, dd = src[first], ids[tgt[first]], dd[first]
        src = todo[local]
        edge[src], dist[src] = tgt, dd
        lines_hit = network.edge_lines(tgt)
        frac[src] = np.nan_to_num(shapely.line_locate_point(lines_hit, pts[local], normalized=True))
    far = dist > max_distance_m
    edge[far], frac[far], dist[far] = -1, 0.0, np.inf
    return Snap(edge, frac, dist)


def _midpoints(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a + b) / 2`` in one array (no temporary the size of every piece)."""
    mid = np.add(a, b)
    return np.divide(mid, 2.0, out=mid)


def _representative_points(geoms: np.ndarray) -> np.ndarray:
    """Points as they are, other geometries by ``shapely.point_on_surface``."""
    is_point = shapely.get_type_id(geoms) == 0
    pts = geoms.copy()
    if not is_point.all():
        pts[~is_point] = shapely.point_on_surface(geoms[~is_point])
    return pts


def edge_pieces(lines: EdgeLines | np.ndarray) -> dict[str, np.ndarray]:
    """Straight pieces of every edge line (at most SNAP_PIECE_M long): ends ``a``, ``b``, ``owner`` edge and
    metres ``before`` the piece along its edge. ``lines``: the edges' coordinates, or shapely lines.

    Long segments are split into equal sub-pieces (numpy, no GEOS), x and y apart and ``PIECE_CHUNK`` edges
    at a time (the pieces counted first, then made): the temporaries stay a chunk's size, not a country's.
    """
    if not isinstance(lines, EdgeLines):
        lines = EdgeLines.from_geoms(lines)
    chunks = [(e0, min(e0 + PIECE_CHUNK, len(lines))) for e0 in range(0, len(lines), PIECE_CHUNK)]
    counts = [_segments(lines, e0, e1)[5] for e0, e1 in chunks]
    cut = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    total = int(cut.sum())
    a, b = np.empty((total, 2)), np.empty((total, 2))
    own, seg_len = np.empty(total, dtype=np.int64), np.empty(total)
    p0 = 0
    for e0, e1 in chunks:
        ax, ay, dx, dy, sown, ch = _segments(lines, e0, e1)
        rep = np.repeat(np.arange(len(ch)), ch)
        k = np.arange(len(rep)) - np.repeat(np.cumsum(ch) - ch, ch)
        c = ch[rep]
        f0, f1 = k / c, (k + 1) / c
        cax, cay, cdx, cdy = ax[rep], ay[rep], dx[rep], dy[rep]
        p1 = p0 + len(rep)
        ca, cb = a[p0:p1], b[p0:p1]
        ca[:, 0], ca[:, 1] = cax + f0 * cdx, cay + f0 * cdy
        cb[:, 0], cb[:, 1] = cax + f1 * cdx, cay + f1 * cdy
        own[p0:p1] = sown[rep]
        seg_len[p0:p1] = np.hypot(cb[:, 0] - ca[:, 0], cb[:, 1] - ca[:, 1])
        p0 = p1
    # before = csum - seg_len - (csum[base] - seg_len[base]), in place (the same operations, fewer arrays).
    start = np.r_[True, own[1:] != own[:-1]]
    base = np.where(start, np.arange(len(own)), 0)
    del start
    np.maximum.accumulate(base, out=base)
    before = np.cumsum(seg_len)
    first = before[base]
    first -= seg_len[base]
    del base
    before -= seg_len
    before -= first
    return {"a": a, "b": b, "owner": own, "before": before}


def _segments(lines: EdgeLines, e0: int, e1: int) -> tuple[np.ndarray, ...]:
    """Segments of edges ``e0..e1-1``: start x, y, dx, dy, edge, pieces to cut it into."""
    xy = lines.xy[lines.start[e0] : lines.start[e1]]
    owner = np.repeat(np.arange(e0, e1), np.diff(lines.start[e0 : e1 + 1]))
    same = owner[1:] == owner[:-1]
    x, y = xy[:, 0], xy[:, 1]
    ax, ay, bx, by = x[:-1][same], y[:-1][same], x[1:][same], y[1:][same]
    dx, dy = bx - ax, by - ay
    cut = np.maximum(np.ceil(np.hypot(dx, dy) / SNAP_PIECE_M), 1).astype(np.int64)
    return ax, ay, dx, dy, owner[:-1][same], cut


def _nearest_pieces(
    tree, a: np.ndarray, b: np.ndarray, pxy: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest of the ``k`` pieces with the closest midpoints: (piece, distance, position 0..1 on it,
    proven, a lower bound of the true nearest distance).

    Proven exact when the k-th midpoint is farther than the best distance plus half a piece (a
    nearer piece would have its midpoint within that radius), or when k covers every piece.
    """
    n = len(pxy)
    piece, dist = np.empty(n, dtype=np.int64), np.empty(n)
    t_best, proven, low = np.empty(n), np.empty(n, dtype=bool), np.empty(n)
    # Query and measure in spatial order (cells of 8 pieces), a chunk at a time: neighbouring queries share
    # tree nodes and candidate pieces (2-3x faster than in input order), and the (chunk, k, 2) arrays stay small.
    cell = np.floor(pxy / (8 * SNAP_PIECE_M)).astype(np.int64)
    order = np.lexsort((cell[:, 0], cell[:, 1]))
    chunk = max(1, SNAP_CHUNK * SNAP_K // k)  # points per chunk: the (chunk, k, 2) arrays keep one size whatever k
    for s in range(0, n, chunk):
        sel = order[s : s + chunk]
        q = pxy[sel]
        m = len(sel)
        dk, ik = tree.query(q, k=k, workers=-1)  # both cores when free
        dk, ik = dk.reshape(m, k), ik.reshape(m, k)
        pa = a[ik]
        ab = b[ik] - pa
        l2 = np.einsum("nkd,nkd->nk", ab, ab)
        rel = q[:, None, :] - pa
        t = np.clip(np.einsum("nkd,nkd->nk", rel, ab) / np.where(l2 > 0, l2, 1.0), 0.0, 1.0)
        off = rel - t[..., None] * ab
        d = np.sqrt(np.einsum("nkd,nkd->nk", off, off))
        best = np.argmin(d, axis=1)
        rows = np.arange(m)
        dist[sel] = d[rows, best]
        piece[sel], t_best[sel] = ik[rows, best], t[rows, best]
        proven[sel] = (k >= len(a)) | (dk[:, -1] > d[rows, best] + SNAP_PIECE_M / 2.0)
        low[sel] = dk[:, 0] - SNAP_PIECE_M / 2.0
    return piece, dist, t_best, proven, low
