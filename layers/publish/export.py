"""Writing layers to GIS files, every format through GDAL (pyogrio).

GeoPackage is the default and keeps everything: several layers, a description
per layer, a ``geoapp_metadata`` table (source, licence, date, scenario, CRS,
generator and version) and QGIS ``layer_styles`` so QGIS opens layers coloured.
Other formats: zipped Shapefile (one file per geometry type, UTF-8 ``.cpg``,
``fields.csv`` mapping the 10-character names to the full ones), GeoJSON per
RFC 7946, CSV (WKT or lon/lat) with spreadsheet formulas neutralised, KML
styled by class, GPX (points as waypoints, lines as routes) and FlatGeobuf.
Formats that hold one layer per file come as a zip when several layers are
asked for.
"""

from __future__ import annotations

import json
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from layers.errors import InvalidInputError, NotFoundError
from layers.publish.styles import layer_style, ogr_style_strings, to_qml, to_sld

Layers = dict[str, gpd.GeoDataFrame]
Progress = Callable[[int, int, str], None]  # (done, total, layer name)

GENERATOR = "geoapp"
METADATA_TABLE = "geoapp_metadata"
STYLES_TABLE = "layer_styles"
NON_DATA_TABLES = frozenset({METADATA_TABLE, STYLES_TABLE})
WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    suffix: str  # of one file of this format
    media_type: str
    multi_layer: bool  # several layers fit in one file


FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("gpkg", "GeoPackage", ".gpkg", "application/geopackage+sqlite3", True),
        Format("shp", "Shapefile (zip)", ".zip", "application/zip", True),
        Format("geojson", "GeoJSON (RFC 7946)", ".geojson", "application/geo+json", False),
        Format("csv", "CSV", ".csv", "text/csv; charset=utf-8", False),
        Format("kml", "KML", ".kml", "application/vnd.google-earth.kml+xml", True),
        Format("gpx", "GPX", ".gpx", "application/gpx+xml", False),
        Format("fgb", "FlatGeobuf", ".fgb", "application/flatgeobuf", False),
    )
}

# What each layer holds, for GeoPackage descriptions and the layer list. Prefixes match analysis layers.
DESCRIPTIONS: dict[str, str] = {
    "buildings": "Building footprints (OpenStreetMap-derived): id, type, levels, capacity (people), name.",
    "roads": "Road centre lines: id, OSM highway class, one-way flag, name.",
    "facilities": "Critical facilities (points): normalised category, name, capacity, footprint they came from.",
    "shelters": "Evacuation shelters: capacity, whether they are safe in each scenario.",
    "field_reports": "Published community field reports (locations blurred, no personal data).",
}
PREFIX_DESCRIPTIONS: dict[str, str] = {
    "boundaries_": "Administrative or neighbourhood boundaries",
    "exposure_": "Exposure to the hazard per scenario (column scenario), hazard class and depth",
    "evacuation_": "Evacuation analysis: nearest safe shelter, walking distance and time",
    "precarity_": "Precarious-neighbourhood index and its components",
}


def describe(name: str) -> str:
    """A one-line description of a layer, by its name."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    for prefix, text in PREFIX_DESCRIPTIONS.items():
        if name.startswith(prefix):
            return f"{text}: {name[len(prefix) :].replace('_', ' ')}."
    return name.replace("_", " ").capitalize() + "."


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geoapp")
    except PackageNotFoundError:  # running from a source tree without install
        return "unknown"


# -- reading the built layers ------------------------------------------------------------------


def list_layers(path: str | Path) -> list[dict]:
    """The data layers of a GeoPackage: name, geometry type, feature count, description (metadata tables skipped)."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"no built layers at {path}; run `geoapp build AREA_DIR` first")
    descriptions = _gpkg_descriptions(path)
    out = []
    for name, geom_type in pyogrio.list_layers(path):
        if name in NON_DATA_TABLES or geom_type is None:
            continue
        info = pyogrio.read_info(path, layer=name)
        out.append(
            {
                "name": name,
                "geometry_type": geom_type,
                "features": int(info["features"]),
                "fields": list(info["fields"]),
                "crs": info["crs"],
                "description": descriptions.get(name) or describe(name),
            }
        )
    return out


