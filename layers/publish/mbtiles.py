"""An offline map package: raster MBTiles of an area's own layers, for phones without a connection.

Raster (PNG) tiles rather than vector ones because every field app reads
them: ODK Collect takes raster MBTiles as an offline layer, QField and QGIS
read them through GDAL's MBTiles driver, OsmAnd imports them as a map
source. The tiles are drawn from the build, in the web map's colours:
the hazard of one scenario under buildings by exposure class, roads,
evacuation routes (wider where more people walk) and shelters (green when
safe, red when not).

The max-zoom level is drawn in horizontal bands of tile rows (memory is
bounded by the band, not the area) with rasterio's compiled rasteriser;
each lower level is made from the four tiles under each tile, read back
from the file. Tiles with nothing drawn are left out, as the spec allows.
"""

from __future__ import annotations

import functools
import io
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from PIL import Image
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.transform import from_origin
from rasterio.warp import reproject, transform_bounds

from layers.errors import InvalidInputError, MissingInputError, TooLargeError
from layers.hazard.kinds import get_kind
from layers.io.rasters import open_raster
from layers.publish.styles import class_colours, hazard_colours
from layers.publish.tiles import EARTH_HALF

TILE_PX = 256
BAND_ROWS = 8  # tile rows drawn at once at the top zoom
MAX_PIXELS = 600_000_000  # about 9,000 tiles of 256 px at the top zoom
BACKGROUND = (247, 247, 245)
ROAD = (150, 150, 150)
NOT_AFFECTED = (217, 217, 217)
ROUTE = (8, 48, 107)
SAFE = (26, 150, 65)
UNSAFE = (215, 25, 28)
HAZARD_OPACITY = 0.55


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def offline_map(
    area,
    built: str | Path,
    out: str | Path,
    *,
    scenario: str | None = None,
    min_zoom: int = 12,
    max_zoom: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write the MBTiles package of ``scenario`` of ``area`` from its build ``built`` to ``out``.

    Returns ``{"tiles": n, "zooms": [min, max], "bounds": [w, s, e, n]}`` (bounds in degrees).
    """
    if not 0 <= min_zoom <= max_zoom <= 19:
        raise InvalidInputError(f"zoom levels must satisfy 0 <= min ({min_zoom}) <= max ({max_zoom}) <= 19")
    built = Path(built)
    if not built.exists():
        raise MissingInputError(f"{built} does not exist: run `geoapp build` for this area first")
    hazard = area.hazard(scenario)
    layers = _read(built, hazard.id)
    grid = _grid(layers, max_zoom)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.part")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        _schema(con)
        count = _draw_top_zoom(con, layers, grid, hazard, progress)
        for z in range(max_zoom - 1, min_zoom - 1, -1):
            count += _reduce(con, z)
        west, south, east, north = transform_bounds("EPSG:3857", "EPSG:4326", *grid["bounds"])
        _metadata(con, area, hazard, (west, south, east, north), min_zoom, max_zoom)
        con.commit()
    finally:
        con.close()
    tmp.replace(out)
    return {"tiles": count, "zooms": [min_zoom, max_zoom], "bounds": [west, south, east, north]}


def _read(built: Path, scenario: str) -> dict[str, gpd.GeoDataFrame]:
    names = set(pyogrio.list_layers(built)[:, 0])
    wanted = {
        "buildings": ("exposure_buildings", ["hazard_class", "scenario"]),
        "roads": ("roads", []),
        "routes": ("evacuation_routes", ["people", "scenario"]),
        "shelters": ("shelters", ["safe", "scenario"]),
    }
    if "exposure_buildings" not in names:
        raise MissingInputError(f"{built} has no exposure_buildings layer: run `geoapp build` for this area first")
    out = {}
    for key, (layer, columns) in wanted.items():
        if layer not in names:
            continue
        frame = gpd.read_file(built, layer=layer, columns=columns, engine="pyogrio")
        if "scenario" in frame.columns:
            frame = frame[frame["scenario"] == scenario]
        out[key] = frame.to_crs("EPSG:3857")
    return out


def _grid(layers: dict[str, gpd.GeoDataFrame], z: int) -> dict:
    """The top-zoom tile range covering the buildings and roads, and its pixel grid."""
    frames = [f for k, f in layers.items() if k in ("buildings", "roads") and len(f)]
    if not frames:
        raise MissingInputError("the build has no buildings or roads to draw")
    minx, miny = min(f.total_bounds[0] for f in frames), min(f.total_bounds[1] for f in frames)
    maxx, maxy = max(f.total_bounds[2] for f in frames), max(f.total_bounds[3] for f in frames)
    size = 2 * EARTH_HALF / 2**z
    x0, x1 = math.floor((minx + EARTH_HALF) / size), math.floor((maxx + EARTH_HALF) / size)
    y0, y1 = math.floor((EARTH_HALF - maxy) / size), math.floor((EARTH_HALF - miny) / size)
    pixels = (x1 - x0 + 1) * (y1 - y0 + 1) * TILE_PX**2
    if pixels > MAX_PIXELS:
        raise TooLargeError(
            f"zoom {z} over this area is {pixels / 1e6:,.0f} million pixels (at most {MAX_PIXELS / 1e6:,.0f}): "
            "give a lower --max-zoom"
        )
    bounds = (
        -EARTH_HALF + x0 * size,
        EARTH_HALF - (y1 + 1) * size,
        -EARTH_HALF + (x1 + 1) * size,
        EARTH_HALF - y0 * size,
    )
    return {"z": z, "x": (x0, x1), "y": (y0, y1), "size": size, "bounds": bounds}


def _draw_top_zoom(con, layers, grid, hazard, progress) -> int:
    (x0, x1), (y0, y1), size, z = grid["x"], grid["y"], grid["size"], grid["z"]
    res = size / TILE_PX
    width = (x1 - x0 + 1) * TILE_PX
    count = 0
    bands = list(range(y0, y1 + 1, BAND_ROWS))
    for i, band_y in enumerate(bands):
        rows = min(BAND_ROWS, y1 + 1 - band_y)
        west, north = -EARTH_HALF + x0 * size, EARTH_HALF - band_y * size
        transform = from_origin(west, north, res, res)
        image = _draw_band(layers, hazard, transform, (rows * TILE_PX, width))
        for r in range(rows):
            for c in range(x1 - x0 + 1):
                tile = image[r * TILE_PX : (r + 1) * TILE_PX, c * TILE_PX : (c + 1) * TILE_PX]
                if tile[..., 3].any():
                    _put(con, z, x0 + c, band_y + r, tile)
                    count += 1
        if progress is not None:
            progress(i + 1, len(bands))
    return count


def _draw_band(layers, hazard, transform, shape: tuple[int, int]) -> np.ndarray:
    """RGBA pixels of one band: background, hazard, roads, buildings, routes, shelters, in that order."""
    h, w = shape
    rgb = np.empty((h, w, 3), dtype=np.float32)
    rgb[:] = BACKGROUND
    drawn = np.zeros((h, w), dtype=bool)
    west, north = transform.c, transform.f
    box = (west, north + transform.e * h, west + transform.a * w, north)
    index = _hazard_classes(hazard, transform, shape)
    measure = get_kind(getattr(hazard, "hazard_kind", None)).measure  # the web map's colours for the kind
    for k, colour in enumerate(hazard_colours(len(hazard.classes.names), measure)):
        hit = index == k
        rgb[hit] = (1 - HAZARD_OPACITY) * rgb[hit] + HAZARD_OPACITY * np.array(_rgb(colour), dtype=np.float32)
        drawn |= hit

    def paint(frame: gpd.GeoDataFrame | None, values, colours: dict[int, tuple[int, int, int]], **kw) -> None:
        nonlocal drawn
        if frame is None or not len(frame):
            return
        inside = frame.cx[box[0] : box[2], box[1] : box[3]]
        if not len(inside):
            return
        vals = values(inside) if callable(values) else np.full(len(inside), values, dtype=np.uint8)
        burnt = rasterize(zip(inside.geometry, vals, strict=True), out_shape=shape, transform=transform, fill=0, **kw)
        for value, colour in colours.items():
            hit = burnt == value
            rgb[hit] = colour
            drawn |= hit

    res = transform.a
    paint(layers.get("roads"), 1, {1: ROAD}, all_touched=True)
    names = hazard.classes.names
    palette = {1: NOT_AFFECTED} | {i + 2: _rgb(c) for i, c in enumerate(class_colours(names).values())}
    codes = {n: i + 2 for i, n in enumerate(names)}
    paint(
        layers.get("buildings"),
        lambda f: f["hazard_class"].map(codes).fillna(1).to_numpy(dtype=np.uint8),
        palette,
        all_touched=True,
    )
    routes = layers.get("routes")
    if routes is not None and len(routes):
        people = routes["people"].fillna(0).to_numpy(dtype="float64")
        widths = res * (0.5 + np.clip(np.log10(np.maximum(people, 1)), 0, 3))  # 1 px, up to 7 px for 1,000 people
        paint(routes.assign(geometry=routes.buffer(widths, cap_style="flat")), 1, {1: ROUTE}, all_touched=True)
    shelters = layers.get("shelters")
    if shelters is not None and len(shelters):
        squares = shelters.assign(geometry=shelters.buffer(3 * res, cap_style="square"))
        paint(squares, lambda f: np.where(f["safe"].astype(bool), 1, 2).astype(np.uint8), {1: SAFE, 2: UNSAFE})
    alpha = np.where(drawn, 255, 0).astype(np.uint8)
    inside_area = _hazard_footprint(hazard, transform, shape) | drawn
    alpha[inside_area] = 255
    return np.dstack([rgb.round().astype(np.uint8), alpha])


def _hazard_classes(hazard, transform, shape) -> np.ndarray:
    """The hazard class index (-1 none) of each pixel of the band, nearest cell (no class is invented)."""
    values = np.full(shape, np.nan, dtype=np.float32)
    if hazard.kind == "vector":  # zones: rasterise the classified polygons
        return _zone_classes(hazard, transform, shape)
    with open_raster(Path(hazard.path), what="hazard", north_up=False) as src:
        reproject(
            rasterio.band(src, 1),
            values,
            src_nodata=src.nodata,
            dst_nodata=np.nan,
            dst_transform=transform,
            dst_crs="EPSG:3857",
            resampling=Resampling.nearest,
        )
    return hazard.classes.classify(values)


def _zone_classes(hazard, transform, shape) -> np.ndarray:
    zones = _zones_3857(hazard)
    if not len(zones):
        return np.full(shape, -1, dtype=np.int16)
    pairs = zip(zones.geometry, zones["hazard_class"].to_numpy(dtype=np.int16) + 1, strict=True)
    burnt = rasterize(pairs, out_shape=shape, transform=transform, fill=0, dtype=np.int16)
    return burnt - 1


@functools.lru_cache(maxsize=4)
def _zones_3857(hazard) -> gpd.GeoDataFrame:
    """The scenario's affected zones (``hazard_class`` = class index) in Web Mercator, read once per package."""
    from layers.hazard.sources import HazardZones, open_hazard

    opened = open_hazard(hazard)
    if not isinstance(opened, HazardZones):
        raise InvalidInputError(f"scenario '{hazard.id}' is not vector zones")
    return opened.zones.to_crs("EPSG:3857")


def _hazard_footprint(hazard, transform, shape) -> np.ndarray:
    """Pixels the hazard grid covers (dry included): the area is opaque there, clear outside."""
    if hazard.kind == "vector":
        return np.zeros(shape, dtype=bool)
    mask = np.zeros(shape, dtype=np.uint8)
    with open_raster(Path(hazard.path), what="hazard", north_up=False) as src:
        reproject(
            np.ones((src.height, src.width), dtype=np.uint8),
            mask,
            src_transform=src.transform,
            src_crs=src.crs,
            dst_nodata=0,
            dst_transform=transform,
            dst_crs="EPSG:3857",
            resampling=Resampling.nearest,
        )
    return mask.astype(bool)


def _schema(con: sqlite3.Connection) -> None:
    con.executescript(
        """
        CREATE TABLE metadata (name TEXT, value TEXT);
        CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
        CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
        """
    )


def _put(con: sqlite3.Connection, z: int, x: int, y: int, rgba: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=False, compress_level=6)
    # MBTiles rows count from the south (TMS); XYZ y counts from the north
    con.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, buf.getvalue()))


