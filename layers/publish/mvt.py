"""Mapbox Vector Tiles (MVT) of a layer in the WebMercatorQuad tile matrix set (OGC API – Tiles).

Encoding is the ``mapbox-vector-tile`` library's (protobuf), not hand-written. Unlike the
small GeoJSON tiles of the web map (:mod:`.tiles`), a vector tile holds every feature
that meets it, clipped to the tile plus a small buffer so lines and fills join across
tiles, simplified to a quarter of a tile pixel: QGIS's vector-tile layer and MapLibre
draw them as they are. The geometries are projected to Web Mercator and indexed
(shapely STRtree) once per layer file version; a tile is then one index query, one
vectorised clip and simplify, and the encoder.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pyogrio
import shapely

from layers.publish.tiles import EARTH_HALF, MAX_ZOOM, check_tile, tile_bounds

EXTENT = 4096  # MVT integer grid per tile side
BUFFER_PX = 64  # of EXTENT: features reach this far past the tile edge
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"


class VectorTiles:
    """A layer ready to cut into MVT tiles.

    Parameters
    ----------
    gdf
        Any CRS; rows without geometry are left out. Every column goes into the
        tile as a feature property (values the MVT format cannot hold, such as
        dates, as text); the index is the feature id when it is a whole number.
    """

    def __init__(self, gdf: gpd.GeoDataFrame):
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        merc = gdf.geometry.to_crs(3857) if gdf.crs is not None else gdf.geometry
        self.geoms = merc.to_numpy()
        self.tree = shapely.STRtree(self.geoms)
        self.props = _mvt_values(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
        index = gdf.index.to_numpy()
        self.ids = index.astype(np.int64) if np.issubdtype(index.dtype, np.integer) else None

    def __len__(self) -> int:
        return len(self.geoms)

    def features(self, z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows meeting tile z/x/y (with its buffer) and their geometries clipped and simplified, in EPSG:3857."""
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        pad = (maxx - minx) * BUFFER_PX / EXTENT
        rows = self.tree.query(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad), predicate="intersects")
        rows = np.sort(rows)
        geoms = self.geoms[rows]
        tol = (maxx - minx) / EXTENT / 4  # a quarter of a tile pixel: invisible, keeps tiles small
        geoms = shapely.simplify(geoms, tol, preserve_topology=True)
        geoms = shapely.clip_by_rect(geoms, minx - pad, miny - pad, maxx + pad, maxy + pad)
        keep = ~shapely.is_empty(geoms)
        return rows[keep], geoms[keep]

    def tile(self, z: int, x: int, y: int, *, layer_name: str) -> bytes:
        """The MVT bytes of tile z/x/y, one layer named ``layer_name`` (empty tiles are valid, small MVTs)."""
        rows, geoms = self.features(z, x, y)
        # Into the tile's integer grid and MVT's ring order here, over the whole array at once: the encoder's own
        # per-feature quantising and winding checks are pure Python and took most of the time.
        minx, miny, maxx, _ = tile_bounds(z, x, y)
        scale = EXTENT / (maxx - minx)
        geoms = shapely.transform(geoms, lambda c: np.round((c - (minx, miny)) * scale))
        # MVT exterior rings have positive surveyor's area in the y-down tile grid: clockwise here, y-up, before
        # the encoder flips y. The other way round, QGIS reads every ring as a hole and draws nothing.
        geoms = shapely.orient_polygons(geoms, exterior_cw=True)
        keep = ~shapely.is_empty(geoms)
        rows, geoms = rows[keep], geoms[keep]
        records = self.props.iloc[rows].to_dict(orient="records") if len(rows) else []
        ids = self.ids[rows].tolist() if self.ids is not None else [None] * len(rows)
        features = [
            {
                "geometry": g,
                "properties": {k: v for k, v in p.items() if v is not None},
                **({"id": i} if i is not None else {}),
            }
            for g, p, i in zip(geoms, records, ids, strict=True)
        ]
        return mapbox_vector_tile.encode(
            [{"name": layer_name, "features": features}],
            default_options={"extents": EXTENT, "y_coord_down": False, "check_winding_order": False},
        )


def _mvt_values(df: pd.DataFrame) -> pd.DataFrame:
    """Columns as values MVT holds (text, whole and real numbers, booleans); missing values as None."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s) or pd.api.types.is_float_dtype(s):
            out[col] = s.astype(object)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.map(lambda v: None if pd.isna(v) else v.isoformat())
        else:
            out[col] = s.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    out = out.astype(object)
    return out.where(pd.notna(out), None)


@functools.lru_cache(maxsize=4096)
def _layer_tile(path: str, layer: str, _mtime_ns: int, z: int, x: int, y: int) -> bytes:
    return _layer_tiles(path, layer, _mtime_ns).tile(z, x, y, layer_name=layer)


def layer_tile(path: str | Path, layer: str, z: int, x: int, y: int) -> bytes:
    """Tile z/x/y of a GeoPackage layer as MVT bytes (its one MVT layer is named after the layer), cached."""
    check_tile(z, x, y)
    return _layer_tile(str(path), layer, Path(path).stat().st_mtime_ns, z, x, y)


@functools.lru_cache(maxsize=24)
def _layer_tiles(path: str, layer: str, _mtime_ns: int) -> VectorTiles:
    return VectorTiles(pyogrio.read_dataframe(path, layer=layer, fid_as_index=True))


def layer_tiles(path: str | Path, layer: str) -> VectorTiles:
    """The tiles of a GeoPackage layer (fid = feature id), kept while the file is unchanged."""
    return _layer_tiles(str(path), layer, Path(path).stat().st_mtime_ns)


def tile_matrix_set() -> dict:
    """The OGC WebMercatorQuad tile matrix set (OGC 17-083r4), zooms 0 to ``MAX_ZOOM``."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        n = 2**z
        cell = 2 * EARTH_HALF / (256 * n)
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": cell / 0.00028,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-EARTH_HALF, EARTH_HALF],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            }
        )
    return {
        "id": TMS,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }
