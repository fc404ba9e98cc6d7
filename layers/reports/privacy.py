"""Contributors' privacy: blurred locations and public fields of field reports.

A report's point is snapped to the centre of a square grid cell of ``blur_m``
metres in a fixed metric CRS (the area's working CRS). Snapping is
deterministic: the same point always blurs to the same cell centre, so asking
again (or asking with a different bounding box) never averages out to the
exact location, as random jitter would. Household-level categories (needs,
damaged houses) default to a ~100 m grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

# Fallback metric CRS when no area CRS is known (cell sizes shrink with cos(latitude)).
FALLBACK_CRS = CRS.from_epsg(3857)

# Fields nobody but moderators and admins may see.
PERSONAL_FIELDS = ("reporter_name", "reporter_contact", "created_by", "accuracy_m", "altitude_m")
# Fields an anonymous caller may see (attributes are filtered per category separately).
PUBLIC_FIELDS = ("id", "category", "description", "severity", "observed_at", "status", "source", "has_photo")


def snap_to_grid(x: np.ndarray, y: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre of the ``cell``-sized grid square holding each point; points with ``cell <= 0`` are unchanged.

    ``x' = (floor(x / cell) + 0.5) * cell``, the same for ``y``.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    cell = np.broadcast_to(np.asarray(cell, dtype="float64"), x.shape)
    blur = cell > 0
    safe = np.where(blur, cell, 1.0)
    xs = np.where(blur, (np.floor(x / safe) + 0.5) * safe, x)
    ys = np.where(blur, (np.floor(y / safe) + 0.5) * safe, y)
    return xs, ys


def blur_lonlat(lon, lat, cell_m, *, crs: CRS | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Blur lon/lat points (EPSG:4326) to a ``cell_m`` metre grid in the metric ``crs``.

    Parameters
    ----------
    lon, lat : array-like of float
        Exact coordinates in degrees.
    cell_m : float or array-like of float
        Grid size per point in metres; 0 leaves the point exact.
    crs : CRS, optional
        The metric CRS the grid is laid in (the area's working CRS). Defaults
        to Web Mercator.

    Returns
    -------
    (lon, lat) of the cell centres, float64 arrays.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    cell = np.broadcast_to(np.asarray(cell_m, dtype="float64"), lon.shape)
    out_lon, out_lat = lon.copy(), lat.copy()
    todo = (cell > 0) & np.isfinite(lon) & np.isfinite(lat)
    if not todo.any():
        return out_lon, out_lat
    crs = CRS.from_user_input(crs) if crs is not None else FALLBACK_CRS
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x, y = fwd.transform(lon[todo], lat[todo])
    xs, ys = snap_to_grid(x, y, cell[todo])
    out_lon[todo], out_lat[todo] = back.transform(xs, ys)
    return out_lon, out_lat


def public_attributes(attributes: pd.Series, allowed: pd.Series) -> pd.Series:
    """Keep only the attribute keys listed for each row's category (free-form attributes may hold names, phones)."""
    return pd.Series(
        [
            {k: v for k, v in (a or {}).items() if k in keep}
            for a, keep in zip(attributes.tolist(), allowed.tolist(), strict=True)
        ],
        index=attributes.index,
        dtype=object,
    )


def apply_privacy(
    frame: pd.DataFrame, *, config, crs=None, exact: bool = False, personal: bool = False
) -> pd.DataFrame:
    """What a viewer may see of stored reports.

    Parameters
    ----------
    frame : DataFrame
        Stored reports: ``id, category, lon, lat, geometry_wkt, attributes, ...``.
    config : layers.reports.config.ReportConfig
        Per-category ``blur_m`` and ``public_attributes``.
    crs : CRS, optional
        The area's metric working CRS, in which the blur grid is laid.
    exact : bool
        Keep exact points (planners, moderators); otherwise snap them to the
        category's grid. Polygons (community boundaries) are never blurred.
    personal : bool
        Keep personal and moderation fields (moderators, admins); otherwise
        drop them and keep only each category's public attributes.

    Returns
    -------
    A new DataFrame with ``location_precision_m`` (the grid size applied, 0 = exact).
    """
    out = frame.copy()
    n = len(out)
    is_point = out["geometry_wkt"].isna().to_numpy() if "geometry_wkt" in out else np.ones(n, dtype=bool)
    if exact:
        precision = np.zeros(n)
    else:
        cell = out["category"].map(config.blur_m).astype("float64").to_numpy() if n else np.zeros(0)
        precision = np.where(is_point, cell, 0.0)
        out["lon"], out["lat"] = blur_lonlat(out["lon"].to_numpy(), out["lat"].to_numpy(), precision, crs=crs)
    out["location_precision_m"] = precision
    if not personal:
        out = out.drop(
            columns=[c for c in (*PERSONAL_FIELDS, "original", "outside_area", "created_at", "updated_at") if c in out]
        )
        if "attributes" in out and n:
            allowed = out["category"].map(
                lambda c: set(config.categories[c].public_attributes) if c in config.categories else set()
            )
            out["attributes"] = public_attributes(out["attributes"], allowed)
    return out
