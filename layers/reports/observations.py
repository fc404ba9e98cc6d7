"""Field observations against the hazard model: where volunteers saw water and the model says dry.

A ``flooding_observed`` report is *wet*; when the hazard scenario puts its
location in no class (below the first threshold, or outside every flood zone)
it is flagged ``wet_report_dry_model`` for planners: the model may miss a
drain, a low street or a recent change.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import rowcol

from layers.hazard.classes import ClassScheme, class_names


def sample_raster(points: gpd.GeoSeries, path, *, band: int = 1) -> np.ndarray:
    """Cell value under each point (float64; NaN outside the grid or on nodata), points in any CRS."""
    with rasterio.open(path) as src:
        pts = points.to_crs(src.crs) if points.crs is not None and src.crs is not None else points
        out = np.full(len(pts), np.nan)
        if not len(pts):
            return out
        rows, cols = rowcol(src.transform, pts.x.to_numpy(), pts.y.to_numpy())
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        if inside.any():
            r0, r1 = rows[inside].min(), rows[inside].max() + 1
            c0, c1 = cols[inside].min(), cols[inside].max() + 1
            window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
            data = src.read(band, window=window, masked=True).astype("float64").filled(np.nan)
            out[inside] = data[rows[inside] - r0, cols[inside] - c0]
        return out


def compare_with_hazard(
    reports: gpd.GeoDataFrame,
    hazard_path,
    *,
    classes: ClassScheme,
    field: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Add ``model_value``, ``model_class`` (name or None) and ``wet_report_dry_model`` to point reports.

    Parameters
    ----------
    reports : GeoDataFrame
        ``flooding_observed`` points, any CRS; an ``observed_depth_m`` column is
        kept when present.
    hazard_path : path
        A depth raster, or a vector layer of zones with ``field`` (vector hazards).
    classes : ClassScheme
        The scenario's classes.
    """
    out = reports.copy()
    if field is None:
        values = sample_raster(out.geometry, hazard_path)
    else:
        zones = gpd.read_file(hazard_path, layer=layer)[[field, "geometry"]]
        pts = out.geometry.to_crs(zones.crs) if out.crs is not None else out.geometry
        joined = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), zones, how="left", predicate="within")
        # A point in overlapping zones takes the most severe class.
        cls = classes.classify(joined[field].to_numpy(dtype=object))
        values = pd.Series(cls, index=joined.index).groupby(level=0).max().reindex(out.index).to_numpy()
        out["model_value"] = joined[field].groupby(level=0).first().reindex(out.index).to_numpy()
        idx = np.asarray(values, dtype=np.int8)
    if field is None:
        out["model_value"] = values
        idx = classes.classify(values)
    names = np.asarray(class_names(idx, classes.names), dtype=object)
    out["model_class"] = pd.Series(names, index=out.index, dtype=object).where(idx >= 0, None)  # None, not NA: JSON
    out["wet_report_dry_model"] = idx < 0
    return out
