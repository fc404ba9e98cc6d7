"""Cells of a grid touched by geometries (*all-touched*), as row intervals.

A polygon touches a cell when they share positive area; a line touches the
cells it passes through; a point the cell holding it. Cells are found per row
strip with numpy: a convex polygon's cross-section with a row strip is one
interval, found from its edges clipped to the strip; other polygons (concave,
with holes) are cut by the strip with GEOS and each piece gives its interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass
class Touched:
    """Cells touched: interval ``row, col0..col1`` (inclusive) belongs to geometry ``index``; sorted by index."""

    index: np.ndarray
    row: np.ndarray
    col0: np.ndarray
    col1: np.ndarray

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expanded (index, row, col) of every touched cell."""
        n = self.col1 - self.col0 + 1
        idx = np.repeat(self.index, n)
        row = np.repeat(self.row, n)
        start = np.repeat(np.cumsum(n) - n, n)
        col = np.repeat(self.col0, n) + (np.arange(n.sum()) - start)
        return idx, row, col


def grid_origin(transform) -> tuple[float, float, float, float]:
    """(x0, a, y0, e) of a north-up or south-up grid."""
    return transform.c, transform.a, transform.f, transform.e


def _span(a, b, origin: float, step: float, *, open_: bool):
    """First and last cell index along one axis overlapping the interval between ``a`` and ``b``
    (open: cells only touched at an end are left out; closed: at least one cell)."""
    fa, fb = (a - origin) / step, (b - origin) / step  # fractional cell positions of the two ends
    lo, hi = np.minimum(fa, fb), np.maximum(fa, fb)
    first = np.floor(lo).astype(np.int64)
    last = np.ceil(hi).astype(np.int64) - 1
    if not open_:
        last = np.maximum(last, first)
    return first, last


def _rows_of(ymin, ymax, transform, *, open_: bool):
    """Rows overlapping y in (ymin, ymax) (open) or [ymin, ymax] (closed)."""
    _, _, y0, e = grid_origin(transform)
    return _span(ymax, ymin, y0, e, open_=open_)


def _cols_of(xmin, xmax, transform, *, open_: bool):
    x0, a, _, _ = grid_origin(transform)
    return _span(xmin, xmax, x0, a, open_=open_)


def _strip_y(rows, transform):
    """(ylow, yhigh) of each row strip."""
    y0, e = transform.f, transform.e
    ya, yb = y0 + rows * e, y0 + (rows + 1) * e
    return np.minimum(ya, yb), np.maximum(ya, yb)


def _segments(geoms: np.ndarray, index: np.ndarray):
    """Every segment (x1, y1, x2, y2) of the rings/lines ``geoms``, with the index of its geometry."""
    rings_or_lines = geoms
    coords, part = shapely.get_coordinates(rings_or_lines, return_index=True)
    same = part[1:] == part[:-1]
    x1, y1 = coords[:-1][same, 0], coords[:-1][same, 1]
    x2, y2 = coords[1:][same, 0], coords[1:][same, 1]
    return x1, y1, x2, y2, index[part[:-1][same]]


