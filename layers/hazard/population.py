"""Population: rasters (counts, densities, scaled values) and census polygons, placed on the hazard.

People are summed in float64 (float32 accumulation loses > 1 % on the
Jakarta grid). A raster becomes people per cell:

* ``count``: value × scale;
* ``per_km2`` / ``per_ha``: value × cell area (km² / ha) × scale. Cells of a
  geographic grid are areas on the ellipsoid, one per row (a row's cells are
  equal); projected grids use the map's cell size.

Alignment to the hazard grid is sum-preserving: no person is created or lost.

* ``identical grid``: the population grid is the hazard grid (same CRS,
  transform and size): each cell takes its own class.
* ``cells into hazard cells``: population cells are as fine as the hazard's
  or finer: each cell's people go to the hazard cell holding its centre.
* ``split k×k``: population cells are coarser: each is split into k×k
  sub-cells of equal share (uniform density inside a cell, k chosen so that
  sub-cells are no larger than hazard cells), each going to the hazard cell
  holding its centre.

People outside the hazard grid are counted in the total, in no class.
Census polygons are cut by the hazard's class polygons and their people
shared by area (area-weighted).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS, Geod, Transformer

from layers.errors import InvalidInputError
from layers.hazard.classes import NOT_AFFECTED
from layers.hazard.sources import Hazard, HazardRaster, HazardZones, cell_size_m
from layers.io.rasters import open_raster

UNITS = ("count", "per_km2", "per_ha")
MAX_SUBCELLS = 30_000_000


@dataclass
class PopulationGrid:
    """People per cell (float64, 0 where nodata) of a raster, with its grid."""

    people: np.ndarray
    transform: rasterio.Affine
    crs: CRS
    path: Path | None = None

    @property
    def total(self) -> float:
        return float(self.people.sum(dtype=np.float64))


def cell_areas_m2(transform, shape: tuple[int, int], crs) -> np.ndarray:
    """Area (m²) of the cells of each row, shape ``(height, 1)``; on the ellipsoid for geographic grids."""
    crs = CRS.from_user_input(crs)
    height, _ = shape
    a, e = abs(transform.a), abs(transform.e)
    if not crs.is_geographic:
        factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return np.full((height, 1), a * e * factor * factor)
    geod = (
        Geod(ellps="WGS84")
        if crs.ellipsoid is None
        else Geod(a=crs.ellipsoid.semi_major_metre, rf=crs.ellipsoid.inverse_flattening or 0.0)
    )
    rows = np.arange(height + 1)
    lat = transform.f + rows * transform.e
    lat = np.clip(lat, -90, 90)
    x0 = transform.c
    areas = np.empty(height)
    for r in range(height):  # one geodesic quad per row, not per cell
        lats = [lat[r], lat[r], lat[r + 1], lat[r + 1]]
        lons = [x0, x0 + a, x0 + a, x0]
        areas[r] = abs(geod.polygon_area_perimeter(lons, lats)[0])
    return areas[:, None]


def read_population(path, *, units: str = "count", scale: float = 1.0, band: int = 1) -> PopulationGrid:
    """People per cell of a population raster (see the module doc for ``units`` and ``scale``)."""
    path = Path(path)
    if units not in UNITS:
        raise InvalidInputError(f"population units '{units}' must be one of {', '.join(UNITS)}")
    if not (scale > 0 and math.isfinite(scale)):
        raise InvalidInputError(f"population scale {scale} must be a positive number")
    with open_raster(
        path, what="population", hint="for census polygons give the attribute with --population-field"
    ) as src:
        values = np.ma.filled(src.read(band, masked=True).astype(np.float64), 0.0)
        transform, crs = src.transform, CRS.from_user_input(src.crs)
    if np.isinf(values).any():
        raise InvalidInputError(
            f"population raster {path} has {int(np.isinf(values).sum())} infinite cells; set them to nodata or a count"
        )
    values = np.nan_to_num(values, nan=0.0)  # NaN cells are nodata
    if (values < 0).any():
        warnings.warn(
            f"population raster {path} has {(values < 0).sum()} negative cells; they count as 0", stacklevel=2
        )
        values = np.clip(values, 0.0, None)
    with np.errstate(over="ignore"):  # an overflowing scale is the error below
        if units == "count":
            people = values * scale
        else:
            per = 1e6 if units == "per_km2" else 1e4
            people = values * (cell_areas_m2(transform, values.shape, crs) / per) * scale
        total = float(people.sum())
    if not math.isfinite(total):
        raise InvalidInputError(f"population of {path} times scale {scale:g} overflows; check --population-scale")
    if total == 0:
        warnings.warn(f"population raster {path} holds no people (every cell is 0 or nodata)", stacklevel=2)
    return PopulationGrid(people, transform, crs, path)


def read_census(path, *, field: str, layer=None) -> gpd.GeoDataFrame:
    """Census polygons with ``people`` (float64) from ``field``."""
    from layers.io.vectors import column, read_vector

    gdf = read_vector(path, layer=layer, what="population")
    if gdf.crs is None:
        raise InvalidInputError(f"population polygons {path} have no CRS; add a .prj or write the file with one")
    values = column(gdf, field)
    if values is None:
        raise InvalidInputError(
            f"population {path} has no field '{field}'; fields are {[c for c in gdf.columns if c != 'geometry']}"
        )
    people = pd.to_numeric(values, errors="coerce")
    bad = people.isna() & values.notna()
    if bad.any():
        raise InvalidInputError(
            f"population field '{field}' of {path} holds text (row {int(np.flatnonzero(bad)[0]) + 1}: "
            f"{values[bad].iloc[0]!r}); give a numeric field of people per polygon"
        )
    polys = gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polys.all():
        raise InvalidInputError(
            f"population {path} must hold polygons (census areas); found {gdf.geom_type[~polys].iloc[0]}"
        )
    return gpd.GeoDataFrame(
        {"people": people.fillna(0.0).to_numpy(np.float64)}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs
    )


def read_people(
    path, *, field: str | None = None, units: str = "count", scale: float = 1.0
) -> PopulationGrid | gpd.GeoDataFrame:
    """Census polygons when ``field`` names their people, else a population raster."""
    return read_census(path, field=field) if field else read_population(path, units=units, scale=scale)


def _grid_size_m(transform, crs, shape) -> float:
    crs = CRS.from_user_input(crs)
    a, e = abs(transform.a), abs(transform.e)
    if crs.is_geographic:
        lat = transform.f + transform.e * shape[0] / 2
        return math.sqrt(a * 111_320 * max(math.cos(math.radians(lat)), 1e-6) * e * 110_574)
    return math.sqrt(a * e)


def _same_grid(pop: PopulationGrid, hazard: HazardRaster) -> bool:
    if pop.people.shape != (hazard.height, hazard.width) or not pop.crs.equals(hazard.crs):
        return False
    tol = 1e-6 * max(abs(hazard.transform.a), abs(hazard.transform.e))
    return all(abs(p - h) <= tol for p, h in zip(pop.transform[:6], hazard.transform[:6], strict=False))


def people_on_hazard(pop: PopulationGrid, hazard: Hazard | None, *, crs=None) -> tuple[gpd.GeoDataFrame, str]:
    """People as points (cell or sub-cell centres) with ``people`` and ``hazard_class`` (index, -1 none).

    Returns ``(points, method)``; points are in ``crs`` (default the population CRS).
    Sum-preserving: ``points.people.sum() == pop.total`` (in float64).
    """
    people = pop.people
    rows, cols = np.nonzero(people > 0)
    vals = people[rows, cols]
    k = 1
    if hazard is None:
        method = "no hazard"
    elif isinstance(hazard, HazardRaster) and _same_grid(pop, hazard):
        method = "identical grid"
    else:
        ratio = _grid_size_m(pop.transform, pop.crs, people.shape) / (
            cell_size_m(hazard) if isinstance(hazard, HazardRaster) else math.inf
        )
        k = max(1, math.ceil(ratio - 1e-9)) if math.isfinite(ratio) else 1
        if len(vals) * k * k > MAX_SUBCELLS:
            k_max = max(1, int(math.sqrt(MAX_SUBCELLS / max(len(vals), 1))))
            warnings.warn(f"population cells split {k_max}×{k_max} instead of {k}×{k} to stay in memory", stacklevel=2)
            k = k_max
        if isinstance(hazard, HazardZones):
            method = "cell centres in zones"
        else:
            method = "cells into hazard cells" if k == 1 else f"split {k}x{k}"
    # Sub-cell centres (k×k per cell), each with 1/k² of the cell's people.
    off = (np.arange(k) + 0.5) / k
    sub_r = (rows[:, None, None] + off[None, :, None] + 0 * off[None, None, :]).ravel()
    sub_c = (cols[:, None, None] + 0 * off[None, :, None] + off[None, None, :]).ravel()
    sub_v = np.repeat(vals / (k * k), k * k)
    t = pop.transform
    x = t.c + sub_c * t.a
    y = t.f + sub_r * t.e
    cls = np.full(len(x), NOT_AFFECTED, dtype=np.int8)
    if hazard is not None and len(x):
        if method == "identical grid" and isinstance(hazard, HazardRaster):
            grid = hazard.class_grid()
            cls = grid[rows, cols]
        elif isinstance(hazard, HazardRaster):
            hx, hy = (
                (x, y)
                if pop.crs.equals(hazard.crs)
                else Transformer.from_crs(pop.crs, hazard.crs, always_xy=True).transform(x, y)
            )
            cls = _raster_class_at(hazard, np.asarray(hx), np.asarray(hy))
        else:
            cls = _zones_class_at(hazard, x, y, pop.crs)
    pts = gpd.GeoDataFrame({"people": sub_v, "hazard_class": cls}, geometry=shapely.points(x, y), crs=pop.crs)
    if crs is not None:
        pts = pts.to_crs(crs)
    # The (sub-)grid the points sit on, so units can be found by rasterising them (see units_on_grid).
    h, w = people.shape
    pts.attrs["grid"] = PointGrid(
        t @ rasterio.Affine.scale(1 / k),
        (h * k, w * k),
        pop.crs,
        np.floor(sub_r * k).astype(np.int64),
        np.floor(sub_c * k).astype(np.int64),
    )
    return pts, method


@dataclass
class PointGrid:
    """The grid whose cell centres are the people points: ``row``/``col`` of each point."""

    transform: rasterio.Affine
    shape: tuple[int, int]
    crs: CRS
    row: np.ndarray
    col: np.ndarray


def units_on_grid(grid: PointGrid, units: gpd.GeoDataFrame, *, max_cells: int = 50_000_000) -> np.ndarray | None:
    """Position of the unit holding each grid point (-1 none), by rasterising the units (cell-centre rule);
    None when the grid is too large to rasterise."""
    from rasterio.features import rasterize

    if grid.shape[0] * grid.shape[1] > max_cells or not len(grid.row):
        return None
    r0, r1, c0, c1 = grid.row.min(), grid.row.max(), grid.col.min(), grid.col.max()
    shape = (int(r1 - r0 + 1), int(c1 - c0 + 1))
    t = grid.transform @ rasterio.Affine.translation(int(c0), int(r0))
    geoms = units.geometry.to_crs(grid.crs).to_numpy()
    # Drawn last-to-first so that where units overlap the first one wins.
    order = np.arange(len(geoms))[::-1]
    burned = rasterize(zip(geoms[order], order + 1, strict=False), out_shape=shape, transform=t, fill=0, dtype="int32")
    return burned[grid.row - r0, grid.col - c0].astype(np.int64) - 1


def _raster_class_at(hazard: HazardRaster, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from rasterio.windows import Window

    t = hazard.transform  # north-up (checked when opened)
    row = np.floor((y - t.f) / t.e).astype(np.int64)
    col = np.floor((x - t.c) / t.a).astype(np.int64)
    inside = (row >= 0) & (row < hazard.height) & (col >= 0) & (col < hazard.width)
    out = np.full(len(x), NOT_AFFECTED, dtype=np.int8)
    if inside.any():
        r0, r1, c0, c1 = row[inside].min(), row[inside].max(), col[inside].min(), col[inside].max()
        grid = hazard.class_grid(Window(int(c0), int(r0), int(c1 - c0 + 1), int(r1 - r0 + 1)))
        out[inside] = grid[row[inside] - r0, col[inside] - c0]
    return out


def _zones_class_at(hazard: HazardZones, x, y, crs) -> np.ndarray:
    """Most severe class of the zones holding each point (zones as given: small polygons query fast)."""
    zones = hazard.zones
    out = np.full(len(x), NOT_AFFECTED, dtype=np.int8)
    if not len(zones):
        return out
    pts = gpd.GeoSeries(shapely.points(x, y), crs=crs).to_crs(zones.crs).to_numpy()
    src, dst = shapely.STRtree(zones.geometry.to_numpy()).query(pts, predicate="intersects")
    np.maximum.at(out, src, zones["hazard_class"].to_numpy()[dst])
    return out


def census_on_hazard(census: gpd.GeoDataFrame, hazard: Hazard | None, *, crs) -> tuple[gpd.GeoDataFrame, str]:
    """Census polygons cut by the hazard's class polygons.

    Pieces with ``people`` (area-weighted) and ``hazard_class``.
    """
    census = census.to_crs(crs).reset_index(drop=True)
    census = census.assign(_cid=np.arange(len(census)), _area=census.area)
    empty = (census["_area"] <= 0).to_numpy()
    if empty.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(empty)[:5])
        warnings.warn(
            f"{empty.sum()} population polygon(s) are empty or have no area (row {rows}); their "
            f"{census.loc[empty, 'people'].sum():,.0f} people cannot be placed and are left out",
            stacklevel=3,
        )
        census = census[~empty].reset_index(drop=True)
    if hazard is None:
        return census.assign(hazard_class=np.int8(NOT_AFFECTED))[["people", "hazard_class", "geometry"]], "no hazard"
    zones = hazard.class_polygons(crs=crs)
    if not len(zones):
        pieces = census.assign(hazard_class=np.int8(NOT_AFFECTED))
    else:
        pieces = gpd.overlay(census, zones, how="identity", keep_geom_type=True)
        pieces["hazard_class"] = pieces["hazard_class"].fillna(NOT_AFFECTED).astype(np.int8)
    share = pieces.area.to_numpy() / pieces["_area"].to_numpy()
    pieces["people"] = pieces["people"].to_numpy(np.float64) * share
    return pieces[["people", "hazard_class", "geometry"]].reset_index(drop=True), "area-weighted"
