"""Exposure of people, buildings, roads and facilities to one hazard scenario, per class and per unit.

Rules (what InaSAFE users expect):

* building: the highest class of any cell/zone it touches (all-touched), its
  ``depth_max_m`` and ``flooded_share`` (share of the footprint in a class);
* facility: the class of the building it came from when known, else the class
  at its point;
* road: length in each class, the lines cut by the class polygons;
* population: people per class on the hazard grid (see :mod:`layers.hazard.population`);
  displaced = Σ people in class × displacement rate of the class; weekly
  minimum needs of the displaced (:mod:`layers.hazard.needs`);
* units (boundaries): see :mod:`layers.hazard.by_area`.

Every sum is float64. :func:`exposure` returns an :class:`ExposureResult`;
:meth:`ExposureResult.summary` is the ``geoapp exposure --json`` object
(:mod:`layers.hazard.summary`) and :meth:`ExposureResult.layers` the
``exposure_*`` GeoPackage layers. Each layer's own rules are in :mod:`layers.hazard.exposed`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from layers.errors import InvalidInputError, OutsideExtentError
from layers.hazard.by_area import aggregate
from layers.hazard.exposed import buildings_exposure, facilities_exposure, population_exposure, roads_exposure
from layers.hazard.kinds import get_kind
from layers.hazard.needs import check_profile
from layers.hazard.population import PopulationGrid
from layers.hazard.sampling import progress_bar
from layers.hazard.sources import Hazard, HazardRaster, check_overlap, grid_bounds
from layers.hazard.summary import summarise
from layers.io.crs import working_crs


@dataclass
class ExposureResult:
    """Everything one scenario exposes; ``hazard_class`` columns hold class names (NA = not affected)."""

    classes: list[str]
    crs: object
    buildings: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    roads_total_km: float | None = None
    road_lengths: pd.DataFrame | None = None  # per road: road_id, road_class, length_m
    facilities: gpd.GeoDataFrame | None = None
    people: gpd.GeoDataFrame | None = None
    population_method: str | None = None
    displacement: dict[str, float] = field(default_factory=dict)
    needs: str = "bnpb"
    areas: gpd.GeoDataFrame | None = None
    kind: str = "flood"  # layers/hazard/kinds key: picks the impact rules and the words

    def summary(self) -> dict:
        """The ``geoapp exposure --json`` object; keys for inputs not given are omitted."""
        return summarise(self)

    def layers(self, *, scenario: str | None = None, boundary: str | None = None) -> dict[str, gpd.GeoDataFrame]:
        """``exposure_buildings``, ``exposure_roads``, ``exposure_facilities``, ``exposure_areas`` (those computed)."""
        out = {}
        for name, frame in (
            ("exposure_buildings", self.buildings),
            ("exposure_roads", self.roads),
            ("exposure_facilities", self.facilities),
            ("exposure_areas", self.areas),
        ):
            if frame is None:
                continue
            frame = _kind_columns(frame.copy(), self.kind)
            if name == "exposure_areas" and boundary is not None:
                frame.insert(0, "boundary", boundary)
            if scenario is not None:
                frame["scenario"] = scenario
            out[name] = frame
        return out


def default_displacement(classes: list[str], kind: str = "flood") -> dict[str, float]:
    """The kind's displacement rates when the classes are its own, else everyone in the most severe
    class is displaced and nobody in the others (InaSAFE's ``wet`` rule)."""
    from layers.hazard.kinds import get_kind

    own = get_kind(kind).displacement
    if kind != "flood" and set(classes) <= set(own):
        return {c: own[c] for c in classes}
    return {c: (1.0 if i == len(classes) - 1 else 0.0) for i, c in enumerate(classes)}


def _kind_columns(frame: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Value columns named for the kind: an earthquake layer has ``mmi_max``, never a water depth."""
    from layers.hazard.kinds import get_kind

    k = get_kind(kind)
    if k.measure == "depth":
        return frame
    return frame.rename(
        columns={"depth_max_m": k.value_column, "depth_m": k.point_column, "flooded_share": "hazard_share"}
    )


def exposure(
    hazard: Hazard,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    population: PopulationGrid | gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    displacement: dict[str, float] | None = None,
    needs: str = "bnpb",
    crs=None,
    progress: bool = False,
    sources: Mapping[str, str] | None = None,
) -> ExposureResult:
    """Exposure of every given layer to ``hazard`` (from :func:`layers.hazard.sources.open_hazard`).

    Layers are GeoDataFrames in the common schema (any CRS); results are in ``crs``
    (default: the buildings' CRS when metric, else the UTM zone of the first layer).
    A layer wholly outside the hazard raises OutsideExtentError; an empty layer gives
    zero counts with a warning naming it and, from ``sources`` (layer name -> file), its file.
    With ``progress`` the slow stages show a bar on a terminal.
    """
    needs = check_profile(needs)
    classes = hazard.classes.names
    layers = {"buildings": buildings, "roads": roads, "facilities": facilities, "boundaries": boundaries}
    if isinstance(population, gpd.GeoDataFrame):
        layers["population"] = population
    given = {k: v for k, v in layers.items() if v is not None}
    if not given and population is None:
        raise InvalidInputError("nothing to assess: give buildings, roads, facilities or population")
    if crs is None:
        first = next(
            (v for v in (buildings, roads, facilities, boundaries, population) if isinstance(v, gpd.GeoDataFrame)), None
        )
        crs = working_crs(gpd.GeoSeries([shapely.box(*hazard.bounds)], crs=hazard.crs) if first is None else first)
    _check_layers(hazard, given, sources or {})
    rates = dict(displacement) if displacement else default_displacement(classes, hazard.hazard_kind)
    unknown = set(rates) - set(classes)
    if unknown:
        raise InvalidInputError(f"displacement names classes {sorted(unknown)} that are not hazard classes {classes}")
    result = ExposureResult(classes=classes, crs=crs, displacement=rates, needs=needs, kind=hazard.hazard_kind)
    todo = {**layers, "population": population}
    stages = [k for k in ("buildings", "roads", "facilities", "population", "boundaries") if todo[k] is not None]
    for stage in progress_bar(stages, desc="exposure" if progress else None, unit="layer"):
        _run_stage(stage, result, hazard, layers, population, progress=progress)
    return result


def _run_stage(stage: str, result: ExposureResult, hazard: Hazard, layers: dict, population, *, progress: bool):
    """One layer's exposure into ``result`` (facilities after buildings: they take their building's class)."""
    crs = result.crs
    if stage == "buildings":
        result.buildings = buildings_exposure(layers["buildings"].to_crs(crs), hazard, progress=progress)
        depth = result.buildings["depth_max_m"]
        damage = get_kind(hazard.hazard_kind).building_damage
        if damage is not None:  # earthquake: damage class from the highest MMI and the structure type
            structure = layers["buildings"]["structure"].to_numpy() if "structure" in layers["buildings"] else None
            result.buildings["damage_class"] = damage(depth.to_numpy(), structure)
        if isinstance(hazard, HazardRaster) and len(depth) and depth.isna().all():
            warnings.warn(
                f"every building lies on nodata cells of the hazard {hazard.path}; none can be classed",
                UserWarning,
                stacklevel=4,
            )
    elif stage == "roads":
        result.roads, result.road_lengths = roads_exposure(layers["roads"].to_crs(crs), hazard)
        result.roads_total_km = float(result.road_lengths["length_m"].sum()) / 1000.0
    elif stage == "facilities":
        result.facilities = facilities_exposure(layers["facilities"].to_crs(crs), hazard, result.buildings)
    elif stage == "population":
        if isinstance(population, PopulationGrid) and isinstance(hazard, HazardRaster):
            _check_grid_overlap(population, hazard)
        result.people, result.population_method = population_exposure(population, hazard, crs=crs)
    elif stage == "boundaries":
        aggregate(result, layers["boundaries"])


def _check_layers(hazard: Hazard, given: dict[str, gpd.GeoDataFrame], sources: Mapping[str, str]) -> None:
    """Every layer has a CRS and overlaps the hazard; an empty one is a warning naming it and its file."""
    for name, layer in given.items():
        where = f" ({sources[name]})" if name in sources else ""
        if layer.crs is None:
            raise InvalidInputError(f"the {name} layer{where} has no CRS; add a .prj or write the file with one")
        if len(layer) == 0:
            warnings.warn(f"the {name} layer{where} is empty; its figures are 0", UserWarning, stacklevel=3)
        elif name != "boundaries":
            check_overlap(hazard, layer, what=name)


def _check_grid_overlap(pop: PopulationGrid, hazard: HazardRaster) -> None:
    from rasterio.warp import transform_bounds

    h, w = pop.people.shape
    b = transform_bounds(pop.crs, hazard.crs, *grid_bounds(pop.transform, h, w))
    hb = hazard.bounds
    if b[0] >= hb[2] or b[2] <= hb[0] or b[1] >= hb[3] or b[3] <= hb[1]:
        raise OutsideExtentError(
            "the population raster does not overlap the hazard; "
            "check that both cover the same place and carry the right CRS"
        )


def exposure_summary(hazard: Hazard, **kwargs) -> dict:
    """:func:`exposure` then :meth:`ExposureResult.summary`: the ``geoapp exposure --json`` object."""
    return exposure(hazard, **kwargs).summary()


def exposure_from_files(
    *,
    hazard: str,
    hazard_field: str | None = None,
    kind: str | None = None,
    radii_km: list[float] | None = None,
    classes: str | None = None,
    displacement: str | None = None,
    osm: str | None = None,
    buildings: str | None = None,
    roads: str | None = None,
    facilities: str | None = None,
    population: str | None = None,
    population_field: str | None = None,
    population_units: str = "count",
    population_scale: float = 1.0,
    boundaries: str | None = None,
    boundary_name: str | None = None,
    needs: str = "bnpb",
    progress: bool = False,
) -> ExposureResult:
    """``geoapp exposure``: read the files (any format GDAL reads) and run :func:`exposure`.

    ``osm`` (.osm, .osm.bz2, .pbf) gives the buildings, roads and facilities not given as files.
    Works in the UTM zone of the first vector file given (buildings, roads, facilities,
    boundaries, census), else of the OSM layers, else of the hazard.
    """
    from layers.hazard.classes import parse_displacement
    from layers.hazard.population import read_people
    from layers.hazard.sources import open_hazard
    from layers.io.vectors import boundaries_from_file, buildings_from_file, facilities_from_file, roads_from_file

    if boundaries and not boundary_name:
        raise InvalidInputError("--boundaries needs --boundary-name, the attribute holding each unit's name")
    if boundary_name and not boundaries:
        raise InvalidInputError("--boundary-name needs --boundaries, the file of units to sum the figures by")
    check_profile(needs)
    haz = open_hazard(hazard, classes=classes, field=hazard_field, kind=kind, radii_km=radii_km)
    rates = parse_displacement(displacement, haz.classes) if displacement else None
    files = {"buildings": buildings, "roads": roads, "facilities": facilities}
    from_osm = _osm_layers(osm, [k for k, v in files.items() if not v]) if osm else {}
    census = population if population_field else None
    crs = _working_crs(haz, {**files, "boundaries": boundaries, "census": census}, from_osm)
    readers = {"buildings": buildings_from_file, "roads": roads_from_file, "facilities": facilities_from_file}
    layers = {k: readers[k](v, crs=crs) if v else None for k, v in files.items()}
    layers |= {k: v.to_crs(crs) for k, v in from_osm.items()}
    layers["boundaries"] = boundaries_from_file(boundaries, name_field=boundary_name, crs=crs) if boundaries else None
    sources = {k: str(v) for k, v in files.items() if v} | {k: str(osm) for k in from_osm}
    pop = (
        read_people(population, field=population_field, units=population_units, scale=population_scale)
        if population
        else None
    )
    return exposure(
        haz, population=pop, displacement=rates, needs=needs, crs=crs, progress=progress, sources=sources, **layers
    )


def _osm_layers(osm: str, names: list[str]) -> dict[str, gpd.GeoDataFrame]:
    """The layers ``names`` (buildings, roads, facilities) of an OSM file, in WGS 84."""
    from layers.io.osm import buildings_from_osm, facilities_from_osm, is_osm_file, roads_from_osm

    if not is_osm_file(osm):
        raise InvalidInputError(
            f"--osm {osm} is not an OSM file (.osm, .osm.bz2, .pbf); give GIS files as --buildings etc."
        )
    readers = {"buildings": buildings_from_osm, "roads": roads_from_osm, "facilities": facilities_from_osm}
    return {name: readers[name](osm, crs="EPSG:4326") for name in names}


def _working_crs(hazard: Hazard, files: dict[str, str | None], from_osm: dict[str, gpd.GeoDataFrame]):
    """The UTM zone of the first file in ``files`` (what it holds -> path), else of the OSM layers, else of the
    hazard. Only the file's header is read: its layer is chosen as the loader will (which warns then, not here)."""
    import pyogrio

    from layers.errors import AmbiguousLayerError
    from layers.io.crs import plausible_bounds
    from layers.io.sources import choose_layer, split_layer

    extent = gpd.GeoSeries([shapely.box(*hazard.bounds)], crs=hazard.crs)
    osm = [v for v in from_osm.values() if len(v)]
    if osm:
        extent = gpd.GeoSeries([shapely.box(*pd.concat(osm).total_bounds)], crs=osm[0].crs)
    what, first = next(((k, p) for k, p in files.items() if p), ("", None))
    if first:
        path, layer = split_layer(first)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                layer = choose_layer(path, what=what) if layer is None else layer
                info = pyogrio.read_info(path, layer=layer, force_total_bounds=True)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, AmbiguousLayerError, UnicodeDecodeError):
            info = None  # the loader gives the clear error (a Latin-1 CSV header is a UnicodeDecodeError here)
        bounds = None if info is None else info.get("total_bounds")
        # A header spoilt by a NaN or wild vertex falls back on the hazard; the loader drops that feature.
        if info is not None and info["crs"] and bounds is not None and plausible_bounds(bounds, info["crs"]):
            extent = gpd.GeoSeries([shapely.box(*info["total_bounds"])], crs=info["crs"])
    return working_crs(extent)
