"""The settings of an ``area.toml`` as typed, frozen objects, and every default written once.

The constants below are the one place each default lives: the analyses import
them for their keyword defaults and the CLI for its option defaults, so a
default changed here changes everywhere.

File keys (``[layers]`` ``buildings``/``roads``/``facilities``/``osm``, and
``file`` in ``[[hazard]]``, ``[population]``, ``[[boundaries]]``) name a file
relative to the area folder. A layer of a multi-layer file is named either in
a table, ``buildings = {file = "build.gpkg", layer = "buildings"}`` (in
``[[hazard]]``/``[population]``/``[[boundaries]]``: the sibling ``layer``
key), or as ``"build.gpkg:buildings"``; without one, the loader picks the one
layer whose geometry fits and warns which (see :mod:`layers.io.sources`).

Sections are also read-only mappings (``settings.get("walk_speed_m_s")``) so
code written against the old dict sections keeps working; new code reads the
attributes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from layers.errors import AreaConfigError, InvalidInputError
from layers.hazard.classes import ClassScheme

# -- defaults (the one place each is written) ---------------------------------
WALK_SPEED_M_S = 1.0
MIN_WALK_SPEED_M_S = 0.05  # 180 m an hour: slower is no walk, and times over a city overflow
MAX_WALK_DEPTH_M = 0.5  # deeper water closes a street to walkers
MAX_DRIVE_DEPTH_M = 0.3  # deeper water closes a road to cars and ambulances
PEOPLE_PER_BUILDING = 4.0  # without a population layer: one household per building
ISOCHRONE_MINUTES = (5, 10, 15, 30)
M2_PER_PERSON = 3.5  # SPHERE minimum covered living space per person
OPEN_SPACE_M2_PER_PERSON = 2.0  # earthquake assembly areas (parks, squares): people standing, not housed
DEBRIS_DISTANCE_M = 5.0  # earthquake: road edges this near a heavily damaged building may be blocked by debris
DEFAULT_SHELTER_CATEGORIES = ("school", "place_of_worship", "community_centre", "shelter")
H3_RESOLUTION = 9  # ~0.1 km2 cells
PRECARITY_THRESHOLD = 0.6
PRECARITY_CLASSES = 5  # quintiles
ROAD_DISTANCE_M = 50.0  # a building further from a vehicle road counts as far from one
POPULATION_UNITS = ("count", "per_km2", "per_ha")
OUTSIDE_AREA = ("flag", "reject")
ACCESS_LEVELS = ("public", "partner", "private")  # who may see a built layer, least to most restricted
DEFAULT_ACCESS = "public"
# Built layers that hold people per building (evacuation_buildings.people, unreachable.people by building_id):
# partner unless area.toml's [access] names them.
PEOPLE_PER_BUILDING_LAYERS = ("evacuation_buildings", "unreachable")
CLOSURE_DISTANCE_M = 15.0  # a road_closed / evacuation_obstacle report closes the road edges this near it
DRY_REPORT_MIN_DEPTH_M = 0.5  # a "no water here" report is listed where the model says at least this deep
STALE_INPUT_DAYS = 365  # inputs whose data is older than this are flagged on the dashboard and in exports
# Country scale (layers/io/datasets.py, layers/hazard/chunked.py, layers/precarity/chunked.py, layers/distributed.py)
OPEN_BUILDINGS_MIN_CONFIDENCE = 0.7  # Google Open Buildings: footprints below this confidence are dropped
CHUNK_BUILDINGS = 250_000  # buildings per chunk when analyses stream their inputs (bounds the memory)
DASK_SCHEDULER_ENV = "GEOAPP_DASK_SCHEDULER"  # a dask.distributed scheduler address runs them on a cluster


class Section(Mapping[str, Any]):
    """Read-only mapping over a settings dataclass's fields that are set (not None)."""

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, None) if key in _field_names(self) else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in _field_names(self) if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _field_names(obj: object) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(obj))  # type: ignore[arg-type]


@dataclass(frozen=True)
class FileRef:
    """A file and, for a multi-layer file, the layer to read (None: let the loader choose)."""

    path: Path
    layer: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.layer}" if self.layer else str(self.path)


