"""Features of a published layer: facts, a filtered page, one feature, and GeoJSON text in an output CRS.

The OGC API – Features service reads the built GeoPackage through these
functions (feature id = GeoPackage fid) and filters the field reports it has
already read, with the caller's privacy applied, through :func:`select_rows`.
Boxes are ``(minx, miny, maxx, maxy)``; a box "in a CRS" follows that CRS's
axis order (latitude first for EPSG:4326, longitude first for CRS84).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from layers.errors import InvalidInputError, NotFoundError

BBox = tuple[float, float, float, float]
Interval = tuple[pd.Timestamp | None, pd.Timestamp | None]
DEFAULT_LIMIT = 100
# Public output carries at most this many vertices per feature: a larger geometry is simplified (topology kept)
# with the smallest tolerance, growing from 1e-6 of its extent by factors of 4, that fits. One 1e6-vertex
# polygon would otherwise make every page that holds it tens of MB.
MAX_VERTICES = 10_000


@dataclass(frozen=True)
class LayerFacts:
    """What a client needs to know of a GeoPackage layer before reading it."""

    crs: CRS
    features: int
    fields: list[str]
    dtypes: dict[str, str]  # JSON schema type per field: integer, number, boolean, datetime or string
    bbox_wgs84: BBox | None


def layer_facts(path: str | Path, layer: str) -> LayerFacts:
    """CRS (EPSG:4326 when the layer has none), feature count, fields with their schema types and CRS84 extent.

    Parameters
    ----------
    path, layer
        A GeoPackage (or any file GDAL reads) and the name of one of its layers.
    """
    info = pyogrio.read_info(path, layer=layer, force_total_bounds=True)
    crs = CRS.from_user_input(info["crs"]) if info["crs"] else CRS.from_epsg(4326)
    dtypes = {f: _schema_type(t) for f, t in zip(info["fields"], info["dtypes"], strict=False)}
    return LayerFacts(crs, int(info["features"]), list(info["fields"]), dtypes, bounds_wgs84(info["total_bounds"], crs))


def _schema_type(dtype: str) -> str:
    d = str(dtype)
    if d.startswith("int"):
        return "integer"
    if d.startswith("float"):
        return "number"
    if d == "bool":
        return "boolean"
    if d.startswith("datetime"):
        return "datetime"
    return "string"


def bounds_wgs84(bounds: Sequence[float] | None, crs: CRS) -> BBox | None:
    """``bounds`` (minx, miny, maxx, maxy in ``crs``) as a lon/lat box (densified edges); None when not finite."""
    if bounds is None or not np.all(np.isfinite(bounds)):
        return None
    t = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
    w, s, e, n = t.transform_bounds(bounds[0], bounds[1], bounds[2], bounds[3], densify_pts=21)
    return (float(w), float(s), float(e), float(n))


def yx_order(crs: CRS) -> bool:
    """True when the CRS's first axis is northing/latitude (EPSG:4326): coordinates go out as lat, lon."""
    axes = crs.axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def bbox_to_crs(bbox: BBox, src: CRS, dst: CRS) -> BBox:
    """A box given in ``src`` (in its axis order) as (minx, miny, maxx, maxy) in ``dst``'s x/y (easting, northing)."""
    if yx_order(src):
        bbox = (bbox[1], bbox[0], bbox[3], bbox[2])
    if src.equals(dst):
        return bbox
    try:
        out = Transformer.from_crs(src, dst, always_xy=True).transform_bounds(*bbox, densify_pts=21)
    except Exception as exc:  # pyproj's ProjError: the box is outside what the CRSs can convert
        raise InvalidInputError(f"bbox {bbox} cannot be converted to {dst.name}") from exc
    if not np.all(np.isfinite(out)):
        raise InvalidInputError(f"bbox {bbox} is outside the area {dst.name} can represent")
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))


