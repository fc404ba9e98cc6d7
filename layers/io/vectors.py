"""Buildings, roads, facilities and boundaries from any vector file GDAL reads.

Every loader returns the common schema of :mod:`layers.io.schema` in a metric
working CRS. Source columns are found by their usual names, case-insensitively
(HOT exports: ``TYPE``, ``LEVELS``, ``CAPACITY``, ``NAME``, ``AMENITY``;
OSM-style exports: ``building``, ``building:levels``, ``amenity``, ``highway``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.errors import InvalidInputError, MissingCRSError, NotFoundError, UnreadableFileError, WrongFileTypeError
from layers.io.categories import first_category
from layers.io.crs import working_crs
from layers.io.schema import BOUNDARY_COLUMNS, BUILDING_COLUMNS, FACILITY_COLUMNS, ROAD_COLUMNS
from layers.io.sources import choose_layer, data_layers, is_virtual, split_layer
from layers.io.structure import structure_from_tags
from layers.io.usable import fitting_features, usable_features
from layers.io.values import parse_bool, parse_capacity, parse_levels, snake

ID_COLUMNS = ("osm_way_id", "osm_id", "id", "fid", "objectid", "ogc_fid")


VECTOR_READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError)


def read_vector(path: str | Path, *, layer: str | int | None = None, what: str = "layer") -> gpd.GeoDataFrame:
    """Read a vector layer; errors are typed and name the file and what would fix it.

    ``path`` may be ``PATH:LAYER``; without a layer, a multi-layer file gives the
    layer that fits ``what`` (see :mod:`layers.io.sources`). A raster raises
    WrongFileTypeError, a truncated or unknown file UnreadableFileError, a file
    without a CRS MissingCRSError (geoapp never guesses one). An empty layer
    is a warning naming it: the caller decides whether empty is an error.
    Features without a usable geometry (see :mod:`layers.io.usable`) and, for a ``what``
    of :data:`~layers.io.sources.FITS`, features of a geometry type that does not
    fit are dropped with a warning; when none is left, the error names the file.
    """
    path, named = split_layer(path)
    layer = named if layer is None else layer
    if not (path.exists() or is_virtual(path)):
        raise InvalidInputError(f"{what} file {path} does not exist")
    if what == "buildings" and layer is None:
        from layers.io.datasets import detect_dataset, read_dataset

        if detect_dataset(path):  # Google Open Buildings CSV, Microsoft GeoJSONL, Overture GeoParquet
            gdf = read_dataset(path)
            return fitting_features(usable_features(gdf, what, str(path)), what, str(path)) if len(gdf) else gdf
    _check_shapefile_length(path, what)
    if layer is None:
        layer = choose_layer(path, what=what)
    try:
        with warnings.catch_warnings():  # NaN vertices: usable_features says which features and drops them
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=_arrow_safe(path))
    except pyogrio.errors.DataLayerError:
        names = [name for name, _ in data_layers(path)]
        raise NotFoundError(f"{what} file {path} has no layer '{layer}'; its layers are {names}") from None
    except UnicodeDecodeError as exc:  # a Latin-1 CSV/GeoJSON header: pyogrio decodes names as UTF-8
        raise UnreadableFileError(
            f"{what} file {path} is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r}); save it as UTF-8"
        ) from None
    except VECTOR_READ_ERRORS as exc:
        if _is_raster(path):
            raise WrongFileTypeError(
                f"{what} file {path} is a raster; {what} must be a vector layer (GeoPackage, shapefile, GeoJSON...)"
            ) from None
        raise UnreadableFileError(
            f"cannot read {what} file {path} as a GIS layer (truncated or not GIS?): {exc}"
        ) from None
    source = f"{path}:{layer}" if isinstance(layer, str) else str(path)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise WrongFileTypeError(f"{what} {source} has no geometry column: it is a table, not a map layer")
    if gdf.crs is None:
        raise MissingCRSError(
            f"{what} file {source} has no CRS (missing .prj?); "
            f"add one, e.g. `ogr2ogr -a_srs EPSG:4326 out.gpkg {path.name}`"
        )
    if gdf.empty:
        warnings.warn(f"{what} layer {source} has no features", UserWarning, stacklevel=2)
        return gdf
    return fitting_features(usable_features(gdf, what, source), what, source)


# Formats whose text is always UTF-8: read through GDAL's Arrow stream (about twice as fast). Others
# (Shapefiles in a code page, CSV) keep the row reader, which decodes any encoding GDAL knows.
ARROW_SUFFIXES = (".gpkg", ".fgb", ".parquet", ".geoparquet")


def _arrow_safe(path: Path) -> bool:
    return path.suffix.lower() in ARROW_SUFFIXES


def _check_shapefile_length(path: Path, what: str) -> None:
    """A cut-off .shp reads as fewer features without any error from GDAL: compare its header's length."""
    if path.suffix.lower() != ".shp" or not path.is_file():
        return
    with open(path, "rb") as f:
        header = f.read(28)
    size = path.stat().st_size
    declared = int.from_bytes(header[24:28], "big") * 2 if len(header) == 28 else -1  # in 16-bit words
    if declared != size:
        raise UnreadableFileError(
            f"{what} file {path} is truncated or damaged: its header says {declared} bytes, the file has {size}"
        )


