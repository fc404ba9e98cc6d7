"""Which layer of which file: ``PATH`` or ``PATH:LAYER``, and choosing the layer of a multi-layer file.

Every vector file the loaders read may be given as ``PATH:LAYER``. The suffix
is split off only when ``PATH`` exists as a file and ``PATH:LAYER`` does not,
so Windows paths (``C:\\data\\x.gpkg``), GDAL virtual paths
(``/vsizip/a.zip/x.shp``) and file names holding a colon are read as written.

Without a layer, a file with one data layer is read as it is. Of several, the
loader takes the layer named after what it reads (``buildings`` in a
GeoPackage written by ``geoapp build``), else the one layer whose geometry
fits (polygons for buildings, lines for roads, points then polygons for
facilities, polygons for boundaries) and warns which it chose; otherwise it
raises :class:`~layers.errors.AmbiguousLayerError` listing the layers.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pyogrio

from layers.errors import AmbiguousLayerError

POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point", "MultiPoint")
# Geometry types that fit each input, in order of preference (one group after another).
FITS: dict[str, tuple[tuple[str, ...], ...]] = {
    "buildings": (POLYGON, POINT),
    "roads": (LINE,),
    "facilities": (POINT, POLYGON),
    "shelters": (POINT, POLYGON),
    "boundaries": (POLYGON,),
    "population": (POLYGON,),  # census areas with a count field
    "hazard": (POLYGON,),  # vector hazard zones
    "field reports": (POINT, POLYGON),
}


def is_virtual(path: str | Path) -> bool:
    """A GDAL virtual path (``/vsizip/``, ``/vsicurl/``...): it does not exist as a local file."""
    return str(path).replace("\\", "/").startswith("/vsi")


def split_layer(path: str | Path) -> tuple[Path, str | None]:
    """``PATH:LAYER`` -> ``(PATH, LAYER)``; anything else -> ``(path, None)``."""
    text = str(path)
    if ":" not in text or Path(text).exists() or is_virtual(text):
        return Path(text), None
    head, _, name = text.rpartition(":")
    if name and not any(c in name for c in "/\\") and Path(head).is_file():
        return Path(head), name
    return Path(text), None


def _base_type(geometry_type: str) -> str:
    """``"3D Polygon"``, ``"Polygon Z"`` -> ``"Polygon"``."""
    text = geometry_type.replace("3D ", "")
    for suffix in (" ZM", " Z", " M"):
        text = text.removesuffix(suffix)
    return text


def data_layers(path: str | Path) -> list[tuple[str, str]]:
    """``(name, geometry type)`` of every layer with geometry (attribute-only tables left out)."""
    return [(str(name), _base_type(str(kind))) for name, kind in pyogrio.list_layers(path) if kind is not None]


def choose_layer(path: str | Path, *, what: str) -> str | None:
    """The layer to read from ``path`` for ``what`` (a key of :data:`FITS`), None to read the only one.

    Warns when it picks one of several; raises AmbiguousLayerError when it cannot.
    """
    try:
        listed = pyogrio.list_layers(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return None  # the read reports what is wrong with the file
    if len(listed) <= 1:
        return None
    layers = data_layers(path)
    if len(layers) == 1:
        return layers[0][0]
    groups = FITS.get(what, ())
    chosen = what if any(name == what and any(kind in g for g in groups) for name, kind in layers) else None
    for group in groups if chosen is None else ():
        matches = [name for name, kind in layers if kind in group]
        if matches:
            chosen = matches[0] if len(matches) == 1 else None
            break
    if chosen is None:
        raise AmbiguousLayerError(
            f"{what} file {path} has {len(layers)} layers ({_listing(layers)}) and no single one of {what}; "
            f"name one as {Path(path).name}:LAYER",
            layers=layers,
        )
    kind = dict(layers)[chosen]
    warnings.warn(
        f"{what}: {path} has {len(layers)} layers; reading '{chosen}' ({kind}); "
        f"name another as {Path(path).name}:LAYER",
        UserWarning,
        stacklevel=3,
    )
    return chosen


def _listing(layers: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in layers)