def read_layer(path: str | Path, layer: str, *, bbox: BBox | None = None) -> gpd.GeoDataFrame:
    """A whole layer in its own CRS, fid as the index (only features whose envelope meets ``bbox``, in that CRS)."""
    return pyogrio.read_dataframe(path, layer=layer, fid_as_index=True, bbox=bbox)


def select_features(
    path: str | Path,
    layer: str,
    *,
    bbox: BBox | None = None,
    bbox_crs: CRS | None = None,
    filters: Mapping[str, str] | None = None,
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
    cql=None,
    cql_crs: CRS | None = None,
    sortby: Sequence[tuple[str, bool]] = (),
    columns: Sequence[str] | None = None,
) -> tuple[gpd.GeoDataFrame, int]:
    """One page of a layer's features (index = fid, in fid order unless sorted) and how many match in all.

    Parameters
    ----------
    path, layer
        The GeoPackage and the layer.
    bbox, bbox_crs
        Keep features whose geometry intersects the box, given in ``bbox_crs``'s axis
        order (default: the layer's CRS, x/y).
    filters
        Field = value, all of them (numbers compared as numbers, booleans as true/1/yes).
    offset, limit
        The page: skip ``offset`` matching features, return at most ``limit``.
    cql, cql_crs
        A parsed CQL2 filter (:func:`layers.publish.cql2.parse`) and the CRS of its geometries (default CRS84).
    sortby
        ``(field, ascending)`` pairs, first one first; missing values last, ties in fid order.
    columns
        The properties to return (all when None).
    """
    cols = list(columns) if columns is not None else None
    chosen, matched = select_fids(
        path,
        layer,
        bbox=bbox,
        bbox_crs=bbox_crs,
        filters=filters,
        offset=offset,
        limit=limit,
        cql=cql,
        cql_crs=cql_crs,
        sortby=sortby,
    )
    if chosen is None:  # no condition: the page in the layer's own order
        if offset >= matched:
            return _empty(path, layer, cols), matched
        page = pyogrio.read_dataframe(
            path, layer=layer, fid_as_index=True, skip_features=offset, max_features=limit, columns=cols
        )
        return page, matched
    if len(chosen) == 0:
        return _empty(path, layer, cols), matched
    page = pyogrio.read_dataframe(path, layer=layer, fids=np.sort(chosen), fid_as_index=True, columns=cols)
    return page.loc[chosen], matched


def select_fids(
    path: str | Path,
    layer: str,
    *,
    bbox: BBox | None = None,
    bbox_crs: CRS | None = None,
    filters: Mapping[str, str] | None = None,
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
    cql=None,
    cql_crs: CRS | None = None,
    sortby: Sequence[tuple[str, bool]] = (),
) -> tuple[np.ndarray | None, int]:
    """The fids of one page of :func:`select_features` (in page order) and how many match in all.

    Only the columns the conditions read are loaded. With no condition at all the
    fids are None: the page is rows ``offset:offset + limit`` of the layer in its own order.
    """
    info = pyogrio.read_info(path, layer=layer)
    crs = CRS.from_user_input(info["crs"]) if info["crs"] else CRS.from_epsg(4326)
    where = _sql_where(dict(zip(info["fields"], map(_schema_type, info["dtypes"]), strict=False)), filters or {})
    if cql is not None or sortby:
        box = bbox_to_crs(bbox, bbox_crs, crs) if bbox is not None and bbox_crs is not None else bbox
        fids = _query_fids(
            path, layer, list(info["fields"]), crs, where=where, bbox=box, cql=cql, cql_crs=cql_crs, sortby=sortby
        )
    elif bbox is not None:
        fids = _matching_fids(path, layer, bbox_to_crs(bbox, bbox_crs, crs) if bbox_crs is not None else bbox)
        if where is not None and len(fids):
            fids = np.intersect1d(fids, _where_fids(path, layer, where))
    elif where is not None:
        fids = np.sort(_where_fids(path, layer, where))
    else:
        return None, int(info["features"])
    return np.asarray(fids[offset : offset + limit], dtype="int64"), len(fids)


