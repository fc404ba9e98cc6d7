"""Study areas: a folder with an ``area.toml`` naming its inputs and settings.

Loading validates the whole file up front: an unknown key, a missing file, a
wrong type or a bad class spec raises :class:`AreaConfigError` naming the key
and the file. Layers are read lazily and cached, in the area's metric CRS.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
from pyproj import CRS

from layers.errors import AreaConfigError, GeoappError, NotFoundError
from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, ClassScheme, parse_classes, parse_displacement
from layers.io.crs import check_metric, working_crs

# Allowed keys per section and their types. A type tuple means "any of".
NUM = (int, float)
SCHEMA: dict[str, dict[str, Any]] = {
    "area": {"name": str, "title": str, "crs": str, "description": str, "licence": str, "source": str},
    "layers": {"buildings": str, "roads": str, "facilities": str, "osm": str, "facilities_category_field": str},
    "hazard": {
        "id": str,
        "title": str,
        "file": str,
        "units": str,
        "classes": str,
        "field": str,
        "displacement": (str, dict),
        "layer": str,
        "description": str,
    },
    "population": {"file": str, "units": str, "scale": NUM, "field": str, "title": str},
    "boundaries": {"id": str, "title": str, "file": str, "name_field": (str, list), "id_field": str, "layer": str},
    "shelters": {"categories": list, "capacity_field": str, "m2_per_person": NUM, "default_capacity": NUM},
    "evacuation": {
        "walk_speed_m_s": NUM,
        "max_walk_depth_m": NUM,
        "max_drive_depth_m": NUM,
        "drive_speed_kph": NUM,
        "people_per_building": NUM,
        "isochrones_min": list,
    },
    "precarity": {"h3_resolution": int, "weights": dict, "threshold": NUM, "classes": int, "road_distance_m": NUM},
    "reports": {"categories": (list, dict), "blur_m": (NUM, dict), "outside_area": str},
}
ARRAYS = {"hazard", "boundaries"}  # sections written as [[hazard]] / [[boundaries]]
REQUIRED = {"hazard": ("id", "file"), "boundaries": ("id", "file", "name_field"), "population": ("file",)}
POPULATION_UNITS = ("count", "per_km2", "per_ha")


@dataclass(frozen=True)
class HazardSpec:
    id: str
    title: str
    path: Path
    kind: str  # "raster" or "vector"
    classes: ClassScheme
    units: str = "m"
    field: str | None = None
    layer: str | None = None
    displacement: dict[str, float] = dc_field(default_factory=dict)


@dataclass(frozen=True)
class PopulationSpec:
    path: Path
    units: str = "count"
    scale: float = 1.0
    field: str | None = None
    title: str = "Population"

    @property
    def kind(self) -> str:
        return "vector" if self.field else "raster"


@dataclass(frozen=True)
class BoundarySpec:
    id: str
    title: str
    path: Path
    name_field: str | list[str]
    id_field: str | None = None
    layer: str | None = None


RASTER_SUFFIXES = (".tif", ".tiff", ".asc", ".vrt", ".img", ".nc", ".bil", ".flt")


class Area:
    """A parsed, validated ``area.toml`` and lazy access to its layers."""

    def __init__(self, toml_path: Path, config: dict[str, Any]):
        self.toml_path = toml_path
        self.root = toml_path.parent
        self.config = config
        meta = config.get("area", {})
        self.name: str = meta.get("name", self.root.name)
        self.title: str = meta.get("title", self.name)
        self.hazards = [self._hazard(i, h) for i, h in enumerate(config.get("hazard", []))]
        ids = [h.id for h in self.hazards]
        for dup in {i for i in ids if ids.count(i) > 1}:
            raise AreaConfigError(f"hazard id '{dup}' is used twice", key="hazard.id", path=str(toml_path))
        self.population = self._population(config.get("population"))
        self.boundaries = [self._boundary(i, b) for i, b in enumerate(config.get("boundaries", []))]
        self.shelters: dict[str, Any] = config.get("shelters", {})
        self.evacuation: dict[str, Any] = config.get("evacuation", {})
        self.precarity: dict[str, Any] = config.get("precarity", {})
        self.reports: dict[str, Any] = config.get("reports", {})
        layers = config.get("layers", {})
        self.osm_path = self._file("layers.io.osm", layers.get("osm")) if "osm" in layers else None
        self.buildings_path = self._file("layers.buildings", layers.get("buildings")) if "buildings" in layers else None
        self.roads_path = self._file("layers.roads", layers.get("roads")) if "roads" in layers else None
        self.facilities_path = (
            self._file("layers.facilities", layers.get("facilities")) if "facilities" in layers else None
        )
        if not (self.osm_path or self.buildings_path):
            raise AreaConfigError(
                "an area needs buildings: set layers.buildings or layers.io.osm", key="layers", path=str(toml_path)
            )
        if "crs" in meta:
            try:
                self._crs = check_metric(meta["crs"], what="area.crs")
            except GeoappError as exc:
                raise AreaConfigError(str(exc), key="area.crs", path=str(toml_path)) from None
        else:
            self._crs = None

    # -- parsing helpers -------------------------------------------------
    def _err(self, message: str, key: str) -> AreaConfigError:
        return AreaConfigError(message, key=key, path=str(self.toml_path))

    def _file(self, key: str, value: str) -> Path:
        path = (self.root / value).resolve()
        if not path.exists():
            raise self._err(f"file '{value}' does not exist (looked for {path})", key)
        return path

    def _hazard(self, i: int, h: dict) -> HazardSpec:
        key = f"hazard[{i}]"
        path = self._file(f"{key}.file", h["file"])
        kind = "raster" if path.suffix.lower() in RASTER_SUFFIXES else "vector"
        if kind == "vector" and "field" not in h:
            raise self._err("a vector hazard needs 'field', the attribute holding its class or value", f"{key}.field")
        try:
            classes = parse_classes(h.get("classes", DEFAULT_FLOOD_CLASSES))
            displacement = parse_displacement(h.get("displacement"), classes)
        except GeoappError as exc:
            raise self._err(
                str(exc), f"{key}.classes" if "displacement" not in str(exc) else f"{key}.displacement"
            ) from None
        return HazardSpec(
            id=h["id"],
            title=h.get("title", h["id"]),
            path=path,
            kind=kind,
            classes=classes,
            units=h.get("units", "m"),
            field=h.get("field"),
            layer=h.get("layer"),
            displacement=displacement,
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
        return PopulationSpec(
            self._file("population.file", p["file"]), units, scale, p.get("field"), p.get("title", "Population")
        )

    def _boundary(self, i: int, b: dict) -> BoundarySpec:
        return BoundarySpec(
            id=b["id"],
            title=b.get("title", b["id"]),
            path=self._file(f"boundaries[{i}].file", b["file"]),
            name_field=b["name_field"],
            id_field=b.get("id_field"),
            layer=b.get("layer"),
        )

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

        src = self.buildings_path or self.osm_path
        info = pyogrio.read_info(src, layer="multipolygons" if src == self.osm_path else None)
        return gpd.GeoSeries([box(*info["total_bounds"])], crs=info["crs"])

    @property
    def default_build_path(self) -> Path:
        return self.root / "build" / "area.gpkg"

    def hazard(self, hazard_id: str | None = None) -> HazardSpec:
        if not self.hazards:
            raise NotFoundError(
                f"area '{self.name}' has no hazard scenario; add a [[hazard]] table to {self.toml_path}"
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
            raise NotFoundError(f"area '{self.name}' has no boundaries; add a [[boundaries]] table to {self.toml_path}")
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
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    # -- layers (cached) --------------------------------------------------
    @cached_property
    def _buildings_raw(self) -> gpd.GeoDataFrame:
        from layers.io.vectors import read_vector

        return read_vector(self.buildings_path, what="buildings")

    def buildings(self) -> gpd.GeoDataFrame:
        return self._buildings.copy()

    @cached_property
    def _buildings(self) -> gpd.GeoDataFrame:
        from layers.io.osm import buildings_from_osm
        from layers.io.vectors import buildings_from_frame

        if self.buildings_path:
            return buildings_from_frame(self._buildings_raw, crs=self.crs, source=str(self.buildings_path))
        return buildings_from_osm(self.osm_path, crs=self.crs)

    def roads(self) -> gpd.GeoDataFrame:
        return self._roads.copy()

    @cached_property
    def _roads(self) -> gpd.GeoDataFrame:
        from layers.io.osm import roads_from_osm
        from layers.io.vectors import roads_from_file

        if self.roads_path:
            return roads_from_file(self.roads_path, crs=self.crs)
        if self.osm_path:
            return roads_from_osm(self.osm_path, crs=self.crs)
        raise NotFoundError(f"area '{self.name}' has no roads; set layers.roads or layers.io.osm in {self.toml_path}")

    def facilities(self) -> gpd.GeoDataFrame:
        return self._facilities.copy()

    @cached_property
    def _facilities(self) -> gpd.GeoDataFrame:
        from layers.io.osm import facilities_from_osm
        from layers.io.vectors import facilities_from_buildings, facilities_from_file

        if self.facilities_path:
            field = self.config.get("layers", {}).get("facilities_category_field")
            return facilities_from_file(self.facilities_path, crs=self.crs, category_field=field)
        if self.buildings_path:
            return facilities_from_buildings(self._buildings_raw, crs=self.crs, source=str(self.buildings_path))
        return facilities_from_osm(self.osm_path, crs=self.crs)

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

    def __repr__(self) -> str:
        return f"Area({self.name!r}, {self.toml_path})"


def load_area(path: str | Path) -> Area:
    """Parse and validate an area folder (or its ``area.toml``)."""
    path = Path(path)
    toml_path = path / "area.toml" if path.is_dir() else path
    if not toml_path.exists():
        raise AreaConfigError(
            f"no area.toml at {toml_path}; an area is a folder with an area.toml", path=str(toml_path)
        )
    try:
        config = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AreaConfigError(f"not valid TOML: {exc}", path=str(toml_path)) from None
    _validate(config, toml_path)
    return Area(toml_path.resolve(), config)


def _validate(config: dict, toml_path: Path) -> None:
    for section, value in config.items():
        if section not in SCHEMA:
            raise AreaConfigError(
                f"unknown section; known sections are {sorted(SCHEMA)}", key=section, path=str(toml_path)
            )
        if section in ARRAYS:
            if isinstance(value, dict):
                value = [value]
                config[section] = value
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise AreaConfigError(
                    f"'{section}' must be written as [[{section}]] tables", key=section, path=str(toml_path)
                )
            for i, table in enumerate(value):
                _validate_table(table, section, f"{section}[{i}]", toml_path)
        elif not isinstance(value, dict):
            raise AreaConfigError(f"'{section}' must be a [{section}] table", key=section, path=str(toml_path))
        else:
            _validate_table(value, section, section, toml_path)


def _validate_table(table: dict, section: str, where: str, toml_path: Path) -> None:
    allowed = SCHEMA[section]
    for key, value in table.items():
        if key not in allowed:
            raise AreaConfigError(
                f"unknown key; allowed keys in [{section}] are {sorted(allowed)}",
                key=f"{where}.{key}",
                path=str(toml_path),
            )
        expected = allowed[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            names = "/".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise AreaConfigError(
                f"value {value!r} should be of type {names}", key=f"{where}.{key}", path=str(toml_path)
            )
    for key in REQUIRED.get(section, ()):
        if key not in table:
            raise AreaConfigError(f"missing required key '{key}'", key=f"{where}.{key}", path=str(toml_path))
