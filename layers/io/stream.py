"""Buildings streamed from a file in row batches, each normalised exactly as the whole file would be.

GDAL's Arrow stream (``pyogrio.open_arrow``) hands over ``batch_rows`` features at a time, so memory
is bounded by the batch, not by the file. Files GDAL reads by feature id (GeoPackage, FlatGeobuf,
shapefile) can also be read in *spatial* batches (:meth:`BuildingSource.spatial_plan`): the features'
bounding boxes are read first (about 40 bytes a building), grouped by a key such as the hazard
raster's band of rows, and each batch is read by its feature ids; then a raster is decoded once in
all, not once per batch. The open building datasets (:mod:`layers.io.datasets`)
stream through their own readers. What depends on the whole file is settled before the first batch:
the working CRS (from the layer's extent, as :func:`layers.io.crs.working_crs` would pick it) and the
ids (the first id column holding unique integers over the *whole* file, else 1..N in file order).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.settings import CHUNK_BUILDINGS

# Drivers whose random reads by feature id are fast (an index on the id, or fixed-size records).
SPATIAL_DRIVERS = {"GPKG", "FlatGeobuf", "ESRI Shapefile"}
# The feature id column that spatial batches carry, so results can be put back in file order.
FID = "_fid"


def _id_names() -> tuple[str, ...]:
    from layers.io.vectors import ID_COLUMNS

    return ("building_id", *ID_COLUMNS)


def file_order(rows: pd.DataFrame, *, renumber: bool) -> pd.DataFrame:
    """Rows of spatial batches back in file order, without :data:`FID`; with ``renumber`` (a file without
    an id column) ``building_id`` becomes 1..N over the kept buildings, as the whole-file loader numbers them."""
    rows = rows.sort_values(FID, kind="stable").drop(columns=FID).reset_index(drop=True)
    if renumber:
        rows["building_id"] = np.arange(1, len(rows) + 1, dtype=np.int64)
    return rows


@dataclass(frozen=True)
class BuildingSource:
    """A buildings file to stream: where, how many features, its CRS and the rules settled up front."""

    path: str
    layer: str | int | None
    features: int
    crs: CRS
    id_column: str | None  # the column giving building ids; None = row numbers 1..N
    dataset: str | None  # "google", "microsoft", "overture" or None (any GDAL layer)
    file_crs: str | None = None  # the layer's own CRS (feature bounds are in it)
    random_read: bool = False  # GDAL reads features by id quickly: spatial batches are possible
    first_fid: int = 0  # the first feature's id (1 in a GeoPackage, 0 in a shapefile): places from feature ids

    def batches(self, batch_rows: int = CHUNK_BUILDINGS) -> Iterator[tuple[int, gpd.GeoDataFrame]]:
        """``(first row, buildings)`` per batch: the building schema in :attr:`crs`."""
        yield from _batches(self, batch_rows)

    def spatial_plan(self, batch_rows: int, key: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> list[np.ndarray]:
        """Feature ids of each spatial batch (at most ``batch_rows`` each), or ``[]`` when the file cannot
        be read by feature id or fits in one batch (then :meth:`batches` is as good).

        ``key(x, y)`` maps the centres of the features' bounding boxes (in :attr:`file_crs`) to integer
        groups; batches take whole groups in ascending order while they fit, and a group larger than a
        batch is cut west to east. Features without a geometry are left out, with a warning, as the
        whole-file loader drops them (a batch of nothing but those would be an error).
        """
        if not self.random_read or self.dataset or self.features <= batch_rows:
            return []
        fids, b = pyogrio.read_bounds(self.path, layer=self.layer)
        x, y = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        del b
        placed = np.isfinite(x) & np.isfinite(y)
        if not placed.all():
            warnings.warn(
                f"buildings file {self.path}: skipped {int((~placed).sum())} features without a geometry", stacklevel=2
            )
            fids, x, y = fids[placed], x[placed], y[placed]
        group = np.asarray(key(x, y), dtype=np.int64)
        order = np.lexsort((x, group))
        fids, group = fids[order], group[order]
        del x, y, order
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[starts[1:], len(group)]
        plan: list[np.ndarray] = []
        cut = 0  # first feature of the batch being filled
        for s, e in zip(starts, ends, strict=True):
            if e - cut > batch_rows and s > cut:  # this group does not fit: close the batch before it
                plan.append(np.sort(fids[cut:s]))
                cut = int(s)
            while e - cut > batch_rows:  # a group larger than a batch, cut west to east
                plan.append(np.sort(fids[cut : cut + batch_rows]))
                cut += batch_rows
        if cut < len(fids):
            plan.append(np.sort(fids[cut:]))
        return plan

    def read_fids(self, fids: np.ndarray) -> gpd.GeoDataFrame:
        """The buildings with feature ids ``fids`` (ascending), normalised as in :meth:`batches`, with their
        feature id in :data:`FID`. Without an id column, ``building_id`` is provisional: the feature's
        place in the file (:func:`file_order` turns it into the whole-file loader's numbering)."""
        raw = pyogrio.read_dataframe(self.path, layer=self.layer, fids=fids, use_arrow=True)
        raw = raw.reset_index(drop=True)
        if self.id_column is None:
            raw = raw.drop(columns=[c for c in raw.columns if str(c).lower() in _id_names()])
            raw.insert(0, "building_id", np.asarray(fids, dtype=np.int64) - self.first_fid + 1)
            src = replace(self, id_column="building_id")
        else:
            src = self
        out, kept = _normalise_kept(src, raw)
        out[FID] = np.asarray(fids, dtype=np.int64)[kept]
        return out

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
    random_read = bool(info.get("capabilities", {}).get("random_read")) and info["driver"] in SPATIAL_DRIVERS
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
    n, first = int(info["features"]), 0
    if random_read and id_column is None:  # provisional ids are places in the file (read_fids)
        head = pyogrio.read_dataframe(p, layer=layer, max_features=1, read_geometry=False, fid_as_index=True)
        first = int(head.index[0]) if len(head) else 0
    target = CRS.from_user_input(target)
    return BuildingSource(str(p), layer, n, target, id_column, None, info["crs"], random_read, first)


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


def _normalise_kept(src: BuildingSource, raw: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The building schema of ``raw`` (its id column, unique, is ``src.id_column``) and the rows of ``raw`` it
    kept, found by their ids."""
    from layers.io.vectors import column

    raw = raw.reset_index(drop=True)
    out = _normalise(src, raw, 0)
    ids = pd.to_numeric(column(raw, str(src.id_column)), errors="coerce").to_numpy()
    kept = pd.Index(ids).get_indexer(out["building_id"].to_numpy())
    if (kept < 0).any():  # the normaliser numbered a building itself: its id column was not taken
        raise RuntimeError(f"{src.path}: building ids do not come from its id column {src.id_column}")
    return out, kept


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