def _query_fids(
    path: str | Path,
    layer: str,
    fields: list[str],
    crs: CRS,
    *,
    where: str | None,
    bbox: BBox | None,
    cql,
    cql_crs: CRS | None,
    sortby: Sequence[tuple[str, bool]],
) -> np.ndarray:
    """The fids matching a CQL2 filter (and bbox / equality filters), in ``sortby`` order.

    Only the columns the filter and the sort read are loaded, the geometry only when
    a spatial test needs it; the filter runs over whole columns (:mod:`layers.publish.cql2`).
    """
    from layers.publish import cql2

    names = cql2.attributes(cql) if cql is not None else set()
    spatial = bbox is not None or cql2.GEOMETRY in names
    cols = [f for f in fields if f in names or f in {f for f, _ in sortby}]
    df = pyogrio.read_dataframe(path, layer=layer, columns=cols, read_geometry=spatial, fid_as_index=True, where=where)
    if spatial and df.crs is None:
        df = df.set_crs(crs)
    keep = np.ones(len(df), dtype=bool)
    if bbox is not None:
        keep &= shapely.intersects(df.geometry.to_numpy(), shapely.box(*bbox))
    if cql is not None:
        keep &= cql2.mask(df, cql, filter_crs=cql_crs)
    return sort_ids(df[keep], sortby)


def sort_ids(df: pd.DataFrame, sortby: Sequence[tuple[str, bool]]) -> np.ndarray:
    """The index of ``df`` in ``sortby`` order (missing values last, ties by index), or in index order."""
    if not sortby:
        return np.sort(df.index.to_numpy())
    ordered = df.rename_axis("__id").reset_index()
    keys = [f for f, _ in sortby] + ["__id"]
    ordered = ordered.sort_values(keys, ascending=[a for _, a in sortby] + [True], kind="stable", na_position="last")
    return ordered["__id"].to_numpy()


def _sql_where(dtypes: Mapping[str, str], filters: Mapping[str, str]) -> str | None:
    parts = []
    for f, v in filters.items():
        if f not in dtypes:
            raise InvalidInputError(f"no field '{f}' to filter on; fields are {', '.join(dtypes)}")
        kind = dtypes[f]
        if kind in ("integer", "number"):
            try:
                num = float(v)
            except ValueError:
                num = math.nan
            if not math.isfinite(num):
                raise InvalidInputError(f"{f} is a number; '{v[:40]}' is not a finite one")
            parts.append(f'"{f}" = {num!r}')
        elif kind == "boolean":
            parts.append(f'"{f}" = {1 if v.lower() in ("1", "true", "yes") else 0}')
        else:
            if "\x00" in v:
                raise InvalidInputError(f"{f} must not contain a NUL character")
            parts.append(f""""{f}" = '{v.replace("'", "''")}'""")
    return " AND ".join(parts) or None


def _where_fids(path: str | Path, layer: str, where: str) -> np.ndarray:
    attr = pyogrio.read_dataframe(path, layer=layer, columns=[], read_geometry=False, fid_as_index=True, where=where)
    return attr.index.to_numpy(dtype="int64")


def _matching_fids(path: str | Path, layer: str, bbox: BBox) -> np.ndarray:
    """Sorted fids of the features whose geometry intersects a box in the layer's CRS."""
    df = pyogrio.read_dataframe(path, layer=layer, columns=[], fid_as_index=True, bbox=bbox)
    if len(df) == 0:
        return np.array([], dtype="int64")
    hit = shapely.intersects(df.geometry.to_numpy(), shapely.box(*bbox))
    return np.sort(df.index.to_numpy(dtype="int64")[hit])


