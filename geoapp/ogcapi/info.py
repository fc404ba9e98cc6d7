"""What the OGC API knows of each collection before reading it: :class:`LayerInfo`, from a build or for reports.

Framework-free: the facts of a built GeoPackage are read once per file version
(path and modification time) and kept in a small cache of this module.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pyproj import CRS

from layers.publish import features
from layers.publish.export import list_layers

REPORTS = "field_reports"
REPORTS_TIME_FIELD = "observed_at"
REPORTS_DTYPES = {
    "id": "string",
    "category": "string",
    "description": "string",
    "severity": "string",
    "observed_at": "datetime",
    "status": "string",
    "source": "string",
    "has_photo": "boolean",
}


@dataclass(frozen=True)
class LayerInfo:
    name: str
    title: str
    description: str
    geometry_type: str
    crs: CRS
    features: int | None  # None when it depends on the caller (field reports)
    fields: list[str]
    bbox_wgs84: tuple[float, float, float, float] | None
    time_field: str | None = None
    dtypes: dict[str, str] = field(default_factory=dict)


def build_layers(path: Path, titles: Mapping[str, str]) -> dict[str, LayerInfo]:
    """Every layer of a built GeoPackage by name, in build order ({} when there is no build)."""
    if not path.exists():
        return {}
    out = {}
    for name, info in _read_build(str(path), path.stat().st_mtime_ns):
        out[name] = replace(info, title=titles.get(name) or info.title)
    return unique_titles(out)


def unique_titles(layers: dict[str, LayerInfo]) -> dict[str, LayerInfo]:
    """Layers whose titles repeat get their name added (clients list collections by title)."""
    seen: dict[str, int] = {}
    for info in layers.values():
        seen[info.title] = seen.get(info.title, 0) + 1
    return {n: replace(i, title=f"{i.title} ({n})") if seen[i.title] > 1 else i for n, i in layers.items()}


@functools.lru_cache(maxsize=8)
def _read_build(path: str, _mtime_ns: int) -> tuple[tuple[str, LayerInfo], ...]:
    out = []
    for layer in list_layers(path):
        name = layer["name"]
        facts = features.layer_facts(path, name)
        title = name.replace("_", " ").capitalize()
        out.append(
            (
                name,
                LayerInfo(
                    name,
                    title,
                    layer["description"],
                    layer["geometry_type"],
                    facts.crs,
                    facts.features,
                    facts.fields,
                    facts.bbox_wgs84,
                    None,
                    facts.dtypes,
                ),
            )
        )
    return tuple(out)


def reports_info(title: str, description: str, bbox_wgs84: tuple[float, float, float, float] | None) -> LayerInfo:
    """The field-reports collection: points in EPSG:4326, the count depends on who asks."""
    return LayerInfo(
        REPORTS,
        title,
        description,
        "Point",
        CRS.from_epsg(4326),
        None,
        list(REPORTS_DTYPES),
        bbox_wgs84,
        REPORTS_TIME_FIELD,
        dict(REPORTS_DTYPES),
    )