@dataclass(frozen=True, eq=False)
class LayerSettings(Section):
    """``[layers]``: the area's vector inputs."""

    buildings: FileRef | None = None
    roads: FileRef | None = None
    facilities: FileRef | None = None
    osm: FileRef | None = None
    facilities_category_field: str | None = None


@dataclass(frozen=True, eq=False)
class ShelterSettings(Section):
    """``[shelters]``: which facilities shelter people and how many."""

    categories: tuple[str, ...] = DEFAULT_SHELTER_CATEGORIES
    capacity_field: str | None = None
    m2_per_person: float = M2_PER_PERSON
    default_capacity: float | None = None  # None: shelters of unknown capacity are unlimited


@dataclass(frozen=True, eq=False)
class EvacuationSettings(Section):
    """``[evacuation]``: walking, driving and isochrone settings."""

    walk_speed_m_s: float = WALK_SPEED_M_S
    max_walk_depth_m: float = MAX_WALK_DEPTH_M
    max_drive_depth_m: float = MAX_DRIVE_DEPTH_M
    drive_speed_kph: float | None = None  # None: speeds by road class
    people_per_building: float = PEOPLE_PER_BUILDING
    isochrones_min: tuple[float, ...] = ISOCHRONE_MINUTES
    closure_distance_m: float = CLOSURE_DISTANCE_M


@dataclass(frozen=True, eq=False)
class PrecaritySettings(Section):
    """``[precarity]``: the grid, the weights and the classes of the index."""

    h3_resolution: int = H3_RESOLUTION
    weights: Mapping[str, float] | None = None  # None: the index's default weights
    threshold: float = PRECARITY_THRESHOLD
    classes: int = PRECARITY_CLASSES
    road_distance_m: float = ROAD_DISTANCE_M
    hazards: Mapping[str, float] | None = None  # scenario id -> weight in hazard_score (None: the first scenario)


@dataclass(frozen=True, eq=False)
class ReportSettings(Section):
    """``[reports]`` as written; :class:`layers.reports.config.ReportConfig` parses and defaults it."""

    categories: list[Any] | dict[str, Any] | None = None
    blur_m: float | dict[str, float] | None = None
    outside_area: str | None = None


@dataclass(frozen=True)
class HazardSpec:
    """One ``[[hazard]]`` scenario: a raster of values or vector zones with a class field."""

    id: str
    title: str
    path: Path
    kind: str  # "raster" or "vector"
    classes: ClassScheme
    units: str = "m"
    field: str | None = None
    layer: str | None = None
    displacement: dict[str, float] = dc_field(default_factory=dict)
    hazard_kind: str = "flood"  # toml key `kind`: flood, tsunami, earthquake, ... (layers/hazard/kinds/)
    classes_given: bool = True  # False: the kind's default classes (text ones are chosen for text zones)
    radii_km: tuple[float, ...] = ()  # volcano vent points: ring radii (default 3, 5, 10 km)


@dataclass(frozen=True)
class PopulationSpec:
    """``[population]``: a count/density raster, or census polygons with a ``field``."""

    path: Path
    units: str = "count"
    scale: float = 1.0
    field: str | None = None
    title: str = "Population"
    layer: str | None = None

    @property
    def kind(self) -> str:
        return "vector" if self.field else "raster"


@dataclass(frozen=True)
class BoundarySpec:
    """One ``[[boundaries]]`` set of aggregation units."""

    id: str
    title: str
    path: Path
    name_field: str | list[str]
    id_field: str | None = None
    layer: str | None = None


