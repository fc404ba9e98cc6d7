"""Which features of a layer can be used: a geometry, finite coordinates that are places, a type that fits.

A NaN, infinite or wild (1e300) vertex makes GEOS raise and the UTM zone lookup fail: such
features are dropped with a warning naming the file, and a layer left without any geometry is
an error. A layer that lies wholly away from the
others is a warning naming it (:func:`warn_outside`): its figures would all be empty.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely

from layers.errors import EmptyLayerError, WrongFileTypeError
from layers.io.crs import coordinate_limits
from layers.io.sources import FITS

NOUNS = {"Polygon": "polygons", "LineString": "lines", "Point": "points"}
SINGULAR = {"roads": "road", "buildings": "building", "facilities": "facility", "shelters": "shelter"}


def usable_features(gdf: gpd.GeoDataFrame, what: str, source: str) -> gpd.GeoDataFrame:
    """``gdf`` without features that have a coordinate that is NaN, infinite or beyond any place in its
    CRS (GEOS and the UTM zone lookup fail on them); warns how many. A layer where no feature is left
    with a geometry is an EmptyLayerError; a few features without geometry are left to the loaders,
    which say what they lose with them (e.g. the people of a census polygon)."""
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    with np.errstate(invalid="ignore"):
        wild = ~(np.abs(coords) <= coordinate_limits(gdf.crs)).all(axis=1)  # NaN compares False: wild too
    bad = np.zeros(len(gdf), dtype=bool)
    bad[owner[wild]] = True
    if (missing | bad).all():
        why = f"{int(missing.sum())} without a geometry, {int(bad.sum())} with coordinates that are not places"
        raise EmptyLayerError(f"{what} file {source}: none of its {len(gdf)} features has a usable geometry ({why})")
    if bad.any():
        warnings.warn(
            f"{what} file {source}: skipped {int(bad.sum())} features with coordinates that are NaN, "
            "infinite or beyond any place in its CRS",
            stacklevel=3,
        )
    return gdf[~bad]


def fitting_features(gdf: gpd.GeoDataFrame, what: str, source: str) -> gpd.GeoDataFrame:
    """Only the features whose geometry type fits ``what`` (:data:`~layers.io.sources.FITS`); none is an error."""
    groups = FITS.get(what)
    if not groups:
        return gdf
    allowed = [kind for group in groups for kind in group]
    kinds = gdf.geom_type
    fits = (kinds.isin(allowed) | kinds.isna()).to_numpy()  # no geometry: the loaders' business
    if fits.all():
        return gdf
    found = ", ".join(sorted(set(kinds[~fits].astype(str))))
    expected = f"{SINGULAR.get(what, what)} " + " or ".join(NOUNS[g[0]] for g in groups)
    if not kinds[fits].notna().any():
        raise WrongFileTypeError(f"{what} file {source}: expected {expected}, found {found} features")
    warnings.warn(
        f"{what} file {source}: skipped {int((~fits).sum())} {found} features (expected {expected})", stacklevel=3
    )
    return gdf[fits]


def warn_outside(
    layer: gpd.GeoDataFrame | gpd.GeoSeries | None, reference: gpd.GeoDataFrame, *, what: str, of: str = "buildings"
) -> bool:
    """Warn (and return True) when ``layer``'s extent does not meet the extent of ``reference`` (the ``of`` layer)."""
    if layer is None or len(layer) == 0 or len(reference) == 0 or layer.crs is None or reference.crs is None:
        return False
    ref = shapely.box(*reference.total_bounds)
    extent = gpd.GeoSeries([shapely.box(*layer.total_bounds)], crs=layer.crs).to_crs(reference.crs)
    box = shapely.box(*extent.total_bounds)
    if ref.intersects(box):
        return False
    warnings.warn(
        f"the {what} layer lies wholly outside the {of} (no overlap): it adds nothing here; "
        "check that both files cover the same place and carry the right CRS",
        UserWarning,
        stacklevel=2,
    )
    return True
