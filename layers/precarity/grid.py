"""The H3 grid of the precarity index: the cell of each building, and cell polygons in the working CRS."""

from __future__ import annotations

import geopandas as gpd
import h3.api.numpy_int as h3
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from layers.errors import InvalidInputError
from layers.precarity.indicators import centre_points
from layers.settings import H3_RESOLUTION

DEFAULT_RESOLUTION = H3_RESOLUTION


def h3_cells_of_points(points: gpd.GeoSeries, *, resolution: int = DEFAULT_RESOLUTION) -> np.ndarray:
    """H3 cell (int64) of each point (polygons: their representative point).

    h3-py 4 has no array API for indexing: the coordinates are converted to
    WGS 84 as arrays and the C indexer is called once per point (~0.7 µs each).
    """
    if not 0 <= resolution <= 15:
        raise InvalidInputError(f"h3 resolution {resolution} must be between 0 and 15 (9 ≈ 0.1 km² cells)")
    geom = centre_points(points.values)
    xy = shapely.get_coordinates(geom)
    if points.crs is None:
        raise InvalidInputError("points have no CRS; cannot place them on the H3 grid")
    lng, lat = Transformer.from_crs(points.crs, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    cell = h3.latlng_to_cell
    pairs = zip(lat.tolist(), lng.tolist(), strict=True)
    return np.fromiter((cell(a, b, resolution) for a, b in pairs), dtype=np.int64, count=len(xy))


def h3_cell_polygons(cells: np.ndarray, *, crs: CRS | str) -> gpd.GeoDataFrame:
    """Polygons of H3 cells, indexed by cell id (int64), in ``crs``; ``h3_id`` is the hex string."""
    cells = np.asarray(cells, dtype=np.int64)
    polys: np.ndarray | list = []
    if len(cells):
        bounds = [h3.cell_to_boundary(int(c)) for c in cells]
        n_vertices = np.fromiter((len(b) for b in bounds), dtype=np.int64, count=len(bounds))
        latlng = np.concatenate(bounds)
        # Close every ring: repeat its first vertex.
        ring_of = np.repeat(np.arange(len(cells)), n_vertices)
        starts = np.r_[0, np.cumsum(n_vertices)[:-1]]
        closed = np.insert(latlng, np.cumsum(n_vertices), latlng[starts], axis=0)
        closed_of = np.insert(ring_of, np.cumsum(n_vertices), np.arange(len(cells)))
        polys = shapely.polygons(shapely.linearrings(closed[:, 1], closed[:, 0], indices=closed_of))
    gdf = gpd.GeoDataFrame(
        {"h3_id": [h3.int_to_str(int(c)) for c in cells]}, geometry=polys, crs=4326, index=pd.Index(cells, name="cell")
    )
    return gdf.to_crs(crs)