def _is_raster(path: Path) -> bool:
    """Whether GDAL opens ``path`` as a raster (e.g. population.tif given as buildings)."""
    import rasterio

    try:
        with rasterio.open(path):
            return True
    except rasterio.errors.RasterioIOError:
        return False


def column(gdf: pd.DataFrame, *names: str) -> pd.Series | None:
    """The first column whose name matches one of ``names`` case-insensitively, else None."""
    lower = {str(c).lower(): c for c in gdf.columns}
    for name in names:
        if name.lower() in lower:
            return gdf[lower[name.lower()]]
    return None


def stable_ids(gdf: pd.DataFrame, *candidates: str) -> np.ndarray:
    """Ids from the first candidate column holding unique integers, else 1..N in file order."""
    for name in candidates:
        col = column(gdf, name)
        if col is None:
            continue
        ids = pd.to_numeric(col, errors="coerce")
        if ids.notna().all() and ids.is_unique and (ids == ids.round()).all():
            return ids.to_numpy(dtype=np.int64)
    return np.arange(1, len(gdf) + 1, dtype=np.int64)


def _to_crs(gdf: gpd.GeoDataFrame, crs: CRS | str | None) -> gpd.GeoDataFrame:
    target = CRS.from_user_input(crs) if crs is not None else (working_crs(gdf) if len(gdf) else gdf.crs)
    return gdf.to_crs(target) if gdf.crs != target else gdf


def _text(series: pd.Series | None, n: int) -> pd.Series:
    if series is None:
        return pd.Series(pd.NA, index=range(n), dtype="string")
    out = series.astype("string").str.strip()
    return out.where(out.str.len() > 0).reset_index(drop=True)


def _frame(data: dict, geometry, crs, columns: list[str]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry).reset_index(drop=True), crs=crs)
    return gdf[columns + ["geometry"]]


