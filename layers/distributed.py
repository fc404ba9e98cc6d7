"""Exposure and precarity on a Dask cluster: buildings as dask-geopandas partitions, one per worker task.

The buildings file is cut into row ranges; each partition is read *by the worker* from the same
path (shared storage, or object storage through GDAL's virtual file systems such as
``/vsis3/bucket/buildings.fgb`` or ``/vsicurl/https://...``), normalised as the whole file would be
(:class:`layers.io.stream.BuildingSource`), and turned into per-building rows by the same function
the single-process chunked path uses (:func:`layers.hazard.chunked.building_rows`,
:func:`layers.precarity.chunked.building_rows`). The client collects the rows partition by
partition, in file order, and finishes exactly as the chunked path does, so the figures equal a
single-process run. The hazard raster is opened by each worker from its path (only the small
``Hazard`` description travels); the walk network and facility distances are scattered once.

The scheduler comes from ``--scheduler ADDRESS`` or ``GEOAPP_DASK_SCHEDULER`` (``tcp://host:8786``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import geopandas as gpd
import pandas as pd

from layers.errors import InvalidInputError
from layers.io.stream import BuildingSource
from layers.settings import CHUNK_BUILDINGS, DASK_SCHEDULER_ENV


def scheduler_address(option: str | None = None) -> str | None:
    """The scheduler to use: the option, else ``GEOAPP_DASK_SCHEDULER``, else None (single process)."""
    address = option or os.environ.get(DASK_SCHEDULER_ENV) or None
    return address.strip() if address else None


@contextmanager
def connect(address: str):
    """A ``dask.distributed`` client of the scheduler at ``address`` (closed afterwards; the cluster stays)."""
    from distributed import Client

    try:
        _reachable(address)
        client = Client(address, timeout="30s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:  # ValueError: no port, or a port over 65535
        raise InvalidInputError(
            f"cannot reach the Dask scheduler at {address} ({exc}); start one (`dask scheduler`) or fix the address"
        ) from None
    try:
        yield client
    finally:
        client.close()


def _reachable(address: str) -> None:
    """Fail at once (not after the client's retries) when nothing listens at a tcp:// address."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
        return  # other comms (inproc, ucx): the client says what is wrong
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=10).close()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot reach the Dask scheduler at {address} ({exc}); start one (`dask scheduler`) or fix the address"
        ) from None


def partitions(source: BuildingSource, rows: int = CHUNK_BUILDINGS, plan: list | None = None) -> gpd.GeoDataFrame:
    """The buildings as a dask-geopandas frame of partitions, each read by a worker: the spatial batches of
    ``plan`` (:meth:`~layers.io.stream.BuildingSource.spatial_plan`) when given, else row ranges."""
    import dask.dataframe as dd
    import dask_geopandas

    if plan:
        meta = source.read_fids(plan[0][:1]).iloc[:0]
        frame = dd.from_map(source.read_fids, plan, meta=meta, enforce_metadata=False)
        return dask_geopandas.from_dask_dataframe(frame, geometry="geometry")

    n = max(1, -(-source.features // max(1, rows)))
    ranges = source.partitions(n)
    starts, stops = [a for a, _ in ranges], [b for _, b in ranges]
    meta = source.rows(0, min(1, source.features)).iloc[:0]  # the columns, read from the first row only
    frame = dd.from_map(source.rows, starts, stops, meta=meta, enforce_metadata=False)
    return dask_geopandas.from_dask_dataframe(frame, geometry="geometry")


def _in_order(client, tasks) -> Iterator:
    """Compute ``tasks`` on the cluster (all submitted at once) and yield their results in order."""
    futures = client.compute(tasks)
    for future in futures:
        yield future.result()
        future.release()


def exposure_rows(
    client,
    source: BuildingSource,
    hazard,
    *,
    crs,
    units=None,
    rows: int = CHUNK_BUILDINGS,
    plan: list | None = None,
    footprints: bool = True,
):
    """A ``rows_of`` for :func:`layers.hazard.chunked.exposure_chunked` that runs the batches on the cluster;
    without ``footprints`` (nothing to write) the workers send back only the per-building answers."""
    import dask

    from layers.hazard.chunked import building_rows, light_rows

    parts = partitions(source, rows, plan).to_delayed()
    tasks = [dask.delayed(building_rows)(p, hazard, crs=crs, units=units) for p in parts]
    if not footprints:
        tasks = [dask.delayed(light_rows)(t) for t in tasks]

    def rows_of(_batches) -> Iterator[gpd.GeoDataFrame]:
        yield from _in_order(client, tasks)

    return rows_of


def precarity_rows(client, source: BuildingSource, *, rows: int = CHUNK_BUILDINGS, plan: list | None = None):
    """A ``rows_of`` for :func:`layers.precarity.chunked.precarity_chunked` that runs the batches on the cluster."""
    import dask

    from layers.precarity.chunked import building_rows

    parts = partitions(source, rows, plan).to_delayed()

    def rows_of(_batches, ctx) -> Iterator[pd.DataFrame]:
        [shared] = client.scatter([ctx], broadcast=True)  # the network travels once per worker
        yield from _in_order(client, [dask.delayed(building_rows)(p, shared) for p in parts])

    return rows_of