def _segment_intervals(segments, transform):
    """Per (segment, row) the x-extent of the segment clipped to the row strip (every row the segment
    reaches, ends included: callers drop the rows they do not want)."""
    x1, y1, x2, y2, owner = segments
    ymin, ymax = np.minimum(y1, y2), np.maximum(y1, y2)
    r0, r1 = _rows_of(ymin, ymax, transform, open_=False)
    n = r1 - r0 + 1
    seg = np.repeat(np.arange(len(x1)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    row = np.repeat(r0, n) + (np.arange(n.sum()) - start)
    lo_y, hi_y = _strip_y(row, transform)
    sx1, sy1, sx2, sy2 = x1[seg], y1[seg], x2[seg], y2[seg]
    dy = sy2 - sy1
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = np.where(dy != 0, (lo_y - sy1) / dy, 0.0)
        tb = np.where(dy != 0, (hi_y - sy1) / dy, 1.0)
    t0 = np.clip(np.minimum(ta, tb), 0.0, 1.0)
    t1 = np.clip(np.maximum(ta, tb), 0.0, 1.0)
    xa, xb = sx1 + t0 * (sx2 - sx1), sx1 + t1 * (sx2 - sx1)
    return owner[seg], row, np.minimum(xa, xb), np.maximum(xa, xb)


def touched_cells(geoms, transform, shape: tuple[int, int]) -> Touched:
    """All-touched cells of every geometry (in the grid's CRS), clipped to the grid.

    Polygons: cells sharing positive area. Lines: cells they pass through.
    Points: the cell holding them. Returns row intervals sorted by geometry index.
    """
    geoms = np.asarray(geoms, dtype=object)
    height, width = shape
    if (shapely.get_type_id(geoms) == 3).all():  # single polygons (footprints): no parts to take apart
        parts, pidx = geoms, np.arange(len(geoms))
    else:
        parts, pidx = shapely.get_parts(geoms, return_index=True)
    ptype = shapely.get_type_id(parts)
    out = []
    # Points: the cell holding them.
    pts = ptype == 0
    if pts.any():
        xy = shapely.get_coordinates(parts[pts])
        c0, _ = _cols_of(xy[:, 0], xy[:, 0], transform, open_=False)
        r0, _ = _rows_of(xy[:, 1], xy[:, 1], transform, open_=False)
        out.append((pidx[pts], r0, c0, c0.copy()))
    # Lines: per segment and row strip.
    lines = ptype == 1
    if lines.any():
        owner, row, xlo, xhi = _segment_intervals(_segments(parts[lines], pidx[lines]), transform)
        c0, c1 = _cols_of(xlo, xhi, transform, open_=False)
        out.append((owner, row, c0, c1))
    polys = ptype == 3
    if polys.any():
        out.append(_polygon_intervals(parts[polys], pidx[polys], transform))
    if not out:
        e = np.empty(0, np.int64)
        return Touched(e, e, e, e)
    owner, row, c0, c1 = (np.concatenate(v) for v in zip(*out, strict=False))
    keep = (row >= 0) & (row < height) & (c1 >= 0) & (c0 < width) & (c1 >= c0)
    owner, row, c0, c1 = owner[keep], row[keep], np.clip(c0[keep], 0, width - 1), np.clip(c1[keep], 0, width - 1)
    if len(owner) > 1 and (np.diff(owner) < 0).any():
        order = np.argsort(owner, kind="stable")  # group by geometry; rows need no order
        owner, row, c0, c1 = owner[order], row[order], c0[order], c1[order]
    return Touched(owner, row, c0, c1)


def _convex_rings(xy: np.ndarray, ring: np.ndarray, n: int) -> np.ndarray:
    """Whether each of ``n`` closed rings (vertices ``xy`` of ring ``ring``) is convex: every turn the same
    way and one full turn in all (numpy over the vertices; a star turns twice)."""
    if not len(xy):
        return np.zeros(n, dtype=bool)
    # Edges of each ring (the closing vertex repeats the first, so edges stay within rings).
    same = ring[1:] == ring[:-1]
    ex, ey = np.diff(xy[:, 0])[same], np.diff(xy[:, 1])[same]
    er = ring[:-1][same]
    keep = (ex != 0) | (ey != 0)  # repeated vertices make no turn
    ex, ey, er = ex[keep], ey[keep], er[keep]
    starts = np.flatnonzero(np.r_[True, er[1:] != er[:-1]])
    nxt = np.arange(len(ex)) + 1
    ends = np.r_[starts[1:], len(ex)]
    nxt[ends - 1] = starts  # the last edge turns into the first
    cross = ex * ey[nxt] - ey * ex[nxt]
    dot = ex * ex[nxt] + ey * ey[nxt]
    turn = np.arctan2(cross, dot)
    scale = np.hypot(ex, ey) * np.hypot(ex[nxt], ey[nxt])
    straight = np.abs(cross) <= 1e-12 * scale
    pos = np.bincount(er, weights=(cross > 0) & ~straight, minlength=n)
    neg = np.bincount(er, weights=(cross < 0) & ~straight, minlength=n)
    total = np.bincount(er, weights=turn, minlength=n)
    return ((pos == 0) | (neg == 0)) & (np.abs(np.abs(total) - 2 * np.pi) < 1e-6) & (pos + neg >= 3)


def _polygon_intervals(polys: np.ndarray, owner: np.ndarray, transform):
    """Column intervals per row strip of single polygons (positive-area contact)."""
    area = shapely.area(polys)
    keep = area > 0
    polys, owner, area = polys[keep], owner[keep], area[keep]
    # The vertices of each polygon: its exterior ring's alone when it has no hole (the only convex ones).
    xy, ring = shapely.get_coordinates(polys, return_index=True)
    convex = (shapely.get_num_interior_rings(polys) == 0) & _convex_rings(xy, ring, len(polys))
    res = []
    b = shapely.bounds(polys)
    prow0, prow1 = _rows_of(b[:, 1], b[:, 3], transform, open_=True)
    if convex.any():
        from layers.hazard.strips import strip_extents

        ids = np.flatnonzero(convex)
        on = convex[ring]
        # Where each convex ring's vertices start (rings are contiguous and in order).
        start = np.searchsorted(ring[on], ids)
        start = np.r_[start, on.sum()]
        _, _, y0, e = grid_origin(transform)
        k, row, xlo, xhi = strip_extents(
            np.ascontiguousarray(xy[on, 0]), np.ascontiguousarray(xy[on, 1]), start, prow0[ids], prow1[ids], y0, e
        )
        # Only rows where the polygon has positive area (its open row range), sorted by polygon then row.
        o = ids[k]
        c0, c1 = _cols_of(xlo, xhi, transform, open_=True)
        res.append((owner[o], row, c0, c1))
    if (~convex).any():
        ids = np.flatnonzero(~convex)
        n = prow1[ids] - prow0[ids] + 1
        pid = np.repeat(ids, n)
        start = np.repeat(np.cumsum(n) - n, n)
        row = np.repeat(prow0[ids], n) + (np.arange(n.sum()) - start)
        ylo, yhi = _strip_y(row, transform)
        strips = shapely.box(b[pid, 0], ylo, b[pid, 2], yhi)
        pieces = shapely.intersection(polys[pid], strips)
        sub, si = shapely.get_parts(pieces, return_index=True)
        ok = (shapely.get_type_id(sub) == 3) & (shapely.area(sub) > 0)
        sub, si = sub[ok], si[ok]
        sb = shapely.bounds(sub)
        c0, c1 = _cols_of(sb[:, 0], sb[:, 2], transform, open_=True)
        res.append((owner[pid[si]], row[si], c0, c1))
    return tuple(np.concatenate(v) for v in zip(*res, strict=False))