def _polygons(gdf: gpd.GeoDataFrame, path: str) -> gpd.GeoDataFrame:
    """Keep polygonal features, repairing invalid ones; other geometry types are an error."""
    geom = gdf.geometry.values
    kind = shapely.get_type_id(geom)
    if len(gdf) and not np.isin(kind, (3, 6)).any():
        raise InvalidInputError(f"{path}: expected building polygons, found {gdf.geom_type.iloc[0]} features")
    keep = np.isin(kind, (3, 6))
    if (~keep).any():
        warnings.warn(f"{path}: skipped {(~keep).sum()} non-polygon features", UserWarning, stacklevel=3)
    # An empty footprint places no building (roads and facilities drop theirs too).
    empty = keep & shapely.is_empty(geom)
    if empty.any():
        warnings.warn(f"{path}: skipped {empty.sum()} features with an empty footprint", UserWarning, stacklevel=3)
    gdf = gdf[keep & ~empty]
    invalid = ~shapely.is_valid(gdf.geometry.values)
    if invalid.any():
        fixed = shapely.make_valid(gdf.geometry.values[invalid])
        polys, part_of = shapely.get_parts(fixed, return_index=True)  # only polygonal parts survive a repair
        idx = np.flatnonzero(invalid)[part_of]
        keep_part = np.isin(shapely.get_type_id(polys), (3, 6))
        merged = pd.Series(list(polys[keep_part])).groupby(idx[keep_part]).agg(lambda g: shapely.union_all(list(g)))
        geoms = gdf.geometry.values.copy()
        geoms[merged.index.to_numpy()] = merged.to_numpy()
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
        gdf = gdf[~gdf.geometry.is_empty]
    return gdf


def buildings_from_frame(raw: gpd.GeoDataFrame, *, crs=None, source: str = "buildings") -> gpd.GeoDataFrame:
    """Normalise a frame of building footprints to the building schema."""
    raw = _polygons(raw, source).reset_index(drop=True)
    n = len(raw)
    amenity_cat = first_category(column(raw, "amenity"))
    btype = snake(_text(column(raw, "type", "building_type", "building"), n))
    if amenity_cat is not None:
        # OSM's building=yes says nothing; the amenity tag then says what it is.
        vague = btype.isna() | btype.isin(["yes", "building"])
        btype = btype.where(~vague, amenity_cat.reset_index(drop=True))
    data = {
        "building_id": stable_ids(raw, "building_id", *ID_COLUMNS),
        "building_type": btype.fillna("unknown").astype("string"),
        "levels": parse_levels(_text(column(raw, "levels", "building:levels", "building_l"), n)).to_numpy(),
        "capacity": parse_capacity(_text(column(raw, "capacity"), n)).to_numpy(),
        "name": _text(column(raw, "name"), n),
    }
    out = _frame(data, raw.geometry, raw.crs, BUILDING_COLUMNS)
    structure = structure_from_tags(raw)  # OSM building:structure/structure/building:material, for earthquakes
    if structure is not None:
        out.insert(len(BUILDING_COLUMNS), "structure", structure.to_numpy())
    return _to_crs(out, crs)


def facilities_from_buildings(raw: gpd.GeoDataFrame, *, crs=None, source: str = "buildings") -> gpd.GeoDataFrame:
    """Facilities inside building footprints: one point (inside the footprint) per building whose
    ``amenity`` (or, for files without one, ``TYPE``) names a facility category."""
    raw = _polygons(raw, source).reset_index(drop=True)
    amenity = column(raw, "amenity")
    # The OSM amenity tag is authoritative; TYPE-style labels are used only for files without it.
    category = first_category(amenity) if amenity is not None else first_category(column(raw, "type", "building_type"))
    if category is None:
        category = pd.Series(pd.NA, index=raw.index, dtype="string")
    ids = stable_ids(raw, "building_id", *ID_COLUMNS)
    keep = category.notna().to_numpy()
    pts = raw.geometry[keep].representative_point()
    data = {
        "facility_id": ids[keep],
        "category": category[keep].astype("string").reset_index(drop=True),
        "name": _text(column(raw, "name"), len(raw))[keep].reset_index(drop=True),
        "capacity": parse_capacity(_text(column(raw, "capacity"), len(raw)))[keep].to_numpy(),
        "building_id": pd.array(ids[keep], dtype="Int64"),
        "source_type": snake(_text(amenity if amenity is not None else column(raw, "type"), len(raw)))[keep]
        .reset_index(drop=True)
        .astype("string"),
    }
    out = _frame(data, pts, raw.crs, FACILITY_COLUMNS)
    return _to_crs(out, crs)


