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


# -- reports against every scenario: what planners should look at ------------------------------------
WET_MODEL_DRY = "reported wet, model dry"
DRY_MODEL_DEEP = "reported dry, model deep"


def observed_state(reports: gpd.GeoDataFrame) -> pd.Series:
    """``wet``, ``dry`` or None per report: a ``flooding_observed`` report is wet, unless its observed depth
    (``depth_m`` attribute, or an ``observed_depth_m`` column) is 0, which is a volunteer saying "no water here"."""
    cat = (
        reports["category"].astype("string") if "category" in reports.columns else pd.Series(pd.NA, index=reports.index)
    )
    depth = _observed_depth(reports)
    flood = cat.eq("flooding_observed").fillna(False).to_numpy()
    state = pd.Series(np.where(depth == 0, "dry", "wet"), index=reports.index, dtype=object)
    return state.where(flood, None)


def _observed_depth(reports: gpd.GeoDataFrame) -> np.ndarray:
    if "observed_depth_m" in reports.columns:
        return pd.to_numeric(reports["observed_depth_m"], errors="coerce").to_numpy(np.float64)
    if "attributes" not in reports.columns:
        return np.full(len(reports), np.nan)
    import json

    out = []
    for a in reports["attributes"].tolist():
        if isinstance(a, str):
            try:
                a = json.loads(a)
            except ValueError:
                a = None
        value = a.get("depth_m") if isinstance(a, dict) else None
        out.append(value)
    return pd.to_numeric(pd.Series(out, dtype=object), errors="coerce").to_numpy(np.float64)


def observation_mismatches(reports: gpd.GeoDataFrame | None, hazards, *, deep_m: float) -> gpd.GeoDataFrame:
    """Published flood observations the scenarios disagree with, one row per report and scenario.

    ``hazards`` are :class:`~layers.settings.HazardSpec` (each scenario of the area). A wet report where the
    scenario has no class is ``reported wet, model dry``; a dry report (observed depth 0) where the raster is at
    least ``deep_m`` deep (vector zones: in any class) is ``reported dry, model deep``. Columns: ``report_id,
    scenario, observed, observed_depth_m, model_value, model_class, mismatch, observed_at``.
    """
    columns = ["report_id", "scenario", "observed", "observed_depth_m", "model_value", "model_class", "mismatch"]
    crs = reports.crs if reports is not None else None
    state = observed_state(reports) if reports is not None and len(reports) else None
    if reports is None or state is None or not state.notna().any():
        empty = {c: pd.Series(dtype="float64" if c.endswith(("_m", "_value")) else "string") for c in columns}
        return gpd.GeoDataFrame({**empty, "observed_at": pd.Series(dtype="string")}, geometry=[], crs=crs)
    if "status" in reports.columns:
        state = state.where(reports["status"].astype("string").eq("published").fillna(False).to_numpy(), None)
    pts = reports[state.notna().to_numpy()].copy()
    pts["observed"] = state[state.notna()].to_numpy()
    pts["observed_depth_m"] = _observed_depth(pts)
    pts["geometry"] = pts.geometry.representative_point()
    parts = []
    for h in hazards:
        cmp = compare_with_hazard(pts, h.path, classes=h.classes, field=h.field, layer=h.layer)
        value = pd.to_numeric(cmp["model_value"], errors="coerce").to_numpy(np.float64)
        in_class = cmp["model_class"].notna().to_numpy()
        deep = in_class if h.field else (value >= deep_m) & in_class
        wet = cmp["observed"].eq("wet").to_numpy()
        mismatch = pd.Series(None, index=cmp.index, dtype=object)
        mismatch[wet & ~in_class] = WET_MODEL_DRY
        mismatch[~wet & deep] = DRY_MODEL_DEEP
        cmp["mismatch"] = mismatch
        cmp["scenario"] = h.id
        parts.append(cmp[pd.notna(mismatch)])
    out = pd.concat(parts, ignore_index=True)
    keep = {
        "report_id": out["id"].astype("string") if "id" in out.columns else pd.Series(pd.NA, index=out.index),
        "scenario": out["scenario"].astype("string"),
        "observed": out["observed"].astype("string"),
        "observed_depth_m": out["observed_depth_m"].astype("float64"),
        "model_value": pd.to_numeric(out["model_value"], errors="coerce").astype("float64"),
        "model_class": out["model_class"].astype("string"),
        "mismatch": out["mismatch"].astype("string"),
        "observed_at": out["observed_at"].astype("string") if "observed_at" in out.columns else pd.NA,
    }
    return gpd.GeoDataFrame(keep, geometry=out.geometry.to_numpy(), crs=crs)
