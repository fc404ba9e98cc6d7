"""Frames ready for GIS files, written through GDAL (pyogrio): value cleaning shared by every export format."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from layers.errors import InvalidInputError

Layers = dict[str, gpd.GeoDataFrame]
Progress = Callable[[int, int, str], None]  # (done, total, layer name)

WGS84 = "EPSG:4326"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting with ``= + - @`` (or tab/CR) get a leading ``'``: spreadsheets show them as text (OWASP)."""
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


def promote(gdf: gpd.GeoDataFrame) -> bool:
    """Promote to multi when single and multi parts of one kind are mixed (one declared type per layer)."""
    types = set(gdf.geom_type.dropna().unique())
    return any(t in types and f"Multi{t}" in types for t in ("Point", "LineString", "Polygon"))


def write_frame(gdf: gpd.GeoDataFrame, path: Path, *, driver: str, layer: str | None = None, **kwargs) -> None:
    """One layer through GDAL; mixed single/multi parts promoted, empty layers declared 'Unknown'."""
    if isinstance(gdf, gpd.GeoDataFrame):
        kwargs.setdefault("promote_to_multi", promote(gdf) or None)
        if len(gdf) == 0 or gdf.geometry.isna().all():
            kwargs.setdefault("geometry_type", "Unknown")
    pyogrio.write_dataframe(gdf, path, driver=driver, layer=layer, **kwargs)


def for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns any driver takes: categories as text, timezone-aware datetimes kept, mixed object columns as text."""
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


def check_layers(layers: Layers) -> None:
    """At least one layer, each a GeoDataFrame with a CRS (unless empty)."""
    if not layers:
        raise InvalidInputError("no layers to export; name at least one layer")
    for name, gdf in layers.items():
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise InvalidInputError(f"layer '{name}' has no geometry column; only spatial layers can be exported")
        if gdf.crs is None and len(gdf):
            raise InvalidInputError(f"layer '{name}' has no CRS; set one before exporting")


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(WGS84) if gdf.crs is not None and not gdf.crs.equals(WGS84) else gdf


def zip_folder(folder: Path, path: Path) -> None:
    """Every file under ``folder`` into the zip ``path`` (replaced), named relative to the folder, sorted."""
    path.unlink(missing_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
