"""What a web map shows of an area: its layers, scenarios, styles and the page settings.

:class:`MapData` finds which layers exist (the built GeoPackage when there is
one, else the area's inputs), serves each as :class:`~layers.publish.tiles.TileIndex`
tiles per hazard scenario, and describes them for the map page. Each layer
appears when its analysis exists: a layer whose sources are all absent is
simply not listed. The layers themselves are listed in :mod:`.maplayers`; the
standalone HTML map is written by :mod:`.standalone`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.area import Area, HazardSpec
from layers.errors import InvalidInputError, NotFoundError
from layers.hazard.kinds import foreign_columns, get_kind
from layers.publish.maplayers import (
    CATALOGUE,
    COMBINED,
    REPORT_COLUMNS,
    REPORTS,
    TITLES,
    WebLayer,
    boundary_layer,
)
from layers.publish.render import Overlay, hazard_overlay, legend, overlay_bounds
from layers.publish.styles import CATEGORY_COLOURS, NOT_AFFECTED_COLOUR, OTHER_CATEGORY_COLOUR, class_colours
from layers.publish.tiles import TileIndex

__all__ = [
    "REPORTS",
    "TITLES",
    "MapData",
    "WebLayer",
    "dumps",
    "page_config",
    "reports_index",
    "scenario_overlay",
    "styles",
]


class MapData:
    """The layers of one area for web maps, read once and cached.

    Parameters
    ----------
    area
        The loaded area (its inputs are the fallback when the build is absent).
    built
        The GeoPackage written by ``geoapp build``; may not exist (yet).
    """

    def __init__(self, area: Area | None, built: str | Path | None = None):
        if area is None and built is None:
            raise InvalidInputError("a web map needs an area or a built GeoPackage")
        self.area = area
        self.built = Path(built) if built else area.default_build_path  # type: ignore[union-attr]  # checked above
        self.built_layers = set(pyogrio.list_layers(self.built)[:, 0]) if self.built.exists() else set()
        self._frames: dict[str, gpd.GeoDataFrame] = {}
        self._field_cache: dict[str, list[str]] = {}
        self._boundaries_in_areas: set[str] | None = None
        self._lock = threading.RLock()
        self._indexes: dict[tuple[str, str | None], TileIndex] = {}
        self.layers: dict[str, WebLayer] = {}
        for spec in sorted(self._catalogue(), key=lambda s: s.order):
            if self._find_source(spec) is not None:
                self.layers[spec.name] = spec

    def boundary_ids(self) -> list[str]:
        """Boundary sets: the area's, else those the GeoPackage holds (``boundaries_<id>`` layers)."""
        if self.area is not None:
            return [b.id for b in self.area.boundaries]
        return sorted(n.removeprefix("boundaries_") for n in self.built_layers if n.startswith("boundaries_"))

    def _catalogue(self) -> list[WebLayer]:
        return [*CATALOGUE, *(boundary_layer(b, i == 0) for i, b in enumerate(self.boundary_ids())), COMBINED]

    # -- sources ------------------------------------------------------------
    def _inputs(self) -> dict[str, Callable[[], gpd.GeoDataFrame]]:
        if self.area is None:
            return {}
        area = self.area
        loaders: dict[str, Callable[[], gpd.GeoDataFrame]] = {
            "buildings": area.buildings,
            "facilities": area.facilities,
        }
        if area.roads_path or area.osm_path:
            loaders["roads"] = area.roads
        for b in area.boundaries:
            loaders[f"boundaries_{b.id}"] = partial(area.boundary_layer, b.id)
        return loaders

    def _source(self, spec: WebLayer) -> str:
        """The source of a listed layer (every layer in :attr:`layers` has one)."""
        source = self._find_source(spec)
        if source is None:
            raise NotFoundError(f"map layer '{spec.name}' has no source in {self.built}")
        return source

    def _find_source(self, spec: WebLayer) -> str | None:
        for name in spec.sources:
            if name == "exposure_areas" and name in self.built_layers:
                if "boundary" in self._fields(name):
                    if spec.name.removeprefix("boundaries_") in self._boundary_values():
                        return name
                    continue
                if spec.name != f"boundaries_{self.boundary_ids()[0]}":
                    continue
                return name
            if name in self.built_layers:
                return name
            if not self.built_layers and name in self._inputs():
                return name
        return None

    def _fields(self, source: str) -> list[str]:
        """Column names of a source, without reading its rows."""
        if source in self.built_layers:
            if source not in self._field_cache:
                self._field_cache[source] = list(pyogrio.read_info(self.built, layer=source)["fields"])
            return self._field_cache[source]
        return list(self._frame(source).columns)

    def _boundary_values(self) -> set[str]:
        """The boundary sets ``exposure_areas`` has figures for."""
        if self._boundaries_in_areas is None:
            col = pyogrio.read_dataframe(self.built, layer="exposure_areas", columns=["boundary"], read_geometry=False)
            self._boundaries_in_areas = set(col["boundary"].dropna().astype(str))
        return self._boundaries_in_areas

    def _frame(self, source: str) -> gpd.GeoDataFrame:
        if source not in self._frames:
            if source in self.built_layers:
                self._frames[source] = pyogrio.read_dataframe(self.built, layer=source)
            else:
                self._frames[source] = self._inputs()[source]()
        return self._frames[source]

    def frame(self, name: str, scenario: str | None = None) -> gpd.GeoDataFrame:
        """The rows of web layer ``name`` for ``scenario`` (when the layer is per scenario)."""
        spec = self._spec(name)
        source = self._source(spec)
        frame = self._frame(source)
        if source == "exposure_areas" and "boundary" in frame.columns:
            frame = frame[frame["boundary"] == name.removeprefix("boundaries_")]
        if "scenario" in frame.columns:
            scenario = scenario or self.scenarios()[0]
            frame = frame[frame["scenario"] == scenario]
        return frame

    def _spec(self, name: str) -> WebLayer:
        if name not in self.layers:
            raise NotFoundError(f"no map layer '{name}' in this area; layers are {sorted(self.layers)}")
        return self.layers[name]

    def per_scenario(self, name: str) -> bool:
        return "scenario" in self._fields(self._source(self._spec(name)))

    def scenarios(self) -> list[str]:
        """Hazard scenario ids: the area's, else those found in the layers' ``scenario`` columns."""
        if self.area is not None:
            return [h.id for h in self.area.hazards]
        found: list[str] = []
        for spec in self.layers.values():
            if self.per_scenario(spec.name):
                frame = self._frame(self._source(spec))
                found += [v for v in pd.unique(frame["scenario"].dropna()) if v not in found]
        return found

    def index(self, name: str, scenario: str | None = None) -> TileIndex:
        """The tile index of web layer ``name`` (per scenario when the layer has one)."""
        if scenario is not None and scenario not in self.scenarios():
            raise NotFoundError(f"no hazard scenario '{scenario}'; scenarios are {self.scenarios()}")
        key = (name, scenario if self.per_scenario(name) else None)
        if key not in self._indexes:
            with self._lock:  # a page asks for many tiles at once: build each index once, not once per request
                if key not in self._indexes:
                    spec = self._spec(name)
                    frame = self.frame(name, scenario)
                    props = list(spec.properties) + [
                        c for c in (spec.style, spec.size) if c and c not in spec.properties
                    ]
                    self._indexes[key] = TileIndex(frame, properties=props, id_column=spec.id_column, group=spec.group)
        return self._indexes[key]

    # -- description for the page -----------------------------------------
    def describe(self) -> list[dict]:
        """Each available layer: name, kind, style, size (and ``size_max``, its 95th percentile), popup columns,
        whether on by default and per scenario, source."""
        out = []
        for s in self.layers.values():
            source = self._source(s)
            row: dict = {
                "name": s.name,
                "kind": s.kind,
                "style": s.style,
                "size": s.size,
                "default_on": s.default_on,
                "popup": list(s.popup),
                "per_scenario": self.per_scenario(s.name),
                "source": source,
            }
            if s.size and s.size in self._fields(source):
                values = pd.to_numeric(self._frame(source)[s.size], errors="coerce").dropna()
                row["size_max"] = float(values.quantile(0.95)) if len(values) else None
            out.append(row)
        return out

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in EPSG:4326 of the buildings, else of the first boundary set."""
        for name in ["buildings"] + [f"boundaries_{b}" for b in self.boundary_ids()] + list(self.layers):
            if name in self.layers:
                b = self.index(name).bounds()
                if b:
                    return b
        raise NotFoundError(f"{self.built} has no layer with features to centre a map on")


def reports_index(reports: gpd.GeoDataFrame) -> TileIndex:
    """Tiles of published field reports (already in their public view), with the columns the map shows."""
    frame = reports[[c for c in REPORT_COLUMNS if c in reports.columns] + [reports.geometry.name]]
    return TileIndex(frame, properties=list(REPORTS.properties), id_column=REPORTS.id_column, group=REPORTS.group)


def scenario_overlay(spec: HazardSpec) -> Overlay:
    """The rendered overlay of a hazard scenario, cached while its file is unchanged."""
    measure = get_kind(spec.hazard_kind).measure  # blues for water, purples for the other hazards
    return _overlay(spec.path, spec.path.stat().st_mtime, spec.classes, spec.field, spec.layer, spec.units, measure)


@lru_cache(maxsize=16)
def _overlay(
    path: Path, _mtime: float, classes, field: str | None, layer: str | None, units: str, measure: str = "depth"
) -> Overlay:
    return hazard_overlay(path, classes, field=field, layer=layer, units=units, measure=measure)


def page_config(
    data: MapData,
    *,
    overlay_url: Callable[[HazardSpec, Overlay | None], str],
    urls: dict[str, str] | None = None,
    titles: dict[str, str] | None = None,
    strings: dict[str, str] | None = None,
    basemap: dict | None = None,
    extra_layers: Sequence[dict] = (),
) -> dict:
    """Everything the map script needs, as one JSON-ready dict.

    ``overlay_url(spec, overlay)`` gives the image address of a scenario's
    hazard overlay (``overlay`` is already rendered for vector hazards, else
    None); ``titles`` overrides layer titles (translations).
    """
    titles = titles or {}
    hazards = data.area.hazards if data.area is not None else []
    scenarios = []
    for spec in hazards:
        overlay = None
        if spec.kind == "raster":
            measure = get_kind(spec.hazard_kind).measure
            bounds, key = overlay_bounds(spec.path), legend(spec.classes, units=spec.units, measure=measure)
        else:
            overlay = scenario_overlay(spec)
            bounds, key = overlay.bounds, overlay.legend
        w, s, e, n = bounds
        scenarios.append(
            {
                "id": spec.id,
                "title": spec.title,
                "kind": spec.hazard_kind,  # picks the legend words (js_legend_<kind>)
                "units": spec.units,
                "legend": key,
                "overlay": overlay_url(spec, overlay),
                "bounds": [[s, w], [n, e]],
            }
        )
    boundary_titles = {f"boundaries_{b.id}": b.title for b in data.area.boundaries} if data.area is not None else {}
    layers = data.describe() + list(extra_layers)
    for layer in layers:
        name = layer["name"]
        layer["title"] = (
            titles.get(name) or boundary_titles.get(name) or TITLES.get(name) or name.replace("_", " ").capitalize()
        )
    foreign = foreign_columns([h.hazard_kind for h in hazards])  # an earthquake popup lists no water depth
    for layer in layers:
        if layer.get("popup"):
            layer["popup"] = [c for c in layer["popup"] if c not in foreign]
    w, s, e, n = data.bounds()
    class_names = hazards[0].classes.names if hazards else ["low", "medium", "high"]
    return {
        "title": data.area.title if data.area is not None else data.built.stem,
        "bounds": [[s, w], [n, e]],
        "scenarios": scenarios,
        "classes": class_names,
        "layers": layers,
        "styles": styles(class_names),
        "basemap": basemap or {},
        "urls": urls or {},
        "strings": kind_strings(strings or {}, [h.hazard_kind for h in hazards]),
    }


def kind_strings(strings: dict[str, str], kinds_here: list[str]) -> dict[str, str]:
    """The strings in the words of the area's hazard kinds (:func:`layers.hazard.kinds.kind_words`)."""
    from layers.hazard.kinds import kind_words

    return kind_words(strings, kinds_here)


def styles(class_names: list[str]) -> dict:
    """Colours the page needs: per hazard class, per facility category, and the fallbacks."""
    return {
        "classes": class_colours(class_names),
        "not_affected": NOT_AFFECTED_COLOUR,
        "categories": CATEGORY_COLOURS,
        "other_category": OTHER_CATEGORY_COLOUR,
    }


def dumps(obj) -> str:
    """Compact JSON safe to embed in a ``<script>`` element (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