def _empty(path: str | Path, layer: str, columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """No rows, the layer's columns and CRS (pyogrio's max_features=0 would mean "no limit")."""
    return pyogrio.read_dataframe(path, layer=layer, fid_as_index=True, max_features=1, columns=columns).iloc[:0]


def select_rows(
    gdf: gpd.GeoDataFrame,
    *,
    bbox: BBox | None = None,
    bbox_crs: CRS | None = None,
    filters: Mapping[str, str] | None = None,
    when: Interval | None = None,
    time_field: str | None = None,
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
    cql=None,
    cql_crs: CRS | None = None,
    sortby: Sequence[tuple[str, bool]] = (),
) -> tuple[gpd.GeoDataFrame, int]:
    """One page of the rows of a frame already in memory, and how many match in all.

    Parameters
    ----------
    gdf
        The features, index = feature id, in the order to page through.
    bbox, bbox_crs
        As in :func:`select_features` (default: ``gdf``'s CRS).
    filters
        Field = value as text, case-insensitive.
    when, time_field
        Keep rows whose ``time_field`` is within ``when`` (UTC bounds, inclusive; None = open);
        rows without a time are dropped.
    offset, limit
        The page.
    """
    if bbox is not None:
        if bbox_crs is not None and gdf.crs is not None:
            bbox = bbox_to_crs(bbox, bbox_crs, gdf.crs)
        gdf = gdf[gdf.geometry.intersects(shapely.box(*bbox))]
    for f, v in (filters or {}).items():
        gdf = gdf[gdf[f].astype("string").str.lower() == v.lower()]
    if when is not None:
        if time_field is None:
            raise InvalidInputError("a time interval needs a time field to compare with")
        t = pd.to_datetime(gdf[time_field], utc=True, errors="coerce")
        keep = t.notna()
        if when[0] is not None:
            keep &= t >= when[0]
        if when[1] is not None:
            keep &= t <= when[1]
        gdf = gdf[keep.to_numpy()]
    if cql is not None:
        from layers.publish import cql2

        gdf = gdf[cql2.mask(gdf, cql, filter_crs=cql_crs)]
    if sortby:
        gdf = gdf.loc[sort_ids(gdf, sortby)]
    return gdf.iloc[offset : offset + limit], len(gdf)


def feature_by_fid(path: str | Path, layer: str, fid: int) -> gpd.GeoDataFrame:
    """The one feature with this fid (index = fid); :class:`NotFoundError` when there is none."""
    page = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True, where=f"FID = {int(fid)}")
    if len(page) == 0:
        raise NotFoundError(f"no feature '{fid}' in collection '{layer}'")
    return page


def row_by_id(gdf: gpd.GeoDataFrame, feature_id: str, *, name: str) -> gpd.GeoDataFrame:
    """The rows of ``gdf`` whose index, as text, is ``feature_id``; NotFoundError (naming ``name``) if none."""
    page = gdf[gdf.index.astype(str) == feature_id]
    if len(page) == 0:
        raise NotFoundError(f"no feature '{feature_id}' in collection '{name}'")
    return page