def _positive(value: float, key: str, path: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise AreaConfigError(f"{value!r} must be a positive number", key=key, path=path)
    return float(value)


def check_walk_speed(value: float, *, what: str = "walk speed") -> float:
    """``value`` (m/s) when finite and at least MIN_WALK_SPEED_M_S, else InvalidInputError naming ``what``."""
    if not (math.isfinite(value) and value >= MIN_WALK_SPEED_M_S):
        raise InvalidInputError(f"{what} {value!r} m/s must be a finite number of at least {MIN_WALK_SPEED_M_S}")
    return float(value)


def shelter_settings(table: dict[str, Any], path: str) -> ShelterSettings:
    base = ShelterSettings()
    default_capacity = table.get("default_capacity")
    return ShelterSettings(
        categories=tuple(str(c) for c in table.get("categories", base.categories)),
        capacity_field=table.get("capacity_field"),
        m2_per_person=_positive(table.get("m2_per_person", base.m2_per_person), "shelters.m2_per_person", path),
        default_capacity=None if default_capacity is None else float(default_capacity),
    )


def evacuation_settings(table: dict[str, Any], path: str) -> EvacuationSettings:
    base = EvacuationSettings()
    numbers = {
        key: _positive(table.get(key, getattr(base, key)), f"evacuation.{key}", path)
        for key in (
            "walk_speed_m_s",
            "max_walk_depth_m",
            "max_drive_depth_m",
            "people_per_building",
            "closure_distance_m",
        )
    }
    try:
        check_walk_speed(numbers["walk_speed_m_s"])
    except InvalidInputError as exc:
        raise AreaConfigError(str(exc), key="evacuation.walk_speed_m_s", path=path) from None
    drive = table.get("drive_speed_kph")
    bands = tuple(table.get("isochrones_min", base.isochrones_min))
    for band in bands:
        if isinstance(band, bool) or not isinstance(band, (int, float)):
            raise AreaConfigError(f"{band!r} is not a number of minutes", key="evacuation.isochrones_min", path=path)
        _positive(band, "evacuation.isochrones_min", path)
    return EvacuationSettings(
        **numbers,
        drive_speed_kph=None if drive is None else _positive(drive, "evacuation.drive_speed_kph", path),
        isochrones_min=bands,
    )


def precarity_settings(table: dict[str, Any], path: str) -> PrecaritySettings:
    out = PrecaritySettings(
        h3_resolution=table.get("h3_resolution", H3_RESOLUTION),
        weights=table.get("weights"),
        threshold=float(table.get("threshold", PRECARITY_THRESHOLD)),
        classes=int(table.get("classes", PRECARITY_CLASSES)),
        road_distance_m=float(table.get("road_distance_m", ROAD_DISTANCE_M)),
        hazards=table.get("hazards"),
    )
    checks = {
        "h3_resolution": (0 <= out.h3_resolution <= 15, "must be between 0 and 15 (9 ≈ 0.1 km² cells)"),
        "threshold": (0 < out.threshold <= 1, "must be in (0, 1]: it is compared with the index"),
        "classes": (out.classes >= 2, "must be at least 2 (5 = quintiles)"),
        "road_distance_m": (out.road_distance_m > 0, "must be a positive distance in metres"),
    }
    for key, (ok, why) in checks.items():
        if not ok:
            raise AreaConfigError(f"{table[key]!r} {why}", key=f"precarity.{key}", path=path)
    return out


@dataclass(frozen=True)
class AccessSettings:
    """``[access]``: ``default`` and one level per built layer name (public, partner, private)."""

    default: str = DEFAULT_ACCESS
    layers: Mapping[str, str] = dc_field(default_factory=dict)

    def level(self, layer: str) -> str:
        """A layer's level: as written, else the stricter of ``default`` and its built-in default."""
        if layer in self.layers:
            return self.layers[layer]
        builtin = "partner" if layer in PEOPLE_PER_BUILDING_LAYERS else DEFAULT_ACCESS
        return max(self.default, builtin, key=ACCESS_LEVELS.index)


def access_settings(table: dict[str, Any], path: str) -> AccessSettings:
    levels = {}
    for key, value in table.items():
        if value not in ACCESS_LEVELS:
            raise AreaConfigError(
                f"access level {value!r} must be one of {', '.join(ACCESS_LEVELS)}", key=f"access.{key}", path=path
            )
        levels[key] = value
    default = levels.pop("default", DEFAULT_ACCESS)
    return AccessSettings(default, levels)


def report_settings(table: dict[str, Any]) -> ReportSettings:
    return ReportSettings(
        categories=table.get("categories"), blur_m=table.get("blur_m"), outside_area=table.get("outside_area")
    )


# -- the shape of area.toml: allowed keys per section and their types ---------
NUM = (int, float)
FILE = (str, dict)  # "x.gpkg", "x.gpkg:layer" or {file = "x.gpkg", layer = "name"}
SCHEMA: dict[str, dict[str, Any]] = {
    "area": {"name": str, "title": str, "crs": str, "description": str, "licence": str, "source": str},
    "layers": {"buildings": FILE, "roads": FILE, "facilities": FILE, "osm": FILE, "facilities_category_field": str},
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
        "kind": str,
        "radii_km": list,
    },
    "population": {"file": str, "units": str, "scale": NUM, "field": str, "title": str, "layer": str},
    "boundaries": {"id": str, "title": str, "file": str, "name_field": (str, list), "id_field": str, "layer": str},
    "shelters": {"categories": list, "capacity_field": str, "m2_per_person": NUM, "default_capacity": NUM},
    "evacuation": {
        "walk_speed_m_s": NUM,
        "max_walk_depth_m": NUM,
        "max_drive_depth_m": NUM,
        "drive_speed_kph": NUM,
        "people_per_building": NUM,
        "isochrones_min": list,
        "closure_distance_m": NUM,
    },
    "precarity": {
        "h3_resolution": int,
        "weights": dict,
        "threshold": NUM,
        "classes": int,
        "road_distance_m": NUM,
        "hazards": dict,
    },
    "reports": {"categories": (list, dict), "blur_m": (NUM, dict), "outside_area": str},
    "access": {},  # keys are layer names (and ``default``); checked by access_settings
}
ARRAYS = {"hazard", "boundaries"}  # sections written as [[hazard]] / [[boundaries]]
REQUIRED = {"hazard": ("id", "file"), "boundaries": ("id", "file", "name_field"), "population": ("file",)}
FILE_TABLE = {"file": str, "layer": str}


