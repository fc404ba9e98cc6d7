"""Buildings streamed from a file in row batches, each normalised exactly as the whole file would be.

GDAL's Arrow stream (``pyogrio.open_arrow``) hands over ``batch_rows`` features at a time, so memory
is bounded by the batch, not by the file. The open building datasets (:mod:`layers.io.datasets`)
stream through their own readers. What depends on the whole file is settled before the first batch:
the working CRS (from the layer's extent, as :func:`layers.io.crs.working_crs` would pick it) and the
ids (the first id column holding unique integers over the *whole* file, else 1..N in file order).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.settings import CHUNK_BUILDINGS


@dataclass(frozen=True)
class BuildingSource:
    """A buildings file to stream: where, how many features, its CRS and the rules settled up front."""

    path: str
    layer: str | int | None
    features: int
    crs: CRS
    id_column: str | None  # the column giving building ids; None = row numbers 1..N
    dataset: str | None  # "google", "microsoft", "overture" or None (any GDAL layer)

    def batches(self, batch_rows: int = CHUNK_BUILDINGS) -> Iterator[tuple[int, gpd.GeoDataFrame]]:
        """``(first row, buildings)`` per batch: the building schema in :attr:`crs`."""
        yield from _batches(self, batch_rows)

    def partitions(self, n: int) -> list[tuple[int, int]]:
        """``n`` row ranges ``(start, stop)`` covering the file (for workers reading their own rows)."""
        edges = np.linspace(0, self.features, max(1, n) + 1).astype(int)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]

    def rows(self, start: int, stop: int) -> gpd.GeoDataFrame:
        """Buildings of rows ``start..stop-1`` (a worker's partition), normalised as in :meth:`batches`."""
        from layers.io.datasets import iter_dataset

        if self.dataset:
            parts = []
            seen = 0
            for raw in iter_dataset(self.path, batch_rows=CHUNK_BUILDINGS):
                ids = raw["building_id"].to_numpy()
                parts.append(raw[(ids > start) & (ids <= stop)])
                seen = int(ids.max()) if len(ids) else seen
                if seen >= stop:
                    break
            raw = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
            return _normalise(self, raw, start)
        raw = pyogrio.read_dataframe(self.path, layer=self.layer, skip_features=start, max_features=stop - start)
        return _normalise(self, raw, start)  # without an id column: file rows (as when no feature is dropped)


def building_source(path: str | Path, *, crs=None, layer=None) -> BuildingSource:
    """Open a buildings file for streaming (PATH or PATH:LAYER; the open datasets are detected)."""
    from layers.errors import InvalidInputError
    from layers.io.crs import check_metric, working_crs
    from layers.io.datasets import detect_dataset, iter_dataset
    from layers.io.sources import choose_layer, split_layer
    from layers.io.vectors import ID_COLUMNS, stable_ids

    p, named = split_layer(path)
    layer = named if layer is None else layer
    if not p.exists():
        raise InvalidInputError(f"buildings file {p} does not exist")
    dataset = detect_dataset(p) if layer is None else None
    if dataset:
        # One pass over the ids and extents (the datasets are files of plain rows, no index to ask).
        n, lo, hi, src_crs = 0, np.full(2, np.inf), np.full(2, -np.inf), None
        for raw in iter_dataset(p, batch_rows=CHUNK_BUILDINGS):
            n = int(raw["building_id"].max()) if len(raw) else n
            if len(raw):
                b = raw.total_bounds
                lo, hi = np.minimum(lo, b[:2]), np.maximum(hi, b[2:])
            src_crs = raw.crs
        extent = gpd.GeoSeries([shapely.box(*lo, *hi)] if np.isfinite(lo).all() else [], crs=src_crs)
        target = check_metric(crs) if crs is not None else working_crs(extent)
        return BuildingSource(str(p), None, n, CRS.from_user_input(target), "building_id", dataset)
    if layer is None:
        layer = choose_layer(p, what="buildings")
    info = pyogrio.read_info(p, layer=layer, force_total_bounds=True)
    fields = [str(f) for f in info["fields"]]
    lower = {f.lower(): f for f in fields}
    cand = [lower[c] for c in ("building_id", *ID_COLUMNS) if c in lower]
    id_column = None
    if cand:  # the same rule as the whole-file loader, on the whole file's id columns
        ids = pyogrio.read_dataframe(p, layer=layer, columns=cand, read_geometry=False)
        chosen = stable_ids(ids, *cand)
        for c in cand:
            col = pd.to_numeric(ids[c], errors="coerce")
            if col.notna().all() and np.array_equal(col.to_numpy(), chosen):
                id_column = c
                break
    if crs is not None:
        target = check_metric(crs)
    else:
        bounds = info.get("total_bounds")
        extent = gpd.GeoSeries([shapely.box(*bounds)], crs=info["crs"]) if bounds is not None else None
        target = working_crs(extent) if extent is not None else CRS.from_user_input(info["crs"])
    return BuildingSource(str(p), layer, int(info["features"]), CRS.from_user_input(target), id_column, None)


def _batches(src: BuildingSource, batch_rows: int) -> Iterator[tuple[int, gpd.GeoDataFrame]]:
    from layers.io.datasets import iter_dataset

    if src.dataset:
        for raw in iter_dataset(src.path, batch_rows=batch_rows):
            first = int(raw["building_id"].iloc[0]) - 1 if len(raw) else 0
            yield first, _normalise(src, raw, first)
        return
    kept = 0  # buildings kept so far: without an id column the whole-file loader numbers the kept ones 1..N
    with pyogrio.open_arrow(src.path, layer=src.layer, batch_size=batch_rows, use_pyarrow=True) as (meta, reader):
        geom = meta["geometry_name"] or "wkb_geometry"
        for batch in reader:
            table = batch.to_pandas()
            geoms = shapely.from_wkb(table.pop(geom).to_numpy())
            raw = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms), crs=meta["crs"])
            out = _normalise(src, raw, kept)
            yield kept, out
            kept += len(out)


def _normalise(src: BuildingSource, raw: gpd.GeoDataFrame, offset: int) -> gpd.GeoDataFrame:
    """The building schema, ids as the whole file would give them (``offset``: ids before this batch)."""
    from layers.io.usable import fitting_features, usable_features
    from layers.io.vectors import ID_COLUMNS, buildings_from_frame, column

    raw = raw.reset_index(drop=True)
    if len(raw):
        raw = fitting_features(usable_features(raw, "buildings", src.path), "buildings", src.path)
    if src.id_column is None:
        # No id column is used: hide any candidate the batch alone might pick, number the kept buildings.
        raw = raw.drop(columns=[c for c in raw.columns if str(c).lower() in ("building_id", *ID_COLUMNS)])
        out = buildings_from_frame(raw, crs=src.crs, source=src.path)
        out["building_id"] = out["building_id"].to_numpy() + offset
        return out
    if src.id_column != "building_id":
        col = column(raw, src.id_column)
        chosen = col.name if col is not None else src.id_column
        others = [c for c in raw.columns if str(c).lower() in ("building_id", *ID_COLUMNS) and c != chosen]
        raw = raw.drop(columns=others)
    return buildings_from_frame(raw, crs=src.crs, source=src.path)
