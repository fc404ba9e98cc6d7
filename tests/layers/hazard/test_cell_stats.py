"""The compiled per-geometry loop agrees with numpy's own reductions and with ClassScheme.classify,
bounds included (left-closed specs and InaSAFE's right-closed tables), NaN cells and float32 windows."""

from __future__ import annotations

import numpy as np
import pytest

from layers.hazard.cell_stats import cell_stats
from layers.hazard.classes import ClassScheme, parse_classes


def _reference(index, row, col0, col1, values, scheme: ClassScheme):
    n = col1 - col0 + 1
    idx = np.repeat(index, n)
    r = np.repeat(row, n)
    c = np.repeat(col0, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    v = values[r, c].astype(np.float64)
    k = scheme.classify(v)
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    with np.errstate(invalid="ignore"):
        vmax = np.fmax.reduceat(v, starts)
    hit = np.add.reduceat((k >= 0).astype(np.int64), starts)
    cells = np.diff(np.r_[starts, len(idx)])
    partial = np.isin(idx, idx[starts][(hit > 0) & (hit < cells)]) & (k >= 0)
    return idx[starts], vmax, np.maximum.reduceat(k, starts), hit, cells, idx[partial], r[partial], c[partial]


@pytest.mark.parametrize("right_closed", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_stats_equal_numpy(right_closed, dtype):
    rng = np.random.default_rng(7)
    scheme = parse_classes("low:0.1-0.7,medium:0.7-1.5,high:1.5-")
    scheme = ClassScheme(scheme.classes, scheme.kind, right_closed=right_closed)
    # Values on the bounds themselves, NaN, below the first class.
    values = rng.choice(np.array([0.0, 0.05, 0.1, 0.5, 0.7, 1.0, 1.5, 3.0, np.nan]), size=(40, 50)).astype(dtype)
    m = 3_000
    index = np.sort(rng.integers(0, 600, m))
    row = rng.integers(0, 40, m)
    col0 = rng.integers(0, 45, m)
    col1 = col0 + rng.integers(0, 5, m)
    got = cell_stats(index, row, col0, col1, values, scheme.edges, right_closed, True)
    want = _reference(index, row, col0, col1, values, scheme)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    # Every case occurs: in a class, in none, no value, partly in a class.
    assert (got[2] >= 0).any()
    assert (got[2] < 0).any()
    assert np.isnan(got[1]).any()
    assert len(got[5]) > 0