def validate(config: dict[str, Any], toml_path: Path) -> None:
    """Check sections, keys and value types; ``[[array]]`` sections written once as ``[x]`` become lists."""
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
                _validate_table(table, SCHEMA[section], REQUIRED.get(section, ()), f"{section}[{i}]", toml_path)
        elif not isinstance(value, dict):
            raise AreaConfigError(f"'{section}' must be a [{section}] table", key=section, path=str(toml_path))
        elif section != "access":
            _validate_table(value, SCHEMA[section], REQUIRED.get(section, ()), section, toml_path)
    for key, value in config.get("layers", {}).items():
        if isinstance(value, dict):
            _validate_table(value, FILE_TABLE, ("file",), f"layers.{key}", toml_path)


def _validate_table(
    table: dict[str, Any], allowed: dict[str, Any], required: tuple[str, ...], where: str, toml_path: Path
) -> None:
    for key, value in table.items():
        if key not in allowed:
            raise AreaConfigError(
                f"unknown key; allowed keys here are {sorted(allowed)}", key=f"{where}.{key}", path=str(toml_path)
            )
        expected = allowed[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            names = "/".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise AreaConfigError(
                f"value {value!r} should be of type {names}", key=f"{where}.{key}", path=str(toml_path)
            )
    for key in required:
        if key not in table:
            raise AreaConfigError(f"missing required key '{key}'", key=f"{where}.{key}", path=str(toml_path))


__all__ = [
    "DEFAULT_SHELTER_CATEGORIES",
    "H3_RESOLUTION",
    "ISOCHRONE_MINUTES",
    "M2_PER_PERSON",
    "MAX_DRIVE_DEPTH_M",
    "MAX_WALK_DEPTH_M",
    "PEOPLE_PER_BUILDING",
    "PRECARITY_CLASSES",
    "PRECARITY_THRESHOLD",
    "ROAD_DISTANCE_M",
    "WALK_SPEED_M_S",
    "BoundarySpec",
    "EvacuationSettings",
    "HazardSpec",
    "FileRef",
    "LayerSettings",
    "PopulationSpec",
    "PrecaritySettings",
    "ReportSettings",
    "ShelterSettings",
]
