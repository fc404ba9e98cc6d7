"""Pages of a built layer as GeoJSON Feature texts, from a per-file-version cache of the whole layer.

Serving a 10,000-feature page used to re-read the GeoPackage, reproject, round and
encode every feature on every request (~0.7 s idle, ~3 s on a loaded 2-core host).
A layer is now encoded once per file version and output CRS by
:func:`layers.publish.features.features_geojson_texts` (the same per-feature text a
page would get, since reprojection, rounding and the vertex cap are per feature) and
a page is a slice of the cached texts: the conditions of a request only choose fids
(:func:`layers.publish.features.select_fids`).

Only built layers are cached, never field reports (they depend on who asks). The key
holds the file's ``(inode, mtime_ns, size)``, so a rebuilt file (swapped in with a
rename) is re-encoded; old versions fall out of the least-recently-used cache, which
keeps at most :data:`CACHE_BYTES` of text per process.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyproj import CRS

from layers.publish import features

CACHE_BYTES = 512 * 2**20  # encoded layers kept per process (the Jakarta build in CRS84 is ~120 MB)


@dataclass(frozen=True)
class LayerTexts:
    """Every feature of a layer as GeoJSON text, in the layer's own order."""

    fids: np.ndarray  # int64, the layer's order
    texts: np.ndarray  # object array of str, texts[i] is the feature fids[i]
    order: np.ndarray  # argsort of fids: positions of the fids in ascending order
    nbytes: int


_cache: OrderedDict[tuple, LayerTexts] = OrderedDict()
_lock = threading.Lock()
_building: dict[tuple, threading.Lock] = {}


def _key(path: str | Path, layer: str, crs: CRS) -> tuple:
    st = os.stat(path)
    return (os.path.abspath(path), st.st_ino, st.st_mtime_ns, st.st_size, layer, crs.to_wkt())


def layer_texts(path: str | Path, layer: str, crs: CRS) -> LayerTexts:
    """The whole layer encoded in ``crs`` (cached per file version; one encoding at a time per key)."""
    key = _key(path, layer, crs)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
        building = _building.setdefault(key, threading.Lock())
    with building:  # concurrent first requests for one layer wait for one encoding
        with _lock:
            hit = _cache.get(key)
        if hit is not None:
            return hit
        gdf = features.read_layer(path, layer)
        texts = np.empty(len(gdf), dtype=object)
        texts[:] = features.features_geojson_texts(gdf, crs=crs)
        fids = gdf.index.to_numpy(dtype="int64")
        nbytes = sum(map(len, texts)) + 100 * len(texts)
        entry = LayerTexts(fids, texts, np.argsort(fids, kind="stable"), nbytes)
        with _lock:
            _cache[key] = entry
            _building.pop(key, None)
            total = sum(e.nbytes for e in _cache.values())
            while len(_cache) > 1 and total > CACHE_BYTES:
                total -= _cache.popitem(last=False)[1].nbytes
    return entry


def page_texts(
    path: str | Path, layer: str, crs: CRS, fids: Sequence[int] | np.ndarray | None, offset: int = 0, limit: int = 0
) -> list[str] | None:
    """The features ``fids`` (in that order) as GeoJSON texts in ``crs``; with ``fids`` None, rows
    ``offset:offset + limit`` in the layer's order. None when a fid is not in the file
    (it changed since the fids were chosen): the caller reads the page itself.
    """
    cached = layer_texts(path, layer, crs)
    if fids is None:
        return cached.texts[offset : offset + limit].tolist()
    wanted = np.asarray(fids, dtype="int64")
    if len(wanted) == 0:
        return []
    sorted_fids = cached.fids[cached.order]
    at = np.searchsorted(sorted_fids, wanted)
    at = np.minimum(at, len(sorted_fids) - 1) if len(sorted_fids) else at
    if len(sorted_fids) == 0 or not np.array_equal(sorted_fids[at], wanted):
        return None
    return cached.texts[cached.order[at]].tolist()


def clear() -> None:
    """Forget every cached layer (tests)."""
    with _lock:
        _cache.clear()


def select_texts(
    path: str | Path,
    layer: str,
    *,
    crs: CRS,
    columns: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = features.DEFAULT_LIMIT,
    **conditions,
) -> tuple[list[str], int]:
    """One page of :func:`layers.publish.features.select_features` as GeoJSON texts in ``crs``, and how many match.

    ``conditions`` are select_features' (bbox, bbox_crs, filters, cql, cql_crs, sortby).
    Whole features come from the cache; a page of chosen ``columns`` is read and encoded as it is asked.
    """
    if columns is None:
        fids, matched = features.select_fids(path, layer, offset=offset, limit=limit, **conditions)
        texts = page_texts(path, layer, crs, fids, offset, limit)
        if texts is not None:
            return texts, matched
    page, matched = features.select_features(path, layer, offset=offset, limit=limit, columns=columns, **conditions)
    if columns is not None:
        page = page[[*columns, page.geometry.name]]
    return features.features_geojson_texts(page, crs=crs), matched
