"""GeoJSON (RFC 7946), CSV, FlatGeobuf, KML and GPX writers: the formats for web tools, spreadsheets and GPS."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.errors import InvalidInputError
from layers.publish.files import (
    Layers,
    Progress,
    check_layers,
    for_file,
    neutralise_formulas,
    promote,
    to_wgs84,
    write_frame,
)
from layers.publish.styles import escape, layer_style, ogr_style_strings


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path, *, precision: int = 7, layer: str | None = None) -> Path:
    """GeoJSON per RFC 7946: lon/lat WGS 84, counter-clockwise outer rings, at most ``precision`` decimals.

    ``layer`` (default: the file name) goes in the collection's ``name``, which GDAL and QGIS read as the layer name.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    write_frame(
        for_file(to_wgs84(gdf)),
        path,
        driver="GeoJSON",
        layer=layer or path.stem,
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": str(precision), "WRITE_NAME": "YES"},
    )
    return path


def write_csv(gdf: gpd.GeoDataFrame, path: str | Path, *, geometry: str = "wkt") -> Path:
    """CSV in WGS 84 with formulas neutralised; ``geometry`` "wkt" (a WKT column) or "lonlat" (lon, lat columns).

    With "lonlat", lines and polygons are placed at a point inside them. Beside the CSV go a ``.csvt``
    (the column types, so GDAL and QGIS read numbers as numbers) and a ``.prj`` (WGS 84).
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    path.with_suffix(".prj").write_text(CRS.from_epsg(4326).to_wkt("WKT1_ESRI"), encoding="utf-8")
    frame = neutralise_formulas(for_file(to_wgs84(gdf)))
    if geometry == "wkt":
        write_frame(frame, path, driver="CSV", layer_options={"GEOMETRY": "AS_WKT", "CREATE_CSVT": "YES"})
    elif geometry == "lonlat":
        geom = frame.geometry
        pts = geom.where(geom.geom_type == "Point", geom.representative_point())
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        table["lon"] = pts.x.round(7)
        table["lat"] = pts.y.round(7)
        pyogrio.write_dataframe(table, path, driver="CSV", layer_options={"CREATE_CSVT": "YES"})
    else:
        raise InvalidInputError(f"csv geometry '{geometry}' must be 'wkt' or 'lonlat'")
    return path


def write_flatgeobuf(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """FlatGeobuf with a spatial index (fast to stream and to read by bbox, good for big layers).

    ``layer`` (default: the file name) is the layer name stored in the file's header.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    frame = for_file(gdf)
    if len(frame) and not promote(frame) and frame.geom_type.nunique() > 1:
        warnings.warn("FlatGeobuf layer has mixed geometry types; written as 'Unknown'", stacklevel=2)
    write_frame(frame, path, driver="FlatGeobuf", layer=layer or path.stem, layer_options={"SPATIAL_INDEX": "YES"})
    return path


def write_kml(layers: Layers, path: str | Path, *, progress: Progress | None = None) -> Path:
    """KML (GDAL's LIBKML driver): one folder per layer, every feature styled by its class or category."""
    check_layers(layers)
    path = Path(path)
    path.unlink(missing_ok=True)
    booleans: dict[str, list[str]] = {}
    for i, (name, gdf) in enumerate(layers.items()):
        frame = for_file(to_wgs84(gdf))
        frame["OGR_STYLE"] = ogr_style_strings(frame, layer_style(gdf, name=name))
        if "name" not in frame.columns:
            frame.insert(0, "name", frame.iloc[:, 0].astype("string").astype(object) if frame.shape[1] > 2 else name)
        booleans[name] = [c for c in frame.columns if c != frame.geometry.name and pd.api.types.is_bool_dtype(frame[c])]
        for col in booleans[name]:  # written as 1/0, declared bool below (see _declare_booleans)
            frame[col] = frame[col].astype("Int8")
        write_frame(frame, path, driver="LIBKML", layer=name)
        if progress:
            progress(i + 1, len(layers), name)
    _declare_booleans(path, booleans)
    return path


def _declare_booleans(path: Path, booleans: dict[str, list[str]]) -> None:
    """Declare the 1/0 columns ``type="bool"`` in each layer's KML ``<Schema>``.

    GDAL 3.6's LIBKML reader (Debian's, under QGIS) parses a ``bool`` SimpleData with atoi,
    so the ``true``/``false`` GDAL writes read back as 0. ``1``/``0`` are valid xsd:boolean
    values too: GDAL 3.6 reads them as integers 1/0 and newer GDAL as booleans.
    """
    if not any(booleans.values()):
        return
    text = path.read_text(encoding="utf-8")
    for layer, cols in booleans.items():
        start = text.find(f'<Schema id="{escape(layer)}.schema"')
        end = text.find("</Schema>", start)
        if start < 0 or end < 0:
            continue
        block = text[start:end]
        for col in cols:
            block = block.replace(
                f'<SimpleField name="{escape(col)}" type="int"/>', f'<SimpleField name="{escape(col)}" type="bool"/>'
            )
        text = text[:start] + block + text[end:]
    path.write_text(text, encoding="utf-8")


def write_gpx(gdf: gpd.GeoDataFrame, path: str | Path) -> Path:
    """GPX for handheld GPS: points as waypoints, lines as routes (polygons as a waypoint inside each).

    Attributes other than GPX's own (name, desc, ...) travel as ``<extensions>``; GDAL reads them back as
    ``ogr_<field>``.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    frame = for_file(to_wgs84(gdf))
    kinds = set(frame.geom_type.dropna().unique())
    if kinds & {"Polygon", "MultiPolygon"}:
        frame = frame.set_geometry(frame.geometry.representative_point())
        kinds = {"Point"}
    if kinds <= {"Point"}:
        geom_type = "Point"
    elif kinds <= {"LineString"}:
        geom_type = "LineString"
    elif kinds <= {"LineString", "MultiLineString"}:  # several parts: tracks keep them
        frame = frame.set_geometry(
            frame.geometry.apply(
                lambda g: g if g is None or g.geom_type != "LineString" else shapely.MultiLineString([g])
            )
        )
        geom_type = "MultiLineString"
    else:
        raise InvalidInputError(f"GPX holds points and lines; this layer has {sorted(kinds)}")
    frame = frame.drop(
        columns=[c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c]) and c != "time"]
    )
    for (
        col
    ) in frame.columns:  # GDAL's GPX reader types integer extensions as 32-bit: big ids go as reals (exact to 2**53)
        if pd.api.types.is_integer_dtype(frame[col]) and len(frame) and frame[col].abs().max() > np.iinfo(np.int32).max:
            frame[col] = frame[col].astype("float64")
    write_frame(
        frame,
        path,
        driver="GPX",
        geometry_type=geom_type,
        dataset_options={"GPX_USE_EXTENSIONS": "YES"},
        layer_options={"FORCE_GPX_ROUTE": "YES"} if geom_type == "LineString" else None,
    )
    return path
