"""Row-strip extents of convex polygons, compiled: the hot loop of :mod:`layers.hazard.touched`.

For every polygon and every row strip of its open row range, the x-extent of the polygon inside the
strip: the hull of its boundary segments clipped to the strip. The arithmetic is
:func:`layers.hazard.touched._segment_intervals`' own, term for term, so the cells are the same to
the last bit; only the per-(segment, row) arrays it builds in numpy are gone (30 million rows and
over a GB for a million footprints).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _span_closed(a: float, b: float, origin: float, step: float) -> tuple[int, int]:
    # layers.hazard.touched._span with open_=False
    fa, fb = (a - origin) / step, (b - origin) / step
    lo, hi = min(fa, fb), max(fa, fb)
    first = math.floor(lo)
    last = max(math.ceil(hi) - 1, first)
    return first, last


@njit(cache=True, nogil=True)
def strip_extents(x, y, ring_start, prow0, prow1, y0, e):  # pragma: no cover - compiled (tested through touched)
    """Per polygon ``k`` (ring vertices ``x, y[ring_start[k]:ring_start[k + 1]]``, closed) and row
    ``prow0[k]..prow1[k]``: ``(polygon, row, xlo, xhi)``; rows no segment reaches are left out."""
    n = len(prow0)
    total = 0
    for k in range(n):
        total += max(prow1[k] - prow0[k] + 1, 0)
    out_k = np.empty(total, np.int64)
    out_row = np.empty(total, np.int64)
    xlo = np.full(total, np.inf)
    xhi = np.full(total, -np.inf)
    pos = 0
    for k in range(n):
        r0, r1 = prow0[k], prow1[k]
        m = r1 - r0 + 1
        if m <= 0:
            continue
        for j in range(m):
            out_k[pos + j] = k
            out_row[pos + j] = r0 + j
        for i in range(ring_start[k], ring_start[k + 1] - 1):
            x1, y1, x2, y2 = x[i], y[i], x[i + 1], y[i + 1]
            first, last = _span_closed(max(y1, y2), min(y1, y2), y0, e)
            dy = y2 - y1
            for row in range(max(first, r0), min(last, r1) + 1):
                ya, yb = y0 + row * e, y0 + (row + 1) * e
                lo_y, hi_y = min(ya, yb), max(ya, yb)
                if dy != 0:
                    ta, tb = (lo_y - y1) / dy, (hi_y - y1) / dy
                else:
                    ta, tb = 0.0, 1.0
                t0 = min(max(min(ta, tb), 0.0), 1.0)
                t1 = min(max(max(ta, tb), 0.0), 1.0)
                xa, xb = x1 + t0 * (x2 - x1), x1 + t1 * (x2 - x1)
                j = pos + row - r0
                xlo[j] = min(xlo[j], min(xa, xb))
                xhi[j] = max(xhi[j], max(xa, xb))
        pos += m
    ok = xlo <= xhi
    return out_k[ok], out_row[ok], xlo[ok], xhi[ok]
