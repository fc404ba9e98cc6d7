"""Coordinates of one point per geometry, made a chunk at a time."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely


def points_xy(geoms: np.ndarray, to_points: Callable[[np.ndarray], np.ndarray], chunk: int) -> np.ndarray:
    """``(n, 2)`` coordinates of ``to_points(geoms)`` (e.g. ``shapely.centroid``), ``chunk`` geometries at a
    time: the point objects of a whole city's buildings (about 200 bytes each) are never alive at once.
    An empty point gives a NaN row, so row ``i`` is always geometry ``i``'s."""
    xy = np.full((len(geoms), 2), np.nan)
    for s in range(0, len(geoms), chunk):
        coords, row = shapely.get_coordinates(to_points(geoms[s : s + chunk]), return_index=True)
        xy[s + row] = coords
    return xy