def to_output_crs(gdf: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """``gdf`` reprojected to ``crs`` with coordinates in that CRS's axis order (lat, lon for EPSG:4326)."""
    out = gdf.to_crs(crs) if gdf.crs is not None and not gdf.crs.equals(crs) else gdf
    if yx_order(crs) and len(out):
        out = out.set_geometry(shapely.transform(out.geometry.to_numpy(), lambda c: c[:, ::-1]), crs=out.crs)
    return out


def cap_vertices(geoms: np.ndarray, max_vertices: int = MAX_VERTICES) -> np.ndarray:
    """``geoms`` with every geometry of more than ``max_vertices`` vertices simplified until it fits.

    The tolerance starts at 1e-6 of the geometry's larger extent and grows by 4 each
    round (topology preserved); after 12 rounds a geometry that still does not fit
    (e.g. thousands of tiny parts) is replaced by its envelope.
    """
    counts = shapely.get_num_coordinates(geoms)
    big = np.flatnonzero(counts > max_vertices)
    if len(big) == 0:
        return geoms
    out = geoms.copy()
    for i in big:
        g = geoms[i]
        x0, y0, x1, y1 = shapely.bounds(g)
        tol = max(x1 - x0, y1 - y0) * 1e-6
        for _ in range(12):
            g = shapely.simplify(geoms[i], tol, preserve_topology=True)
            if shapely.get_num_coordinates(g) <= max_vertices:
                break
            tol *= 4
        else:
            g = shapely.envelope(geoms[i])
        out[i] = g
    return out


def features_geojson_texts(
    gdf: gpd.GeoDataFrame, *, crs: CRS, digits: int | None = None, max_vertices: int | None = MAX_VERTICES
) -> list[str]:
    """Each row as GeoJSON Feature text (id = index) in ``crs`` and its axis order.

    Coordinates are rounded to ``digits`` decimals (default ~1 mm: 7 in degrees, 3 in
    metres); geometries over ``max_vertices`` are simplified (:func:`cap_vertices`;
    None keeps every vertex). Geometries are encoded by GEOS in one vectorised call;
    properties by ``json`` (datetimes as ISO 8601, missing values as null).
    """
    if len(gdf) == 0:
        return []
    gdf = to_output_crs(gdf, crs)
    if digits is None:
        digits = 7 if crs.is_geographic else 3
    geoms = gdf.geometry.to_numpy()
    if max_vertices is not None:
        geoms = cap_vertices(geoms, max_vertices)
    geoms = shapely.transform(geoms, lambda c: np.round(c, digits))
    geo_text = shapely.to_geojson(geoms)
    props = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    names = [str(c) for c in props.columns]
    columns = [_json_values(props[c]) for c in props.columns]
    dumps = orjson.dumps
    ids = [dumps(v, default=json_default).decode() for v in gdf.index.tolist()]
    # one C call per feature: orjson writes NaN/inf as null and UTF-8 as is (RFC 7946 / RFC 8259)
    props_text = [
        dumps(dict(zip(names, row, strict=True)), default=json_default).decode() for row in zip(*columns, strict=True)
    ]
    if not names:
        props_text = ["{}"] * len(ids)
    return [
        f'{{"type":"Feature","id":{fid},"geometry":{g if g is not None else "null"},"properties":{p}}}'
        for fid, g, p in zip(ids, geo_text, props_text, strict=True)
    ]


def _json_values(col: pd.Series) -> list:
    """A column as Python values orjson writes: datetimes as ISO 8601, missing values as None."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return [None if pd.isna(v) else v.isoformat() for v in col]
    if pd.api.types.is_float_dtype(col.dtype) and isinstance(col.dtype, np.dtype):
        return col.tolist()  # NaN stays NaN: orjson writes null
    if col.dtype == object or pd.api.types.is_extension_array_dtype(col.dtype):
        missing = col.isna().to_numpy()
        values = col.astype(object).tolist()
        if missing.any():
            for i in np.flatnonzero(missing):
                values[i] = None
        return values
    return col.tolist()


def json_default(v: object) -> object:
    """``json`` fallback for numpy scalars (NaN as null) and timestamps (ISO 8601); anything else as text."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.isoformat()
    return str(v)


def geojson_from_wkt(values: Sequence[str | None]) -> list[dict | None]:
    """GeoJSON geometry dicts of WKT texts; None (or empty text) gives None."""
    arr = np.array(list(values), dtype=object)
    out: list[dict | None] = [None] * len(arr)
    has = np.array([bool(w) for w in arr], dtype=bool)
    if has.any():
        texts = shapely.to_geojson(shapely.from_wkt(arr[has]))
        for i, text in zip(np.flatnonzero(has), texts, strict=False):
            out[i] = json.loads(text)
    return out
