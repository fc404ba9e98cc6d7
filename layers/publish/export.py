"""Writing layers to GIS files, every format through GDAL (pyogrio): the format table and the one entry point.

GeoPackage is the default and keeps everything (:mod:`.geopackage`): several
layers, a description per layer, a ``geoapp_metadata`` table and QGIS
``layer_styles``. Other formats: zipped Shapefile (:mod:`.shapefile`),
GeoJSON per RFC 7946, CSV (WKT or lon/lat) with spreadsheet formulas
neutralised, KML styled by class, GPX and FlatGeobuf (:mod:`.formats`).
Formats that hold one layer per file come as a zip when several layers are
asked for.

The reading and writing helpers other modules use are re-exported here, so
``layers.publish.export`` stays the one import for GIS files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from layers.errors import InvalidInputError
from layers.publish.files import Layers, Progress, check_layers, neutralise_formulas, zip_folder
from layers.publish.formats import write_csv, write_flatgeobuf, write_geojson, write_gpx, write_kml
from layers.publish.geopackage import (
    describe,
    export_metadata,
    list_layers,
    read_layers,
    read_metadata,
    write_geopackage,
)
from layers.publish.shapefile import write_shapefile_zip

__all__ = [
    "FORMATS",
    "Format",
    "Layers",
    "describe",
    "export_filename",
    "export_layers",
    "export_metadata",
    "list_layers",
    "neutralise_formulas",
    "read_layers",
    "read_metadata",
    "write_geopackage",
]


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    suffix: str  # of one file of this format
    media_type: str
    multi_layer: bool  # several layers fit in one file
    sidecars: bool = False  # one layer is several files (CSV + .csvt + .prj): downloads come zipped


FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("gpkg", "GeoPackage", ".gpkg", "application/geopackage+sqlite3", True),
        Format("shp", "Shapefile (zip)", ".zip", "application/zip", True),
        Format("geojson", "GeoJSON (RFC 7946)", ".geojson", "application/geo+json", False),
        Format("csv", "CSV (zip with .csvt and .prj)", ".csv", "text/csv; charset=utf-8", False, sidecars=True),
        Format("kml", "KML", ".kml", "application/vnd.google-earth.kml+xml", True),
        Format("gpx", "GPX", ".gpx", "application/gpx+xml", False),
        Format("fgb", "FlatGeobuf", ".fgb", "application/flatgeobuf", False),
    )
}

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
    of one file per layer for several; ``path`` should then end in ``.zip``. CSV to a ``.zip`` path is zipped
    even for one layer, with its ``.csvt`` and ``.prj`` (how downloads send it). The layer name inside
    GeoJSON and FlatGeobuf files is the layer's. Returns the path written.
    """
    if format not in FORMATS:
        raise InvalidInputError(f"format '{format}' is not one of {', '.join(FORMATS)}")
    check_layers(layers)
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
    if len(layers) == 1 and not (FORMATS[format].sidecars and path.suffix.lower() == ".zip"):
        ((name, gdf),) = layers.items()
        out = writer(gdf, path, **kwargs, **_layer_name(format, name))
        if progress:
            progress(1, 1, name)
        return out
    return _zip_per_layer(
        layers, path, format, lambda gdf, p, name: writer(gdf, p, **kwargs, **_layer_name(format, name)), progress
    )


def _layer_name(format: str, name: str) -> dict:
    """The layer name for writers that store one (else a temporary file's name would end up inside the file)."""
    return {"layer": name} if format in ("geojson", "fgb") else {}


def _zip_per_layer(layers: Layers, path: Path, format: str, write: Callable, progress: Progress | None) -> Path:
    """One file per layer, zipped: how one-layer formats carry several layers."""
    if path.suffix.lower() != ".zip":
        raise InvalidInputError(
            f"{FORMATS[format].label} holds one layer per file: {len(layers)} layers make a zip, "
            f"so name the output '{path.stem}.zip' (or export one layer)"
        )
    with tempfile.TemporaryDirectory(prefix=f"geoapp-{format}-") as tmp:
        for i, (name, gdf) in enumerate(layers.items()):
            write(gdf, Path(tmp) / f"{name}{FORMATS[format].suffix}", name)
            if progress:
                progress(i + 1, len(layers), name)
        zip_folder(Path(tmp), path)
    return path


def export_filename(names: list[str], format: str, *, base: str = "layers") -> str:
    """The file name a download of ``names`` in ``format`` gets."""
    fmt = FORMATS[format]
    stem = names[0] if len(names) == 1 else base
    suffix = fmt.suffix if (fmt.multi_layer or len(names) == 1) and not fmt.sidecars else ".zip"
    return f"{stem}{suffix}"
