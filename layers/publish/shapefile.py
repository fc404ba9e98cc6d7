"""Zipped Shapefiles: one per layer and geometry type, UTF-8, with ``fields.csv`` mapping short names to full ones."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.publish.files import Layers, Progress, check_layers, for_file, write_frame, zip_folder

_SHP_KINDS = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}
_MULTI = {"point": "MultiPoint", "line": "MultiLineString", "polygon": "MultiPolygon"}


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
    out = for_file(gdf)
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
    check_layers(layers)
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="geoapp-shp-") as tmp:
        tmpdir = Path(tmp)
        mapping_rows = []
        for i, (name, gdf) in enumerate(layers.items()):
            mapping_rows += _write_layer(name, gdf, tmpdir)
            if progress:
                progress(i + 1, len(layers), name)
        pyogrio.write_dataframe(
            pd.DataFrame(mapping_rows, columns=["file", "layer", "shapefile_field", "full_name"]),
            tmpdir / "fields.csv",
            driver="CSV",
        )
        zip_folder(tmpdir, path)
    return path


def _write_layer(name: str, gdf: gpd.GeoDataFrame, folder: Path) -> list[dict]:
    """The Shapefiles of one layer (one per geometry kind) in ``folder``; returns its ``fields.csv`` rows."""
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
            stacklevel=3,
        )
    parts = {k: p for k, p in parts.items() if len(p)}
    if not parts:  # empty layer: still write a file so the layer is not silently missing
        parts = {"polygon" if "Polygon" in str(gdf.geom_type) else "point": frame.iloc[0:0]}
    rows = []
    for kind, part in parts.items():
        stem = name if len(parts) == 1 else f"{name}_{kind}s"
        kwargs = {"geometry_type": _MULTI[kind]} if len(part) == 0 else {}
        _warn_long_text(name, part)
        write_frame(part, folder / f"{stem}.shp", driver="ESRI Shapefile", encoding="UTF-8", **kwargs)
        rows += [
            {"file": f"{stem}.shp", "layer": name, "shapefile_field": short, "full_name": full}
            for full, short in names.items()
        ]
    return rows


def _warn_long_text(name: str, part: gpd.GeoDataFrame) -> None:
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
            stacklevel=4,
        )
