"""All-touched cells of polygons, lines and points on a grid."""

from __future__ import annotations

import numpy as np
from rasterio.transform import from_origin
from shapely.geometry import LineString, Polygon, box

from layers.hazard.touched import touched_cells


def cells(geoms, transform=None, shape=(4, 4)):
    transform = from_origin(0, 4, 1, 1) if transform is None else transform
    t = touched_cells(np.asarray(geoms, dtype=object), transform, shape)
    idx, row, col = t.cells()
    return {(int(i), int(r), int(c)) for i, r, c in zip(idx, row, col, strict=False)}


def test_aligned_box_touches_only_its_cells():
    """A footprint on cell lines shares area with the 4 cells it covers, not its neighbours."""
    assert cells([box(1, 1, 3, 3)]) == {(0, r, c) for r in (1, 2) for c in (1, 2)}


def test_partial_cells_are_touched():
    """A 0.2 m sliver into a cell counts (all-touched), a mere shared edge does not."""
    got = cells([box(0.8, 2.2, 2.2, 2.8)])
    assert got == {(0, 1, 0), (0, 1, 1), (0, 1, 2)}
    assert cells([box(1, 1, 2, 2)]) == {(0, 2, 1)}


def test_concave_polygon_skips_the_notch():
    """An L-shape touches its arms only, not the cell inside the notch (exact, not its bounding box)."""
    ell = Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])
    got = cells([ell])
    assert (0, 2, 1) not in got
    assert (0, 1, 2) not in got
    assert got == {(0, 3, 0), (0, 3, 1), (0, 3, 2), (0, 2, 0), (0, 1, 0)}


def test_polygon_with_hole_keeps_ring_cells():
    """A hole covering a whole cell leaves it untouched."""
    ring = Polygon([(0, 0), (3, 0), (3, 3), (0, 3)], holes=[[(1, 1), (2, 1), (2, 2), (1, 2)]])
    got = cells([ring])
    assert (0, 2, 1) not in got
    assert len(got) == 8


def test_line_touches_cells_it_crosses():
    """A diagonal line from (0.5,0.5) to (3.5,2.5) crosses exactly these 6 cells."""
    got = cells([LineString([(0.5, 0.5), (3.5, 2.5)])])
    assert got == {(0, 3, 0), (0, 3, 1), (0, 2, 1), (0, 2, 2), (0, 1, 2), (0, 1, 3)}


def test_geometries_outside_are_clipped():
    got = cells([box(3.5, 3.5, 5, 5), box(10, 10, 11, 11)])
    assert got == {(0, 0, 3)}