def facilities_from_frame(
    raw: gpd.GeoDataFrame, *, crs=None, category: str | None = None, category_field: str | None = None
) -> gpd.GeoDataFrame:
    """Normalise facility points (or polygons, as a point inside each) to the facility schema.

    ``category`` gives every row one category; ``category_field`` names the column to map;
    otherwise geoapp's own ``category``, then ``amenity``, ``healthcare``, ``type`` and Map
    Kibera's ``watsan`` are tried in turn. A layer geoapp wrote keeps its ids and building ids.
    """
    raw = raw[~raw.geometry.is_empty & raw.geometry.notna()].reset_index(drop=True)
    n = len(raw)
    if category is not None:
        cat = pd.Series(category, index=raw.index, dtype="string")
    elif category_field is not None:
        col = column(raw, category_field)
        if col is None:
            raise InvalidInputError(
                f"facility category field '{category_field}' not found; fields are {list(raw.columns)}"
            )
        cat = first_category(col)
    else:
        cat = first_category(
            column(raw, "category"),
            column(raw, "amenity"),
            column(raw, "healthcare"),
            column(raw, "type"),
            column(raw, "watsan"),
        )
        if cat is None:
            raise InvalidInputError(
                f"cannot tell facility categories: no category/amenity/type column among {list(raw.columns)}; "
                "name the column that holds them (area.toml: layers.facilities_category_field)"
            )
    keep = cat.notna().to_numpy()
    geom = raw.geometry
    pts = geom.where(geom.geom_type == "Point", geom.representative_point())
    src = _text(
        column(raw, category_field)
        if category_field
        else column(raw, "source_type", "amenity", "healthcare", "type", "watsan"),
        n,
    )
    own_building = column(raw, "building_id")
    building_id = (
        pd.array([pd.NA] * n, dtype="Int64")
        if own_building is None
        else pd.array(pd.to_numeric(own_building, errors="coerce").reset_index(drop=True), dtype="Int64")
    )
    data = {
        "facility_id": stable_ids(raw, "facility_id", *ID_COLUMNS)[keep],
        "category": cat[keep].reset_index(drop=True),
        "name": _text(column(raw, "name"), n)[keep].reset_index(drop=True),
        "capacity": parse_capacity(_text(column(raw, "capacity"), n))[keep].to_numpy(),
        "building_id": building_id[keep],
        "source_type": snake(src)[keep].reset_index(drop=True).astype("string"),
    }
    out = _frame(data, pts[keep], raw.crs, FACILITY_COLUMNS)
    return _to_crs(out, crs)


def roads_from_frame(raw: gpd.GeoDataFrame, *, crs=None, source: str = "roads") -> gpd.GeoDataFrame:
    """Normalise road lines to the road schema (``road_class`` is the OSM highway value)."""
    kind = raw.geom_type
    lines = kind.isin(["LineString", "MultiLineString"])
    if len(raw) and not lines.any():
        raise InvalidInputError(f"{source}: expected road lines, found {kind.iloc[0]} features")
    raw = raw[lines.to_numpy() & ~raw.geometry.is_empty.to_numpy()].reset_index(drop=True)
    n = len(raw)
    oneway_text = _text(column(raw, "oneway"), n)
    # OSM's oneway=-1: one-way against the drawing direction. Reverse the line so that
    # "oneway" always means "in the direction of the geometry".
    backwards = (oneway_text.str.strip() == "-1").fillna(False).to_numpy()
    geometry = raw.geometry.to_numpy().copy()
    if backwards.any():
        geometry[backwards] = shapely.reverse(geometry[backwards])
    data = {
        "road_id": stable_ids(raw, "road_id", *ID_COLUMNS),
        "road_class": snake(_text(column(raw, "highway", "osm_type", "road_class", "type", "fclass"), n))
        .fillna("unclassified")
        .astype("string"),
        "oneway": parse_bool(oneway_text).to_numpy(),
        "name": _text(column(raw, "name"), n),
    }
    out = _frame(data, geometry, raw.crs, ROAD_COLUMNS)
    return _to_crs(out, crs)


