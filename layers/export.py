"""Writing layers to GIS files through GDAL (pyogrio)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio


def write_geopackage(layers: dict[str, gpd.GeoDataFrame], path: str | Path, *, metadata: dict | None = None) -> Path:
    """Write several layers into one GeoPackage."""
    path = Path(path)
    for name, gdf in layers.items():
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG")
    return path