def _gpkg_descriptions(path: Path) -> dict[str, str]:
    try:
        df = pyogrio.read_dataframe(path, sql="SELECT table_name, description FROM gpkg_contents", read_geometry=False)
    except Exception:  # not a GeoPackage, or an old one: fall back to our names
        return {}
    return {r.table_name: r.description for r in df.itertuples() if isinstance(r.description, str) and r.description}


def read_layers(path: str | Path, names: list[str] | None = None) -> Layers:
    """Layers of a built GeoPackage by name (all data layers when ``names`` is None)."""
    available = [layer["name"] for layer in list_layers(path)]
    names = available if names is None else names
    missing = [n for n in names if n not in available]
    if missing:
        raise NotFoundError(f"no layer {missing} in {path}; layers are {available}")
    return {n: pyogrio.read_dataframe(path, layer=n) for n in names}


# What an export of a build carries over from the build's metadata (not analysis summaries stored there).
CARRIED_METADATA = ("area", "title", "source", "licence", "scenarios", "built_at")


def export_metadata(path: str | Path) -> dict[str, str]:
    """The descriptive metadata of a built GeoPackage for files exported from it."""
    meta = read_metadata(path)
    return {k: meta[k] for k in CARRIED_METADATA if k in meta}


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``geoapp_metadata`` table of a GeoPackage we wrote, as a dict ({} when absent)."""
    try:
        df = pyogrio.read_dataframe(path, layer=METADATA_TABLE, read_geometry=False)
    except Exception:
        return {}
    return dict(zip(df["key"].astype(str), df["value"].astype(str)))


# -- cleaning values for files ------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting with ``= + - @`` (or tab/CR) get a leading ``'`` so spreadsheets show them as text (OWASP)."""
    out = df.copy()
    for col in out.columns:
        if col == getattr(out, "_geometry_column_name", None):
            continue
        s = out[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        text = s.astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(bool)
        if risky.any():
            values = s.to_numpy(dtype=object, copy=True)
            values[risky] = ["'" + v for v in values[risky]]
            out[col] = pd.Series(values, index=s.index, dtype=s.dtype)
    return out


def _promote(gdf: gpd.GeoDataFrame) -> bool:
    """Promote to multi when single and multi parts of one kind are mixed (one declared type per layer)."""
    types = set(gdf.geom_type.dropna().unique())
    return any(t in types and f"Multi{t}" in types for t in ("Point", "LineString", "Polygon"))


def _write(gdf: gpd.GeoDataFrame, path: Path, *, driver: str, layer: str | None = None, **kwargs) -> None:
    if isinstance(gdf, gpd.GeoDataFrame):
        kwargs.setdefault("promote_to_multi", _promote(gdf) or None)
        if len(gdf) == 0 or gdf.geometry.isna().all():
            kwargs.setdefault("geometry_type", "Unknown")
    pyogrio.write_dataframe(gdf, path, driver=driver, layer=layer, **kwargs)


def _for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns any driver takes: categories as text, timezone-aware datetimes kept, object columns of mixed types as text."""
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype("string").astype(object)
        elif pd.api.types.is_object_dtype(s):
            kinds = {type(v) for v in s.dropna()}
            if len(kinds) > 1 or (kinds and not kinds <= {str, bool, int, float}):
                out[col] = s.map(_as_text)
    return out


def _as_text(v) -> str | None:
    """A cell as text for files: dicts and lists as JSON, missing as None."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def _check_layers(layers: Layers) -> None:
    if not layers:
        raise InvalidInputError("no layers to export; name at least one layer")
    for name, gdf in layers.items():
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise InvalidInputError(f"layer '{name}' has no geometry column; only spatial layers can be exported")
        if gdf.crs is None and len(gdf):
            raise InvalidInputError(f"layer '{name}' has no CRS; set one before exporting")


# -- GeoPackage ---------------------------------------------------------------------------------


def metadata_rows(metadata: dict | None, layers: Layers) -> pd.DataFrame:
    """The key/value rows of the ``geoapp_metadata`` table: the caller's metadata plus date, CRS and generator."""
    meta = {str(k): "" if v is None else str(v) for k, v in (metadata or {}).items()}
    meta.setdefault("date", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    crs = {gdf.crs.to_string() for gdf in layers.values() if gdf.crs is not None}
    meta.setdefault("crs", ",".join(sorted(crs)))
    if "scenario" not in meta:  # the scenarios the layers hold, else those of the area
        scen = sorted(
            {
                str(s)
                for gdf in layers.values()
                if "scenario" in gdf.columns
                for s in gdf["scenario"].dropna().unique()
            }
        )
        meta["scenario"] = ",".join(scen) or meta.get("scenarios", "")
    meta.setdefault("source", "")
    meta.setdefault("licence", "")
    meta["generator"] = GENERATOR
    meta["generator_version"] = _version()
    meta["layers"] = ",".join(layers)
    return pd.DataFrame({"key": list(meta), "value": list(meta.values())})


def styles_table(layers: Layers) -> pd.DataFrame:
    """QGIS's ``layer_styles`` table: one default QML + SLD style per layer."""
    now = pd.Timestamp.now(tz="UTC").floor("s")
    rows = []
    for name, gdf in layers.items():
        style = layer_style(gdf, name=name)
        rows.append(
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": name,
                "f_geometry_column": "geom",
                "styleName": name,
                "styleQML": to_qml(style),
                "styleSLD": to_sld(style, layer_name=name),
                "useAsDefault": True,
                "description": f"geoapp default style for {name}",
                "owner": GENERATOR,
                "ui": None,
                "update_time": now,
            }
        )
    return pd.DataFrame(rows)


def write_geopackage(
    layers: Layers,
    path: str | Path,
    *,
    metadata: dict | None = None,
    descriptions: dict[str, str] | None = None,
    styles: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Write several layers into one GeoPackage, with descriptions, a metadata table and QGIS styles.

    Parameters
    ----------
    layers : name → GeoDataFrame (any CRS; kept as is).
    metadata : key/values for the ``geoapp_metadata`` table (source, licence, scenario...); date, CRS and
        generator version are added.
    descriptions : per-layer descriptions overriding :func:`describe`.
    styles : write the ``layer_styles`` table QGIS reads.
    """
    _check_layers(layers)
    path = Path(path)
    path.unlink(missing_ok=True)
    descriptions = descriptions or {}
    total = len(layers) + 1
    for i, (name, gdf) in enumerate(layers.items()):
        desc = descriptions.get(name) or describe(name)
        # GeoPackage 1.2: readable by every GDAL since 2.2 (QGIS LTRs, Debian's GDAL 3.6 warns on 1.4).
        _write(
            _for_file(gdf),
            path,
            driver="GPKG",
            layer=name,
            dataset_options={"VERSION": "1.2"} if i == 0 else None,
            layer_options={"IDENTIFIER": name, "DESCRIPTION": desc},
        )
        if progress:
            progress(i + 1, total, name)
    pyogrio.write_dataframe(
        metadata_rows(metadata, layers),
        path,
        driver="GPKG",
        layer=METADATA_TABLE,
        layer_options={"DESCRIPTION": "About this file: source, licence, date, scenario, CRS, generator"},
    )
    if styles:
        pyogrio.write_dataframe(styles_table(layers), path, driver="GPKG", layer=STYLES_TABLE)
    if progress:
        progress(total, total, METADATA_TABLE)
    return path


# -- Shapefile ----------------------------------------------------------------------------------

_SHP_KINDS = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}


def shapefile_field_names(columns: list[str]) -> dict[str, str]:
    """Full column name → unique name of at most 10 bytes (dBASE limit), stable and readable."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        base = col.encode("utf-8")[:10].decode("utf-8", "ignore")
        name, n = base, 1
        while name.lower() in used:
            suffix = f"_{n}"
            name = base.encode("utf-8")[: 10 - len(suffix)].decode("utf-8", "ignore") + suffix
            n += 1
        used.add(name.lower())
        out[col] = name
    return out


def _shapefile_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """dBASE has no time or boolean types: datetimes become ISO text, booleans 0/1 integers."""
    out = _for_file(gdf)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.map(lambda v: None if pd.isna(v) else v.isoformat())
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("int32")
    return out


def write_shapefile_zip(layers: Layers, path: str | Path, *, progress: Progress | None = None) -> Path:
    """A zip of Shapefiles: one per layer and geometry type, UTF-8 (``.cpg``), plus ``fields.csv`` of full names."""
    _check_layers(layers)
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="geoapp-shp-") as tmp:
        tmpdir = Path(tmp)
        mapping_rows = []
        for i, (name, gdf) in enumerate(layers.items()):
            frame = _shapefile_frame(gdf)
            cols = [c for c in frame.columns if c != frame.geometry.name]
            names = shapefile_field_names(cols)
            frame = frame.rename(columns=names)
            kinds = frame.geom_type
            parts = {k: frame[kinds.isin(t)] for k, t in _SHP_KINDS.items()}
            other = frame[~kinds.isin(sum(_SHP_KINDS.values(), ())) & kinds.notna()]
            if len(other):
                warnings.warn(
                    f"layer '{name}': {len(other)} geometry collections cannot go in a Shapefile and were left out",
                    stacklevel=2,
                )
            parts = {k: p for k, p in parts.items() if len(p)}
            if not parts:  # empty layer: still write a file so the layer is not silently missing
                parts = {"polygon" if "Polygon" in str(gdf.geom_type) else "point": frame.iloc[0:0]}
            for kind, part in parts.items():
                stem = name if len(parts) == 1 else f"{name}_{kind}s"
                kwargs = (
                    {
                        "geometry_type": {"point": "MultiPoint", "line": "MultiLineString", "polygon": "MultiPolygon"}[
                            kind
                        ]
                    }
                    if len(part) == 0
                    else {}
                )
                long_text = [
                    c
                    for c in part.columns
                    if c != part.geometry.name
                    and pd.api.types.is_object_dtype(part[c])
                    and part[c].dropna().map(lambda v: len(str(v).encode("utf-8"))).gt(254).any()
                ]
                if long_text:
                    warnings.warn(
                        f"layer '{name}': text longer than 254 bytes in {long_text} is cut in the Shapefile; "
                        "use GeoPackage for full text",
                        stacklevel=2,
                    )
                _write(part, tmpdir / f"{stem}.shp", driver="ESRI Shapefile", encoding="UTF-8", **kwargs)
                for full, short in names.items():
                    mapping_rows.append(
                        {"file": f"{stem}.shp", "layer": name, "shapefile_field": short, "full_name": full}
                    )
            if progress:
                progress(i + 1, len(layers), name)
        pyogrio.write_dataframe(
            pd.DataFrame(mapping_rows, columns=["file", "layer", "shapefile_field", "full_name"]),
            tmpdir / "fields.csv",
            driver="CSV",
        )
        _zip_dir(tmpdir, path)
    return path


def _zip_dir(folder: Path, path: Path) -> None:
    path.unlink(missing_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())


# -- single-layer formats -------------------------------------------------------------------------


def _to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(WGS84) if gdf.crs is not None and not gdf.crs.equals(WGS84) else gdf


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path, *, precision: int = 7) -> Path:
    """GeoJSON per RFC 7946: lon/lat WGS 84, counter-clockwise outer rings, at most ``precision`` decimals."""
    path = Path(path)
    path.unlink(missing_ok=True)
    _write(
        _for_file(_to_wgs84(gdf)),
        path,
        driver="GeoJSON",
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": str(precision), "WRITE_NAME": "NO"},
    )
    return path


