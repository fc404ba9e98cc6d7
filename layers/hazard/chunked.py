"""Exposure with bounded memory: buildings streamed from their file in row batches.

Each batch goes through the same per-building function as the in-memory path
(:func:`layers.hazard.exposed.buildings_exposure`: the raster is read by windows there), and only
the per-building answers are kept (id, type, class, depth, flooded share, unit): about 40 bytes a
building instead of its footprint. The footprints of a batch are dropped before the next is read,
so peak memory is set by ``chunk_rows`` (default :data:`layers.settings.CHUNK_BUILDINGS`), not by
the number of buildings. Roads, facilities, population and boundaries are the in-memory path's.
Every figure equals :func:`layers.hazard.exposure.exposure` on the whole file: each building's
answer depends on that building only, and the summary sums the same per-building answers.

With ``out``, each batch's ``exposure_buildings`` rows (with footprints) are appended to that
GeoPackage as they are computed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.hazard.exposed import buildings_exposure
from layers.hazard.sources import Hazard, HazardRaster
from layers.io.stream import FID, file_order
from layers.settings import CHUNK_BUILDINGS

UNIT = "_unit"  # the boundary unit of each building, computed per batch (see layers.hazard.by_area)


def building_rows(
    chunk: gpd.GeoDataFrame, hazard: Hazard, *, crs, units: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """The exposure of one batch of buildings, as the in-memory path computes it (footprints kept)."""
    from layers.hazard.by_area import unit_of
    from layers.hazard.kinds import get_kind

    rows = buildings_exposure(chunk.to_crs(crs) if chunk.crs != crs else chunk, hazard)
    if FID in chunk:  # a spatial batch: its file order comes back at the end
        rows[FID] = chunk[FID].to_numpy()
    damage = get_kind(hazard.hazard_kind).building_damage
    if damage is not None:
        structure = chunk["structure"].to_numpy() if "structure" in chunk else None
        rows["damage_class"] = damage(rows["depth_max_m"].to_numpy(), structure)
    if units is not None:
        rows[UNIT] = unit_of(rows.geometry, units)
    return rows


def exposure_chunked(
    hazard: Hazard,
    buildings: Iterable[gpd.GeoDataFrame],
    *,
    crs,
    roads: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    population=None,
    boundaries: gpd.GeoDataFrame | None = None,
    displacement: dict[str, float] | None = None,
    needs: str = "bnpb",
    out: str | Path | None = None,
    rows_of: Callable[[Iterable[gpd.GeoDataFrame]], Iterator[gpd.GeoDataFrame]] | None = None,
    renumber: bool = False,
):
    """:func:`layers.hazard.exposure.exposure` over buildings given as batches (an iterable of frames in
    the building schema, e.g. :meth:`layers.io.stream.BuildingSource.batches`).

    Batches of :meth:`~layers.io.stream.BuildingSource.read_fids` (spatial batches) carry their feature
    ids: the results are put back in file order, and with ``renumber`` (a file without an id column)
    the provisional ids become the whole-file loader's 1..N, in ``out`` too.

    ``rows_of`` turns the batches into per-batch exposure rows (default: here, one batch after the
    other; :mod:`layers.distributed` passes one that runs them on a Dask cluster). Returns the
    :class:`~layers.hazard.exposure.ExposureResult`; its ``buildings`` frame has no footprints.
    """
    from layers.hazard.exposure import exposure

    units = _units(boundaries, crs)
    if rows_of is None:

        def rows_of(batches):
            for chunk in batches:
                yield building_rows(chunk, hazard, crs=crs, units=units)

    kept: list[pd.DataFrame] = []
    first = True
    for rows in rows_of(buildings):
        if out is not None and len(rows):
            _append(rows.drop(columns=[UNIT, FID], errors="ignore"), out, first=first)
            first = False
        kept.append(light_rows(rows))
    light = pd.concat(kept, ignore_index=True) if kept else None
    if light is not None and FID in light:
        provisional = light["building_id"].to_numpy()
        light = file_order(light, renumber=renumber)
        if renumber and out is not None and not first:
            _renumber(out, np.sort(provisional))
    # Everything but the buildings by the in-memory path; then the buildings' figures from the kept rows.
    result = (
        exposure(
            hazard,
            roads=roads,
            population=population,
            boundaries=None,
            displacement=displacement,
            needs=needs,
            crs=crs,
            buildings=None,
            facilities=None,
        )
        if (roads is not None or population is not None)
        else None
    )
    return _finish(hazard, result, light, facilities, units, crs, displacement, needs)


def light_rows(rows: gpd.GeoDataFrame | pd.DataFrame) -> pd.DataFrame:
    """The per-building answers without footprints (text columns as categories: a few bytes a building).
    Dask workers send these back when no file is written, not the footprints."""
    if not isinstance(rows, gpd.GeoDataFrame):
        return rows  # light already
    frame = pd.DataFrame(rows.drop(columns=rows.geometry.name))
    for col in ("hazard_class", "building_type", "damage_class"):
        if col in frame:
            frame[col] = frame[col].astype("category")
    return frame


def _finish(hazard, result, light, facilities, units, crs, displacement, needs):
    from layers.hazard.by_area import aggregate
    from layers.hazard.exposed import facilities_exposure
    from layers.hazard.exposure import ExposureResult, default_displacement

    classes = hazard.classes.names
    if result is None:
        rates = dict(displacement) if displacement else default_displacement(classes, hazard.hazard_kind)
        result = ExposureResult(classes=classes, crs=crs, displacement=rates, needs=needs, kind=hazard.hazard_kind)
    if light is not None:
        b = light
        for col in ("hazard_class", "building_type", "damage_class"):
            if col in b:  # back to the in-memory path's object columns (references to the categories' strings)
                b[col] = np.asarray(b[col].astype(object).where(b[col].notna(), None), dtype=object)
        result.buildings = gpd.GeoDataFrame(b, geometry=gpd.GeoSeries([None] * len(b), crs=crs), crs=crs)
    if facilities is not None:
        result.facilities = facilities_exposure(facilities.to_crs(crs), hazard, result.buildings)
    if units is not None:
        aggregate(result, units)
    if result.buildings is not None and UNIT in result.buildings:
        result.buildings = result.buildings.drop(columns=[UNIT])
    return result


def _append(rows: gpd.GeoDataFrame, out: str | Path, *, first: bool) -> None:
    import pyogrio

    from layers.publish.files import for_file

    if first:
        Path(out).unlink(missing_ok=True)  # a new file, as write_geopackage starts one
    pyogrio.write_dataframe(
        for_file(rows),
        out,
        layer="exposure_buildings",
        driver="GPKG",
        append=not first,
        promote_to_multi=True,
        use_arrow=True,
    )


def _renumber(out: str | Path, provisional: np.ndarray) -> None:
    """Give ``out``'s buildings the whole-file loader's ids 1..N (``provisional``, ascending, are their places in
    the file): each id drops by the number of places before it that hold no building (features the
    normalisation dropped). Nothing to do when none was dropped; else the layer is copied batch by batch
    (a GeoPackage's R-tree triggers need SpatiaLite functions for an UPDATE in place)."""
    import os

    import pyogrio

    gaps = np.setdiff1d(np.arange(1, int(provisional[-1]) + 1 if len(provisional) else 1), provisional)
    if not len(gaps):
        return
    tmp = Path(f"{out}.renumber.gpkg")
    tmp.unlink(missing_ok=True)
    total = int(pyogrio.read_info(out, layer="exposure_buildings")["features"])
    for start in range(0, total, CHUNK_BUILDINGS):
        part = pyogrio.read_dataframe(
            out, layer="exposure_buildings", skip_features=start, max_features=CHUNK_BUILDINGS
        )
        ids = part["building_id"].to_numpy()
        part["building_id"] = ids - np.searchsorted(gaps, ids)
        pyogrio.write_dataframe(part, tmp, layer="exposure_buildings", append=start > 0, promote_to_multi=True)
    os.replace(tmp, out)


def batches_on(src, hazard: Hazard | None, rows: int) -> tuple[list[np.ndarray], Iterator[gpd.GeoDataFrame]]:
    """The buildings of ``src`` in batches of ``rows``: spatial batches following ``hazard``'s bands when it is
    a raster and the file can be read by feature id (each band is then decoded once in all), else in file
    order. Returns ``(plan, batches)``; ``plan`` (feature ids per batch) is empty for file order."""
    key = band_key(hazard, src.file_crs) if hazard is not None else None
    plan = src.spatial_plan(rows, key) if key is not None else []
    batches = (src.read_fids(fids) for fids in plan) if plan else (b for _, b in src.batches(rows))
    return plan, batches


def band_key(hazard: Hazard, file_crs) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """For :meth:`~layers.io.stream.BuildingSource.spatial_plan`: the raster band of rows (as
    :mod:`layers.hazard.sampling` reads them) holding each point of the file's CRS. None for zones."""
    if not isinstance(hazard, HazardRaster) or file_crs is None:
        return None
    from pyproj import Transformer

    with hazard.windows() as raster:
        rows = raster.band_rows
    to_hazard = Transformer.from_crs(file_crs, hazard.crs, always_xy=True)
    inverse = ~hazard.transform

    def key(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        hx, hy = to_hazard.transform(x, y)
        row = inverse.d * np.asarray(hx) + inverse.e * np.asarray(hy) + inverse.f
        return np.floor(np.nan_to_num(row / rows, nan=0.0, posinf=0.0, neginf=0.0)).astype(np.int64)

    return key


def batches_of(frame: gpd.GeoDataFrame, rows: int = CHUNK_BUILDINGS) -> Iterator[gpd.GeoDataFrame]:
    """An in-memory frame as batches of ``rows`` (tests; callers with files stream them instead)."""
    for s in range(0, max(len(frame), 1), rows):
        yield frame.iloc[s : s + rows]


__all__ = ["batches_of", "building_rows", "exposure_chunked"]


def exposure_chunked_from_files(
    *,
    hazard: str,
    buildings: str,
    chunk_rows: int = CHUNK_BUILDINGS,
    scheduler: str | None = None,
    hazard_field: str | None = None,
    kind: str | None = None,
    radii_km: list[float] | None = None,
    classes: str | None = None,
    displacement: str | None = None,
    roads: str | None = None,
    facilities: str | None = None,
    population: str | None = None,
    population_field: str | None = None,
    population_units: str = "count",
    population_scale: float = 1.0,
    boundaries: str | None = None,
    boundary_name: str | None = None,
    needs: str = "bnpb",
    out: str | Path | None = None,
):
    """``geoapp exposure --chunk-rows N`` (and ``--scheduler``): :func:`layers.hazard.exposure.exposure_from_files`
    with the buildings streamed ``chunk_rows`` at a time, or as partitions on a Dask cluster.

    ``out`` receives the ``exposure_buildings`` layer batch by batch (the caller adds the other layers).
    """
    from layers.errors import InvalidInputError
    from layers.hazard.classes import parse_displacement
    from layers.hazard.needs import check_profile
    from layers.hazard.population import read_people
    from layers.hazard.sources import check_overlap, open_hazard
    from layers.io.stream import building_source
    from layers.io.vectors import boundaries_from_file, facilities_from_file, roads_from_file

    if chunk_rows < 1:
        raise InvalidInputError(f"--chunk-rows {chunk_rows} must be a positive number of buildings")
    if boundaries and not boundary_name:
        raise InvalidInputError("--boundaries needs --boundary-name, the attribute holding each unit's name")
    check_profile(needs)
    haz = open_hazard(hazard, classes=classes, field=hazard_field, kind=kind, radii_km=radii_km)
    rates = parse_displacement(displacement, haz.classes) if displacement else None
    src = building_source(buildings)
    crs = src.crs
    r = roads_from_file(roads, crs=crs) if roads else None
    f = facilities_from_file(facilities, crs=crs) if facilities else None
    units = boundaries_from_file(boundaries, name_field=boundary_name, crs=crs) if boundaries else None
    pop = (
        read_people(population, field=population_field, units=population_units, scale=population_scale)
        if population
        else None
    )
    for name, layer in (("roads", r), ("facilities", f)):
        if layer is not None and len(layer):
            check_overlap(haz, layer, what=name)
    plan, batches = batches_on(src, haz, chunk_rows)
    kw: dict[str, Any] = {"crs": crs, "roads": r, "facilities": f, "population": pop, "boundaries": units}
    kw |= {"displacement": rates, "needs": needs, "out": out, "renumber": bool(plan) and src.id_column is None}
    if scheduler:
        from layers.distributed import connect, exposure_rows

        with connect(scheduler) as client:
            rows_of = exposure_rows(
                client, src, haz, crs=crs, units=_units(units, crs), rows=chunk_rows, plan=plan, footprints=bool(out)
            )
            return exposure_chunked(haz, batches, rows_of=rows_of, **kw)
    return exposure_chunked(haz, batches, **kw)


def _units(boundaries, crs):
    return boundaries.to_crs(crs).reset_index(drop=True) if boundaries is not None else None
