"""Bad input files built from the real Jakarta sample: truncated, empty, wrong kind, wrong CRS, wrong encoding.

Every builder takes the folder to write into and returns the path of one file
(or folder). ``BadFiles`` builds each kind once per session, on first use.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.transform import Affine

from tests.helpers import SAMPLE_AREA

# A corner of the sample (about 200 buildings, 470 roads, 15 kelurahan): fast enough to run hundreds of times.
BBOX = (106.80, -6.22, 106.83, -6.19)
# A smaller corner for whole builds.
SMALL_BBOX = (106.805, -6.215, 106.82, -6.20)


def corner(name: str, bbox=BBOX) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(SAMPLE_AREA / f"{name}.gpkg", bbox=bbox)


def centroids(gdf: gpd.GeoDataFrame):
    """Centroids in lon/lat (tiny features: planar centroids are exact enough, without geopandas' warning)."""
    return shapely.centroid(np.asarray(gdf.geometry))


def write_area(folder: Path, bbox=BBOX, *, toml: str | None = None) -> Path:
    """A working area folder (buildings, roads, kelurahan in ``bbox``, the full grids) with its area.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("buildings", "roads", "kelurahan"):
        pyogrio.write_dataframe(corner(name, bbox), folder / f"{name}.gpkg")
    for name in ("flood_current.tif", "population.tif"):
        shutil.copy(SAMPLE_AREA / name, folder / name)
    (folder / "area.toml").write_text(toml if toml is not None else AREA_TOML, encoding="utf-8")
    return folder


AREA_TOML = """[area]
name = "corner"
title = "Jakarta corner"
crs = "EPSG:32748"

[layers]
buildings = "buildings.gpkg"
roads = "roads.gpkg"

[[hazard]]
id = "current"
file = "flood_current.tif"

[population]
file = "population.tif"
scale = 0.025

[[boundaries]]
id = "kel"
file = "kelurahan.gpkg"
name_field = "KEL_NAME2"
"""


# -- vectors ------------------------------------------------------------------------------------


def _gpkg(gdf: gpd.GeoDataFrame, out: Path) -> Path:
    pyogrio.write_dataframe(gdf, out)
    return out


def _with_geometry(gdf: gpd.GeoDataFrame, geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=list(geoms), crs=gdf.crs)


def _bad_vertex(value: float) -> Callable[[Path], Path]:
    """Buildings whose first feature has a vertex at ``value`` (NaN, inf or huge)."""

    def make(d: Path) -> Path:
        b = corner("buildings")
        geoms = list(b.geometry)
        x, y = geoms[0].bounds[:2]
        geoms[0] = shapely.Polygon([(x, y), (value, value), (x, y + 0.001), (x, y)])
        return _gpkg(_with_geometry(b, geoms), d / f"vertex_{value}.gpkg")

    return make


def _geojson_text(d: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    out = d / name
    out.write_bytes(text.encode(encoding))
    return out


def _buildings_geojson(n: int = 20) -> dict:
    return json.loads(corner("buildings").head(n).to_json())


def _truncated(src: Path, d: Path, name: str) -> Path:
    data = src.read_bytes()
    out = d / name
    out.write_bytes(data[: len(data) // 2])
    return out


def _shapefile(gdf: gpd.GeoDataFrame, d: Path, stem: str, drop=()) -> Path:
    folder = d / stem
    folder.mkdir()
    out = folder / f"{stem}.shp"
    pyogrio.write_dataframe(gdf, out)
    for suffix in drop:
        out.with_suffix(suffix).unlink()
    return out


def _multilayer(d: Path) -> Path:
    """An empty first layer, then the buildings (issue 13, item 2)."""
    out = d / "multilayer.gpkg"
    b = corner("buildings")
    pyogrio.write_dataframe(b.iloc[:0], out, layer="aaa_empty")
    pyogrio.write_dataframe(b, out, layer="zz_buildings")
    return out


def _mixed(d: Path) -> Path:
    b = corner("buildings").head(30)
    geoms = [p if i % 2 else g for i, (g, p) in enumerate(zip(b.geometry, centroids(b), strict=True))]
    return _gpkg(_with_geometry(b, geoms), d / "mixed.geojson")


def _null_geometry(d: Path) -> Path:
    doc = _buildings_geojson()
    for f in doc["features"]:
        f["geometry"] = None
    return _geojson_text(d, "null_geometry.geojson", json.dumps(doc))


def _bowtie(d: Path) -> Path:
    b = corner("buildings")
    geoms = []
    for g in b.geometry:
        x0, y0, x1, y1 = g.bounds
        geoms.append(shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]))
    return _gpkg(_with_geometry(b, geoms), d / "bowtie.gpkg")


def _zipped_truncated_shp(d: Path) -> Path:
    shp = _shapefile(corner("buildings"), d, "zipped")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in shp.parent.iterdir():
            z.write(f, f.name)
    out = d / "truncated_shp.zip"
    out.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return out


VECTOR_KINDS: dict[str, Callable[[Path], Path]] = {
    "empty_layer": lambda d: _gpkg(corner("buildings").iloc[:0], d / "empty.gpkg"),
    "points": lambda d: _gpkg(_with_geometry(corner("buildings"), centroids(corner("buildings"))), d / "points.gpkg"),
    "lines": lambda d: _gpkg(corner("roads"), d / "lines.gpkg"),
    "polygons": lambda d: _gpkg(corner("kelurahan"), d / "polygons.gpkg"),
    "shp_without_prj": lambda d: _shapefile(corner("buildings"), d, "noprj", drop=(".prj",)),
    "shp_without_dbf": lambda d: _shapefile(corner("buildings"), d, "nodbf", drop=(".dbf", ".shx")),
    "raster": lambda d: shutil.copy(SAMPLE_AREA / "flood_current.tif", d / "raster.tif") and d / "raster.tif",
    "far_away": lambda d: _gpkg(
        _with_geometry(corner("buildings"), corner("buildings").translate(-100.0)), d / "far.gpkg"
    ),
    "nan_vertex": _bad_vertex(math.nan),
    "inf_vertex": _bad_vertex(math.inf),
    "huge_vertex": _bad_vertex(1e308),
    "truncated_gpkg": lambda d: _truncated(SAMPLE_AREA / "buildings.gpkg", d, "truncated.gpkg"),
    "zero_bytes": lambda d: _geojson_text(d, "zero.gpkg", ""),
    "garbage": lambda d: (
        (d / "garbage.gpkg").write_bytes(np.random.default_rng(1).bytes(50_000)) and d / "garbage.gpkg"
    ),
    "missing": lambda d: d / "does_not_exist.gpkg",
    "utf16_geojson": lambda d: _geojson_text(d, "utf16.geojson", json.dumps(_buildings_geojson()), "utf-16"),
    "latin1_geojson": lambda d: _geojson_text(
        d, "latin1.geojson", json.dumps(_buildings_geojson(), ensure_ascii=False).replace('"type"', '"typé"', 3)
    ),
    "directory": lambda d: (d / "a_folder").mkdir(exist_ok=True) or d / "a_folder",
    "multilayer_empty_first": _multilayer,
    "mixed_points_polygons": _mixed,
    "null_geometries": _null_geometry,
    "self_intersecting": _bowtie,
    "truncated_zip": _zipped_truncated_shp,
}


# -- rasters ------------------------------------------------------------------------------------


def _rewrite_raster(d: Path, name: str, *, values=None, crs="keep", transform=None, dtype=None) -> Path:
    with rasterio.open(SAMPLE_AREA / "flood_current.tif") as src:
        profile = src.profile.copy()
        data = src.read(1)
    if values is not None:
        data = values(data)
    if dtype:
        profile["dtype"] = dtype
        data = data.astype(dtype)
    profile["crs"] = src.crs if crs == "keep" else crs
    if transform is not None:
        profile["transform"] = transform(profile["transform"])
    profile.pop("blockxsize", None), profile.pop("blockysize", None), profile.update(tiled=False)
    out = d / name
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data, 1)
    return out


def _one_cell(d: Path) -> Path:
    out = d / "one_cell.tif"
    with rasterio.open(
        out,
        "w",
        driver="GTiff",
        width=1,
        height=1,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(0.001, 0, 106.81, 0, -0.001, -6.2),
    ) as dst:
        dst.write(np.full((1, 1), 1.0, np.float32), 1)
    return out


def _nodata(data):
    return np.full_like(data, -9999.0)


def _nan_inf(data):
    data = data.astype("float32").copy()
    data[::3, ::3] = np.nan
    data[1::3, 1::3] = np.inf
    data[2::3, 2::3] = -np.inf
    return data


RASTER_KINDS: dict[str, Callable[[Path], Path]] = {
    "vector": lambda d: _gpkg(corner("buildings"), d / "vector.gpkg"),
    "all_nodata": lambda d: _rewrite_raster(d, "nodata.tif", values=_nodata),
    "no_crs": lambda d: _rewrite_raster(d, "nocrs.tif", crs=None),
    "far_away": lambda d: _rewrite_raster(d, "far.tif", transform=lambda t: Affine(t.a, t.b, t.c - 100, t.d, t.e, t.f)),
    "rotated": lambda d: _rewrite_raster(
        d, "rotated.tif", transform=lambda t: Affine(t.a, 0.0001, t.c, 0.0001, t.e, t.f)
    ),
    "nan_inf_values": lambda d: _rewrite_raster(d, "naninf.tif", values=_nan_inf, dtype="float32"),
    "huge_values": lambda d: _rewrite_raster(d, "huge.tif", values=lambda a: np.full_like(a, 3e38)),
    "negative_values": lambda d: _rewrite_raster(d, "negative.tif", values=lambda a: np.full_like(a, -5.0)),
    "one_cell": _one_cell,
    "truncated_tif": lambda d: _truncated(SAMPLE_AREA / "flood_current.tif", d, "truncated.tif"),
    "zero_bytes": lambda d: _geojson_text(d, "zero.tif", ""),
    "garbage": lambda d: (
        (d / "garbage.tif").write_bytes(b"II*\x00" + np.random.default_rng(2).bytes(40_000)) and d / "garbage.tif"
    ),
    "missing": lambda d: d / "does_not_exist.tif",
    "text_asc": lambda d: _geojson_text(d, "bad.asc", "ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize x\n1 2\n"),
}


class BadFiles:
    """Each kind built once, on first use, in its own folder."""

    def __init__(self, root: Path):
        self.root = root
        self._made: dict[tuple[str, str], Path] = {}

    def _get(self, table: dict, family: str, kind: str) -> Path:
        key = (family, kind)
        if key not in self._made:
            folder = self.root / family / kind
            folder.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():  # shapely and GDAL note the bad values these files are made of
                warnings.simplefilter("ignore")
                self._made[key] = Path(table[kind](folder))
        return self._made[key]

    def vector(self, kind: str) -> Path:
        return self._get(VECTOR_KINDS, "vector", kind)

    def raster(self, kind: str) -> Path:
        return self._get(RASTER_KINDS, "raster", kind)