def write_csv(gdf: gpd.GeoDataFrame, path: str | Path, *, geometry: str = "wkt") -> Path:
    """CSV in WGS 84 with formulas neutralised; ``geometry`` "wkt" (a WKT column) or "lonlat" (lon, lat columns).

    With "lonlat", lines and polygons are placed at a point inside them.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    frame = neutralise_formulas(_for_file(_to_wgs84(gdf)))
    if geometry == "wkt":
        _write(frame, path, driver="CSV", layer_options={"GEOMETRY": "AS_WKT", "CREATE_CSVT": "YES"})
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


def write_flatgeobuf(gdf: gpd.GeoDataFrame, path: str | Path) -> Path:
    """FlatGeobuf with a spatial index (fast to stream and to read by bbox, good for big layers)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    frame = _for_file(gdf)
    if len(frame) and not _promote(frame) and frame.geom_type.nunique() > 1:
        warnings.warn("FlatGeobuf layer has mixed geometry types; written as 'Unknown'", stacklevel=2)
    _write(frame, path, driver="FlatGeobuf", layer_options={"SPATIAL_INDEX": "YES"})
    return path


def write_kml(layers: Layers, path: str | Path, *, progress: Progress | None = None) -> Path:
    """KML (GDAL's LIBKML driver): one folder per layer, every feature styled by its class or category."""
    _check_layers(layers)
    path = Path(path)
    path.unlink(missing_ok=True)
    for i, (name, gdf) in enumerate(layers.items()):
        frame = _for_file(_to_wgs84(gdf))
        frame["OGR_STYLE"] = ogr_style_strings(frame, layer_style(gdf, name=name))
        if "name" not in frame.columns:
            frame.insert(0, "name", frame.iloc[:, 0].astype("string").astype(object) if frame.shape[1] > 2 else name)
        _write(frame, path, driver="LIBKML", layer=name)
        if progress:
            progress(i + 1, len(layers), name)
    return path


