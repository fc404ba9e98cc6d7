"""Big layers for web maps, one small GeoJSON tile at a time.

A layer is cut into the usual XYZ (slippy-map) tiles of Web Mercator. Each
feature belongs to exactly one tile per zoom, the one holding its
representative point, so a client adds tiles' features without duplicates or
clipping. Geometries are simplified to about half a pixel of the zoom and
coordinates rounded to match. A tile holding more features than
``max_features`` is answered with clusters instead: one point per grid cell
of ``cluster_px`` pixels, with the number of features it stands for and,
when a ``group`` column is named, counts per group value. The payload of a
tile is therefore bounded whatever the size of the layer (100k buildings,
50k reports).
"""

from __future__ import annotations

import itertools
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError

EARTH_HALF = 20037508.342789244  # half the Web Mercator world width, metres
TILE_PX = 256
_TOKENS = itertools.count(1)
MAX_ZOOM = 22


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in EPSG:3857 metres."""
    check_tile(z, x, y)
    size = 2 * EARTH_HALF / 2**z
    minx = -EARTH_HALF + x * size
    maxy = EARTH_HALF - y * size
    return minx, maxy - size, minx + size, maxy


def check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= MAX_ZOOM):
        raise InvalidInputError(f"tile zoom {z} must be between 0 and {MAX_ZOOM}")
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInputError(f"tile {z}/{x}/{y} does not exist: x and y must be between 0 and {n - 1} at zoom {z}")


def pixel_m(z: int) -> float:
    """Size of one pixel at zoom ``z`` in Web Mercator metres."""
    return 2 * EARTH_HALF / (TILE_PX * 2**z)


class TileIndex:
    """A layer ready to serve as tiles.

    Parameters
    ----------
    gdf
        Any CRS. Rows with empty or missing geometry are dropped.
    properties
        Columns sent with every feature (keep it to what styling needs;
        popups can ask for one feature's full row with :meth:`feature`).
    id_column
        Stable id sent as the feature ``id``; the row position when None.
    group
        Column whose value counts are given per cluster (e.g. ``hazard_class``).
    """

    def __init__(
        self,
        gdf: gpd.GeoDataFrame,
        *,
        properties: list[str] | tuple[str, ...] = (),
        id_column: str | None = None,
        group: str | None = None,
    ):
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        if gdf.crs is None:
            raise InvalidInputError("layer has no CRS; cannot place it on web-map tiles")
        merc = gdf.geometry.to_crs(3857)
        self.frame = gdf.to_crs(4326).reset_index(drop=True)
        self.geoms = self.frame.geometry.to_numpy()
        points = shapely.point_on_surface(merc.to_numpy())
        self.x, self.y = shapely.get_x(points), shapely.get_y(points)
        self.is_point = bool(len(gdf)) and bool((gdf.geom_type == "Point").all())
        self.properties = [p for p in properties if p in gdf.columns]
        self.id_column = id_column if id_column in gdf.columns else None
        self.group = group if group in gdf.columns else None
        self.token = next(_TOKENS)  # unique per index for the life of the process (cache keys)
        self.ids = (
            self.frame[self.id_column].to_numpy() if self.id_column else np.arange(len(self.frame), dtype=np.int64)
        )

    def __len__(self) -> int:
        return len(self.frame)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) in EPSG:4326, None when empty."""
        if not len(self.frame):
            return None
        w, s, e, n = (float(v) for v in self.frame.total_bounds)
        return w, s, e, n

    def _rows(self, z: int, x: int, y: int) -> np.ndarray:
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        inside = (self.x >= minx) & (self.x < maxx) & (self.y > miny) & (self.y <= maxy)
        return np.flatnonzero(inside)

    def _geometries(self, z: int, rows: np.ndarray) -> np.ndarray:
        """The geometries of ``rows`` simplified for zoom ``z``.

        Only those rows: the cost follows the tile, not the layer.
        """
        if self.is_point:
            return self.geoms[rows]
        # Half a pixel in degrees at the equator: invisible at this zoom, never grows features.
        tol = 0.5 * pixel_m(z) * 180 / EARTH_HALF
        grid = 10 ** math.floor(math.log10(tol))
        simple = shapely.simplify(self.geoms[rows], tol, preserve_topology=True)
        return shapely.set_precision(simple, grid, mode="pointwise")

    def tile(self, z: int, x: int, y: int, *, max_features: int = 4000, cluster_px: int = 48) -> dict:
        """The GeoJSON FeatureCollection of tile z/x/y (features, or clusters when there are too many)."""
        rows = self._rows(z, x, y)
        if len(rows) > max_features:
            return self._clusters(z, x, y, rows, cluster_px)
        geoms = shapely.to_geojson(self._geometries(z, rows))
        props = self.frame.iloc[rows][self.properties] if self.properties else None
        records = _records(props) if props is not None else [{}] * len(rows)
        ids = self.ids[rows].tolist()
        features = [
            f'{{"type":"Feature","id":{json.dumps(i)},"geometry":{g},'
            f'"properties":{json.dumps(p, separators=(",", ":"))}}}'
            for i, g, p in zip(ids, geoms, records, strict=False)
        ]
        return {"type": "FeatureCollection", "clustered": False, "features_json": features}

    def collection(self, *, zoom: int = 16) -> dict:
        """Every feature, simplified for ``zoom``, as a GeoJSON FeatureCollection dict (for standalone maps)."""
        rows = np.arange(len(self.frame))
        geoms = shapely.to_geojson(self._geometries(zoom, rows)) if len(rows) else []
        records = _records(self.frame[self.properties]) if self.properties else [{}] * len(rows)
        ids = self.ids.tolist()
        features = [
            {"type": "Feature", "id": i, "geometry": json.loads(g), "properties": p}
            for i, g, p in zip(ids, geoms, records, strict=False)
        ]
        return {"type": "FeatureCollection", "features": features}

    def rows(self, columns: list[str] | tuple[str, ...] = ()) -> dict:
        """Every feature's attributes (only ``columns`` when some of them exist) keyed by id (standalone-map popups)."""
        keep = [c for c in columns if c in self.frame.columns] or [
            c for c in self.frame.columns if c != self.frame.geometry.name
        ]
        records = _records(self.frame[keep])
        return {str(i): r for i, r in zip(self.ids.tolist(), records, strict=False)}

    def _clusters(self, z: int, x: int, y: int, rows: np.ndarray, cluster_px: int) -> dict:
        minx, miny, _, maxy = tile_bounds(z, x, y)
        cell = pixel_m(z) * cluster_px
        cx = np.floor((self.x[rows] - minx) / cell).astype(np.int64)
        cy = np.floor((maxy - self.y[rows]) / cell).astype(np.int64)
        df = pd.DataFrame({"cx": cx, "cy": cy, "x": self.x[rows], "y": self.y[rows]})
        if self.group:
            df["g"] = self.frame[self.group].iloc[rows].astype("string").fillna("none").to_numpy()
        grouped = df.groupby(["cx", "cy"], sort=True)
        centres = grouped[["x", "y"]].mean()
        counts = grouped.size()
        lon = centres["x"].to_numpy() * 180 / EARTH_HALF
        lat = np.degrees(2 * np.arctan(np.exp(centres["y"].to_numpy() / 6378137.0)) - np.pi / 2)
        by_group = None
        if self.group:
            by_group = df.groupby(["cx", "cy", "g"], sort=True).size().unstack(fill_value=0)
        features = []
        for k, key in enumerate(counts.index):
            props: dict = {"cluster_count": int(counts.iloc[k])}
            if by_group is not None:
                row = by_group.loc[key]
                props["counts"] = {str(g): int(n) for g, n in row.items() if n}
            geom = f'{{"type":"Point","coordinates":[{lon[k]:.6f},{lat[k]:.6f}]}}'
            features.append(f'{{"type":"Feature","geometry":{geom},"properties":{json.dumps(props)}}}')
        return {"type": "FeatureCollection", "clustered": True, "features_json": features}

    def feature(self, feature_id) -> dict | None:
        """Every attribute of one feature (for a popup), None when there is no such id."""
        if self.id_column:
            match = np.flatnonzero(self.ids.astype(str) == str(feature_id))
        else:
            try:
                i = int(feature_id)
            except (TypeError, ValueError):
                return None
            match = np.array([i]) if 0 <= i < len(self.frame) else np.array([], dtype=int)
        if not len(match):
            return None
        row = self.frame.drop(columns=self.frame.geometry.name).iloc[match[:1]]
        return _records(row)[0]


def _records(df: pd.DataFrame) -> list[dict]:
    """JSON-safe records: NaN/NA become null, dates ISO 8601, floats to 6 significant decimals."""
    return json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False, double_precision=6))


def collection_json(tile: dict) -> str:
    """Serialise what :meth:`TileIndex.tile` returns into GeoJSON text."""
    return (
        f'{{"type":"FeatureCollection","clustered":{"true" if tile["clustered"] else "false"},'
        f'"features":[{",".join(tile["features_json"])}]}}'
    )