def _reduce(con: sqlite3.Connection, z: int) -> int:
    """Make level ``z`` from level ``z + 1``: each tile is its four children, halved (box filter)."""
    children: dict[tuple[int, int], dict[tuple[int, int], bytes]] = {}
    rows = con.execute("SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = ?", (z + 1,))
    for x, tms_y, data in rows:
        y = (1 << (z + 1)) - 1 - tms_y
        children.setdefault((x // 2, y // 2), {})[(x % 2, y % 2)] = data
    for (x, y), parts in children.items():
        canvas = np.zeros((2 * TILE_PX, 2 * TILE_PX, 4), dtype=np.uint8)
        for (dx, dy), data in parts.items():
            child = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
            canvas[dy * TILE_PX : (dy + 1) * TILE_PX, dx * TILE_PX : (dx + 1) * TILE_PX] = child
        half = Image.fromarray(canvas, mode="RGBA").reduce(2)
        _put(con, z, x, y, np.asarray(half))
    return len(children)


def _metadata(con, area, hazard, bounds, min_zoom: int, max_zoom: int) -> None:
    west, south, east, north = bounds
    meta = area.metadata() if hasattr(area, "metadata") else {}
    centre_zoom = min(max(min_zoom, 14), max_zoom)
    rows = {
        "name": f"{area.title}: {hazard.title}",
        "format": "png",
        "type": "baselayer",
        "version": "1.3",
        "description": f"geoapp offline map of {area.title}, scenario {hazard.title}: buildings by exposure class, "
        "roads, evacuation routes, shelters (green safe, red not) and the hazard",
        "attribution": str(meta.get("source") or "geoapp; OpenStreetMap contributors"),
        "bounds": f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}",
        "center": f"{(west + east) / 2:.6f},{(south + north) / 2:.6f},{centre_zoom}",
        "minzoom": str(min_zoom),
        "maxzoom": str(max_zoom),
    }
    con.executemany("INSERT INTO metadata VALUES (?, ?)", rows.items())
