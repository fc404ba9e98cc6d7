"""Study areas: a folder with an ``area.toml`` naming its inputs and settings.

Loading validates the whole file up front: an unknown key, a missing file, a
wrong type, a bad value or a bad class spec raises :class:`AreaConfigError`
naming the key and the file. The sections become the typed, frozen settings of
:mod:`layers.settings` (where every default is written once). Layers are read
lazily and cached, in the area's metric CRS. A file key may name a layer of a
multi-layer file, ``buildings = {file = "build.gpkg", layer = "buildings"}``
(or ``"build.gpkg:buildings"``); see :mod:`layers.settings`.
"""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
from pyproj import CRS

from layers.errors import AreaConfigError, GeoappError, MissingInputError, NotFoundError
from layers.hazard.classes import parse_displacement
from layers.hazard.kinds import get_kind
from layers.hazard.uploaded import hazard_tables, list_path
from layers.io.crs import check_metric, working_crs
from layers.io.sources import split_layer
from layers.settings import (
    POPULATION_UNITS,
    SCHEMA,
    BoundarySpec,
    FileRef,
    HazardSpec,
    LayerSettings,
    PopulationSpec,
    access_settings,
    evacuation_settings,
    precarity_settings,
    report_settings,
    shelter_settings,
    validate,
)

RASTER_SUFFIXES = (".tif", ".tiff", ".asc", ".vrt", ".img", ".nc", ".bil", ".flt")
__all__ = ["Area", "BoundarySpec", "HazardSpec", "PopulationSpec", "load_area"]