def write_gpx(gdf: gpd.GeoDataFrame, path: str | Path) -> Path:
    """GPX for handheld GPS: points as waypoints, lines as routes (polygons as a waypoint inside each).

    Attributes other than GPX's own (name, desc, ...) travel as ``<extensions>``; GDAL reads them back as
    ``ogr_<field>``.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    frame = _for_file(_to_wgs84(gdf))
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
                lambda g: g if g is None or g.geom_type != "LineString" else __import__("shapely").MultiLineString([g])
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
    _write(
        frame,
        path,
        driver="GPX",
        geometry_type=geom_type,
        dataset_options={"GPX_USE_EXTENSIONS": "YES"},
        layer_options={"FORCE_GPX_ROUTE": "YES"} if geom_type == "LineString" else None,
    )
    return path


_SINGLE_WRITERS: dict[str, Callable[..., Path]] = {
    "geojson": write_geojson,
    "csv": write_csv,
    "fgb": write_flatgeobuf,
    "gpx": write_gpx,
}


def export_layers(
    layers: Layers,
    path: str | Path,
    *,
    format: str = "gpkg",
    metadata: dict | None = None,
    csv_geometry: str = "wkt",
    progress: Progress | None = None,
) -> Path:
    """Write ``layers`` in ``format`` (a key of :data:`FORMATS`) to ``path``.

    One-layer-per-file formats (GeoJSON, CSV, GPX, FlatGeobuf) write the file itself for one layer and a zip
    of one file per layer for several; ``path`` should then end in ``.zip``. Returns the path written.
    """
    if format not in FORMATS:
        raise InvalidInputError(f"format '{format}' is not one of {', '.join(FORMATS)}")
    _check_layers(layers)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "gpkg":
        return write_geopackage(layers, path, metadata=metadata, progress=progress)
    if format == "shp":
        return write_shapefile_zip(layers, path, progress=progress)
    if format == "kml":
        return write_kml(layers, path, progress=progress)
    writer = _SINGLE_WRITERS[format]
    kwargs = {"geometry": csv_geometry} if format == "csv" else {}
    if len(layers) == 1:
        ((name, gdf),) = layers.items()
        out = writer(gdf, path, **kwargs)
        if progress:
            progress(1, 1, name)
        return out
    if path.suffix.lower() != ".zip":
        raise InvalidInputError(
            f"{FORMATS[format].label} holds one layer per file: {len(layers)} layers make a zip, "
            f"so name the output '{path.stem}.zip' (or export one layer)"
        )
    with tempfile.TemporaryDirectory(prefix=f"geoapp-{format}-") as tmp:
        for i, (name, gdf) in enumerate(layers.items()):
            writer(gdf, Path(tmp) / f"{name}{FORMATS[format].suffix}", **kwargs)
            if progress:
                progress(i + 1, len(layers), name)
        _zip_dir(Path(tmp), path)
    return path


def export_filename(names: list[str], format: str, *, base: str = "layers") -> str:
    """The file name a download of ``names`` in ``format`` gets."""
    fmt = FORMATS[format]
    stem = names[0] if len(names) == 1 else base
    suffix = fmt.suffix if (fmt.multi_layer or len(names) == 1) else ".zip"
    return f"{stem}{suffix}"