def boundaries_from_frame(
    raw: gpd.GeoDataFrame,
    *,
    name_field: str | list[str],
    id_field: str | None = None,
    crs=None,
    source: str = "boundaries",
) -> gpd.GeoDataFrame:
    """Normalise admin / neighbourhood polygons: ``area_id``, ``name`` (fields joined by a space
    when ``name_field`` is a list), then the source attributes in snake_case."""
    fields = [name_field] if isinstance(name_field, str) else list(name_field)
    cols = []
    for f in fields:
        col = column(raw, f)
        if col is None:
            raise InvalidInputError(
                f"{source}: name field '{f}' not found; fields are {[c for c in raw.columns if c != raw.geometry.name]}"
            )
        cols.append(col.astype("string").str.strip().fillna(""))
    name = cols[0]
    for c in cols[1:]:
        name = name.str.cat(c, sep=" ")
    raw = raw.reset_index(drop=True)
    if id_field:
        col = column(raw, id_field)
        if col is None:
            raise InvalidInputError(f"{source}: id field '{id_field}' not found")
        ids = stable_ids(raw, id_field)
    else:
        ids = np.arange(1, len(raw) + 1, dtype=np.int64)
    extra = raw.drop(columns=[raw.geometry.name])
    extra.columns = [snake(pd.Series([str(c)])).iloc[0] or f"field_{i}" for i, c in enumerate(extra.columns)]
    extra = extra.drop(columns=[c for c in extra.columns if c in BOUNDARY_COLUMNS])
    extra = extra.loc[:, ~extra.columns.duplicated()]
    data = {"area_id": ids, "name": name.str.strip().reset_index(drop=True)}
    out = gpd.GeoDataFrame({**data, **{c: extra[c] for c in extra.columns}}, geometry=raw.geometry.values, crs=raw.crs)
    return _to_crs(out, crs)


def buildings_from_file(path, *, crs=None, layer=None) -> gpd.GeoDataFrame:
    """Buildings from ``path`` (or ``PATH:LAYER``): footprints, or geoapp's own ``buildings`` layer."""
    raw = read_vector(path, layer=layer, what="buildings")
    return buildings_from_frame(raw, crs=crs, source=str(path))


def roads_from_file(path, *, crs=None, layer=None) -> gpd.GeoDataFrame:
    """Road lines from ``path`` (or ``PATH:LAYER``), geoapp's own ``roads`` layer included, or an osmnx GraphML."""
    if Path(str(path)).suffix.lower() == ".graphml":  # layers.io.graphml.is_graphml, without importing networkx
        from layers.io.graphml import roads_from_graphml

        return roads_from_graphml(path, crs=crs)
    return roads_from_frame(read_vector(path, layer=layer, what="roads"), crs=crs, source=str(path))


def facilities_from_file(path, *, crs=None, layer=None, category=None, category_field=None) -> gpd.GeoDataFrame:
    """Facility points or areas from ``path`` (or ``PATH:LAYER``), geoapp's own ``facilities`` layer included."""
    raw = read_vector(path, layer=layer, what="facilities")
    return facilities_from_frame(raw, crs=crs, category=category, category_field=category_field)


def boundaries_from_file(path, *, name_field, id_field=None, crs=None, layer=None) -> gpd.GeoDataFrame:
    """Aggregation units from ``path`` (or ``PATH:LAYER``)."""
    raw = read_vector(path, layer=layer, what="boundaries")
    return boundaries_from_frame(raw, name_field=name_field, id_field=id_field, crs=crs, source=str(path))