class Area:
    """A parsed, validated ``area.toml`` and lazy access to its layers.

    Settings: ``hazards``, ``population``, ``boundaries`` (specs), ``inputs``
    (:class:`~layers.settings.LayerSettings`), ``shelters``, ``evacuation``,
    ``precarity``, ``reports``, ``access`` (frozen settings objects).
    """

    def __init__(self, toml_path: Path, config: dict[str, Any]):
        self.toml_path = toml_path
        self.root = toml_path.parent
        self.config = config
        meta = config.get("area", {})
        self.name: str = meta.get("name", self.root.name)
        self.title: str = meta.get("title", self.name)
        self.hazards = [self._hazard(i, h) for i, h in enumerate(config.get("hazard", []))]
        ids = [h.id for h in self.hazards]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            raise self._err(f"hazard id '{dup}' is used twice", "hazard.id")
        self.population = self._population(config.get("population"))
        self.boundaries = [self._boundary(i, b) for i, b in enumerate(config.get("boundaries", []))]
        where = str(toml_path)
        self.shelters = shelter_settings(config.get("shelters", {}), where)
        self.evacuation = evacuation_settings(config.get("evacuation", {}), where)
        self.precarity = precarity_settings(config.get("precarity", {}), where)
        self.reports = report_settings(config.get("reports", {}))
        self.access = access_settings(config.get("access", {}), where)  # who may see each built layer
        self.inputs = self._inputs(config.get("layers", {}))
        if not (self.inputs.osm or self.inputs.buildings):
            raise self._err("an area needs buildings: set layers.buildings or layers.osm", "layers")
        self._crs: CRS | None = None
        if "crs" in meta:
            try:
                self._crs = check_metric(meta["crs"], what="area.crs")
            except GeoappError as exc:  # not metric, or unknown to PROJ (e.g. "EPSG:0" or a typo)
                raise self._err(str(exc), "area.crs") from None

    # -- parsing helpers -------------------------------------------------
    def _err(self, message: str, key: str) -> AreaConfigError:
        return AreaConfigError(message, key=key, path=str(self.toml_path))

    def _file(self, key: str, value: str) -> Path:
        path = (self.root / value).resolve()
        if not path.exists():
            raise self._err(f"file '{value}' does not exist (looked for {path})", key)
        return path

    def _file_ref(self, key: str, value: str | dict[str, str]) -> FileRef:
        """``"x.gpkg"``, ``"x.gpkg:layer"`` or ``{file = "x.gpkg", layer = "layer"}``."""
        if isinstance(value, dict):
            return FileRef(self._file(f"{key}.file", value["file"]), value.get("layer"))
        path, layer = split_layer(self.root / value)
        if not path.exists():
            raise self._err(f"file '{value}' does not exist (looked for {path.resolve()})", key)
        return FileRef(path.resolve(), layer)

    def _inputs(self, table: dict[str, Any]) -> LayerSettings:
        refs = {
            k: self._file_ref(f"layers.{k}", table[k])
            for k in ("buildings", "roads", "facilities", "osm")
            if k in table
        }
        return LayerSettings(**refs, facilities_category_field=table.get("facilities_category_field"))

    def _hazard(self, i: int, h: dict) -> HazardSpec:
        key = f"hazard[{i}]"
        path = self._file(f"{key}.file", h["file"])
        kind = "raster" if path.suffix.lower() in RASTER_SUFFIXES else "vector"
        try:
            hazard_kind = get_kind(h.get("kind"))
        except GeoappError as exc:
            raise self._err(str(exc), f"{key}.kind") from None
        # Volcano vent points need no field: they are buffered into rings.
        if kind == "vector" and "field" not in h and hazard_kind.key != "volcano":
            raise self._err("a vector hazard needs 'field', the attribute holding its class or value", f"{key}.field")
        # Parsed one after the other so an error names the key that holds the mistake.
        try:
            classes = hazard_kind.scheme(h.get("classes"), units=h.get("units"))
        except GeoappError as exc:
            raise self._err(str(exc), f"{key}.classes") from None
        radii = h.get("radii_km", [])
        if not all(isinstance(r, (int, float)) and r > 0 for r in radii):
            raise self._err(f"radii_km {radii} must be positive distances in km, e.g. [3, 5, 10]", f"{key}.radii_km")
        try:
            displacement = parse_displacement(h.get("displacement"), classes)
        except GeoappError as exc:
            raise self._err(str(exc), f"{key}.displacement") from None
        return HazardSpec(
            id=h["id"],
            title=h.get("title", h["id"]),
            path=path,
            kind=kind,
            classes=classes,
            units=h.get("units", hazard_kind.units),
            field=h.get("field"),
            layer=h.get("layer"),
            displacement=displacement,
            hazard_kind=hazard_kind.key,
            classes_given="classes" in h,
            radii_km=tuple(float(r) for r in radii),
        )

    def _population(self, p: dict | None) -> PopulationSpec | None:
        if not p:
            return None
        units = p.get("units", "count")
        if units not in POPULATION_UNITS:
            raise self._err(f"units '{units}' must be one of {', '.join(POPULATION_UNITS)}", "population.units")
        scale = float(p.get("scale", 1.0))
        if not (scale > 0 and math.isfinite(scale)):
            raise self._err(f"scale {scale} must be a positive number", "population.scale")
        path = self._file("population.file", p["file"])
        return PopulationSpec(path, units, scale, p.get("field"), p.get("title", "Population"), p.get("layer"))

    def _boundary(self, i: int, b: dict) -> BoundarySpec:
        return BoundarySpec(
            id=b["id"],
            title=b.get("title", b["id"]),
            path=self._file(f"boundaries[{i}].file", b["file"]),
            name_field=b["name_field"],
            id_field=b.get("id_field"),
            layer=b.get("layer"),
        )

    # -- inputs by name (kept for callers that read paths) ---------------
    @property
    def buildings_path(self) -> Path | None:
        return _path(self.inputs.buildings)

    @property
    def roads_path(self) -> Path | None:
        return _path(self.inputs.roads)

    @property
    def facilities_path(self) -> Path | None:
        return _path(self.inputs.facilities)

    @property
    def osm_path(self) -> Path | None:
        return _path(self.inputs.osm)

    def _osm(self) -> Path:
        if self.inputs.osm is None:
            raise MissingInputError(f"area '{self.name}' has no OSM file", input="osm")
        return self.inputs.osm.path

    @property
    def has_roads(self) -> bool:
        return bool(self.inputs.roads or self.inputs.osm)

    # -- properties ------------------------------------------------------
    @property
    def crs(self) -> CRS:
        """The metric working CRS: ``area.crs``, else the UTM zone of the buildings."""
        if self._crs is None:
            self._crs = working_crs(self._raw_buildings_extent())
        return self._crs

    def _raw_buildings_extent(self) -> gpd.GeoSeries:
        import pyogrio
        from shapely import box

        if self.inputs.buildings is not None:  # read anyway; a multi-layer file has no single extent
            raw = self._buildings_raw
            return gpd.GeoSeries([box(*raw.total_bounds)], crs=raw.crs)
        info = pyogrio.read_info(self._osm(), layer="multipolygons")
        return gpd.GeoSeries([box(*info["total_bounds"])], crs=info["crs"])

    @property
    def default_build_path(self) -> Path:
        return self.root / "build" / "area.gpkg"

    def hazard(self, hazard_id: str | None = None) -> HazardSpec:
        if not self.hazards:
            raise MissingInputError(
                f"area '{self.name}' has no hazard scenario; add a [[hazard]] table to {self.toml_path}",
                input="hazard",
            )
        if hazard_id is None:
            return self.hazards[0]
        for h in self.hazards:
            if h.id == hazard_id:
                return h
        raise NotFoundError(
            f"no hazard scenario '{hazard_id}' in area '{self.name}'; scenarios are {[h.id for h in self.hazards]}"
        )

    def boundary(self, boundary_id: str | None = None) -> BoundarySpec:
        if not self.boundaries:
            raise MissingInputError(
                f"area '{self.name}' has no boundaries; add a [[boundaries]] table to {self.toml_path}",
                input="boundaries",
            )
        if boundary_id is None:
            return self.boundaries[0]
        for b in self.boundaries:
            if b.id == boundary_id:
                return b
        raise NotFoundError(
            f"no boundary set '{boundary_id}' in area '{self.name}'; sets are {[b.id for b in self.boundaries]}"
        )

    def metadata(self) -> dict[str, Any]:
        meta = self.config.get("area", {})
        return {
            "area": self.name,
            "title": self.title,
            "source": meta.get("source", ""),
            "licence": meta.get("licence", ""),
            "crs": self.crs.to_string(),
            "scenarios": ",".join(h.id for h in self.hazards),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    # -- layers (cached; callers get copies so they cannot corrupt the cache) --
    @cached_property
    def _buildings_raw(self) -> gpd.GeoDataFrame:
        from layers.io.vectors import read_vector

        ref = self.inputs.buildings
        if ref is None:
            raise MissingInputError(f"area '{self.name}' has no buildings file", input="buildings")
        return read_vector(ref.path, layer=ref.layer, what="buildings")

    def buildings(self) -> gpd.GeoDataFrame:
        return self._buildings.copy()

    @cached_property
    def _buildings(self) -> gpd.GeoDataFrame:
        from layers.io.osm import buildings_from_osm
        from layers.io.vectors import buildings_from_frame

        if self.inputs.buildings is not None:
            return buildings_from_frame(self._buildings_raw, crs=self.crs, source=str(self.inputs.buildings))
        return buildings_from_osm(self._osm(), crs=self.crs)

    def roads(self) -> gpd.GeoDataFrame:
        return self._roads.copy()

    @cached_property
    def _roads(self) -> gpd.GeoDataFrame:
        from layers.io.osm import roads_from_osm
        from layers.io.vectors import roads_from_file

        if self.inputs.roads is not None:
            return roads_from_file(self.inputs.roads.path, crs=self.crs, layer=self.inputs.roads.layer)
        if self.osm_path:
            return roads_from_osm(self._osm(), crs=self.crs)
        raise MissingInputError(
            f"area '{self.name}' has no roads; set layers.roads or layers.osm in {self.toml_path}", input="roads"
        )

    def facilities(self) -> gpd.GeoDataFrame:
        return self._facilities.copy()

    @cached_property
    def _facilities(self) -> gpd.GeoDataFrame:
        from layers.io.osm import facilities_from_osm
        from layers.io.vectors import facilities_from_buildings, facilities_from_file

        ref = self.inputs.facilities
        if ref is not None:
            field = self.inputs.facilities_category_field
            return facilities_from_file(ref.path, crs=self.crs, layer=ref.layer, category_field=field)
        if self.inputs.buildings is not None:
            return facilities_from_buildings(self._buildings_raw, crs=self.crs, source=str(self.inputs.buildings))
        return facilities_from_osm(self._osm(), crs=self.crs)

    def boundary_layer(self, boundary_id: str | None = None) -> gpd.GeoDataFrame:
        spec = self.boundary(boundary_id)
        if spec.id not in self._boundary_cache:
            from layers.io.vectors import boundaries_from_file

            try:
                self._boundary_cache[spec.id] = boundaries_from_file(
                    spec.path, name_field=spec.name_field, id_field=spec.id_field, crs=self.crs, layer=spec.layer
                )
            except GeoappError as exc:
                raise self._err(str(exc), f"boundaries '{spec.id}'") from None
        return self._boundary_cache[spec.id].copy()

    @cached_property
    def _boundary_cache(self) -> dict[str, gpd.GeoDataFrame]:
        return {}

    _stamp: tuple = ()

    def is_stale(self) -> bool:
        """Whether area.toml or scenarios.toml (scenarios added from the web) changed since this was loaded."""
        return bool(self._stamp) and _config_stamp(self.toml_path) != self._stamp  # () when not from load_area

    def __repr__(self) -> str:
        return f"Area({self.name!r}, {self.toml_path})"


def _path(ref: FileRef | None) -> Path | None:
    return ref.path if ref else None


def load_area(path: str | Path) -> Area:
    """Parse and validate an area folder (or its ``area.toml``)."""
    path = Path(path)
    toml_path = path / "area.toml" if path.is_dir() else path
    if not toml_path.exists():
        raise AreaConfigError(
            f"no area.toml at {toml_path}; an area is a folder with an area.toml", path=str(toml_path)
        )
    stamp = _config_stamp(toml_path)  # taken before reading: a change during the read makes the area stale
    try:
        # utf-8-sig: a byte-order mark (Windows editors add one) is not part of the TOML
        config = tomllib.loads(toml_path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise AreaConfigError(
            f"not UTF-8 text (byte {exc.start} is {exc.object[exc.start : exc.start + 1]!r}, as in a Latin-1 "
            "or UTF-16 file); open it in an editor and save it as UTF-8",
            path=str(toml_path),
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise AreaConfigError(f"not valid TOML: {exc}", path=str(toml_path)) from None
    validate(config, toml_path)
    # Scenarios added from the web (scenarios.toml beside area.toml) join the [[hazard]] tables.
    config["hazard"] = [*config.get("hazard", []), *hazard_tables(toml_path.parent, frozenset(SCHEMA["hazard"]))]
    area = Area(toml_path.resolve(), config)
    area._stamp = stamp
    return area


def _config_stamp(toml_path: Path) -> tuple:
    """What changes when area.toml or scenarios.toml does (mtime and size of each; None when absent)."""
    out: list[tuple[int, int] | None] = []
    for path in (toml_path, list_path(toml_path.parent)):
        try:
            st = path.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)
