"""What a web map shows of an area: its layers, scenarios, styles, and a standalone HTML map.

:class:`MapData` finds which layers exist (the built GeoPackage when there is
one, else the area's inputs), serves each as :class:`~layers.publish.tiles.TileIndex`
tiles per hazard scenario, and describes them for the map page. Each layer
appears when its analysis exists: a layer whose sources are all absent is
simply not listed.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.errors import InvalidInputError, NotFoundError
from layers.publish.render import Overlay, hazard_overlay, legend, overlay_bounds
from layers.publish.styles import CATEGORY_COLOURS, NOT_AFFECTED_COLOUR, OTHER_CATEGORY_COLOUR, class_colours
from layers.publish.tiles import TileIndex

from layers.area import Area, HazardSpec


@dataclass(frozen=True)
class WebLayer:
    """One layer of the web map.

    ``sources`` are GeoPackage layer names, first present wins (an analysis
    output before the plain input). ``style`` names the column that colours
    features; ``size`` the one that scales lines or points; ``properties``
    are the columns sent with every feature in tiles (popups ask for the
    whole row on click).
    """

    name: str
    kind: str  # "polygon" | "line" | "point"
    sources: tuple[str, ...]
    id_column: str | None = None
    style: str | None = None
    size: str | None = None
    properties: tuple[str, ...] = ()
    group: str | None = None
    default_on: bool = False
    order: int = 0
    popup: tuple[str, ...] = ()  # columns a popup shows first, in order (all columns when none of them exist)


# Analysis output names and columns as the exposure / evacuation / precarity steps write them.
CATALOGUE: tuple[WebLayer, ...] = (
    WebLayer(
        "precarity_cells",
        "polygon",
        ("precarity_cells",),
        "h3_id",
        style="precarity_index",
        properties=("precarity_index", "rank", "precarity_class"),
        order=1,
        popup=("precarity_index", "rank", "precarity_class", "top_indicators"),
    ),
    WebLayer("unreachable", "polygon", ("unreachable",), order=2),
    WebLayer(
        "roads",
        "line",
        ("exposure_roads", "roads"),
        "road_id",
        style="hazard_class",
        properties=("road_class", "hazard_class"),
        group="hazard_class",
        order=3,
        popup=("name", "road_class", "hazard_class", "depth_max_m", "length_m", "oneway"),
    ),
    WebLayer(
        "buildings",
        "polygon",
        ("exposure_buildings", "buildings"),
        "building_id",
        style="hazard_class",
        properties=("hazard_class", "building_type"),
        group="hazard_class",
        default_on=True,
        order=4,
        popup=("name", "building_type", "hazard_class", "depth_max_m", "flooded_share", "levels", "capacity"),
    ),
    WebLayer(
        "evacuation_routes",
        "line",
        ("evacuation_routes",),
        "edge_id",
        size="people",
        properties=("people",),
        order=5,
        popup=("people", "road_class", "length_m", "depth_max_m"),
    ),
    WebLayer(
        "facilities",
        "point",
        ("exposure_facilities", "facilities"),
        "facility_id",
        style="category",
        properties=("category", "hazard_class"),
        group="category",
        default_on=True,
        order=6,
        popup=("name", "category", "hazard_class", "depth_m", "capacity"),
    ),
    WebLayer(
        "shelters",
        "point",
        ("shelters",),
        "shelter_id",
        style="load_pct",
        size="capacity",
        properties=("capacity", "assigned", "load_pct", "over_capacity", "safe"),
        order=7,
        popup=("name", "category", "capacity", "assigned", "load_pct", "over_capacity", "safe", "buildings"),
    ),
)
REPORTS = WebLayer(
    "reports",
    "point",
    (),
    "id",
    style="category",
    properties=("category",),
    group="category",
    default_on=True,
    order=9,
    popup=("category", "description", "severity", "observed_at", "created_at"),
)
AREA_POPUP = (
    "name",
    "pop_total",
    "pop_affected",
    "displaced",
    "buildings_total",
    "buildings_affected",
    "facilities_affected",
    "facilities_at_risk",
    "roads_affected_km",
)
TITLES = {
    "precarity_cells": "Precarious neighbourhoods",
    "unreachable": "Places without a safe route",
    "roads": "Roads",
    "buildings": "Buildings",
    "evacuation_routes": "Evacuation routes",
    "facilities": "Facilities",
    "shelters": "Shelters",
    "reports": "Field reports",
}


def boundary_layer(boundary_id: str, first: bool) -> WebLayer:
    """The web layer of one boundary set: per-area exposure figures when the build has them."""
    return WebLayer(
        f"boundaries_{boundary_id}",
        "polygon",
        ("exposure_areas", f"boundaries_{boundary_id}"),
        "area_id",
        properties=("name",),
        default_on=first,
        order=8,
        popup=AREA_POPUP,
    )


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
        self.built = Path(built) if built else area.default_build_path
        self.built_layers = set(pyogrio.list_layers(self.built)[:, 0]) if self.built.exists() else set()
        self._frames: dict[str, gpd.GeoDataFrame] = {}
        self._field_cache: dict[str, list[str]] = {}
        self._boundaries_in_areas: set[str] | None = None
        self._lock = threading.RLock()
        self._indexes: dict[tuple[str, str | None], TileIndex] = {}
        self.layers: dict[str, WebLayer] = {}
        for spec in sorted(self._catalogue(), key=lambda s: s.order):
            if self._source(spec) is not None:
                self.layers[spec.name] = spec

    def boundary_ids(self) -> list[str]:
        """Boundary sets: the area's, else those the GeoPackage holds (``boundaries_<id>`` layers)."""
        if self.area is not None:
            return [b.id for b in self.area.boundaries]
        return sorted(n.removeprefix("boundaries_") for n in self.built_layers if n.startswith("boundaries_"))

    def _catalogue(self) -> list[WebLayer]:
        return list(CATALOGUE) + [boundary_layer(b, i == 0) for i, b in enumerate(self.boundary_ids())]

    # -- sources ------------------------------------------------------------
    def _inputs(self) -> dict[str, object]:
        if self.area is None:
            return {}
        loaders = {"buildings": self.area.buildings, "facilities": self.area.facilities}
        if self.area.roads_path or self.area.osm_path:
            loaders["roads"] = self.area.roads
        for b in self.area.boundaries:
            loaders[f"boundaries_{b.id}"] = lambda bid=b.id: self.area.boundary_layer(bid)
        return loaders

    def _source(self, spec: WebLayer) -> str | None:
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
            row = {
                "name": s.name,
                "kind": s.kind,
                "style": s.style,
                "size": s.size,
                "default_on": s.default_on,
                "popup": list(s.popup),
                "per_scenario": self.per_scenario(s.name),
                "source": self._source(s),
            }
            if s.size and s.size in self._fields(row["source"]):
                values = pd.to_numeric(self._frame(row["source"])[s.size], errors="coerce").dropna()
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


def scenario_overlay(spec: HazardSpec) -> Overlay:
    """The rendered overlay of a hazard scenario, cached while its file is unchanged."""
    return _overlay(spec.path, spec.path.stat().st_mtime, spec.classes, spec.field, spec.layer, spec.units)


@lru_cache(maxsize=16)
def _overlay(path: Path, _mtime: float, classes, field: str | None, layer: str | None, units: str) -> Overlay:
    return hazard_overlay(path, classes, field=field, layer=layer, units=units)


def page_config(
    data: MapData,
    *,
    overlay_url: Callable[[HazardSpec, Overlay | None], str],
    urls: dict[str, str] | None = None,
    titles: dict[str, str] | None = None,
    strings: dict[str, str] | None = None,
    basemap: dict | None = None,
    extra_layers: list[dict] = (),
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
            bounds, key = overlay_bounds(spec.path), legend(spec.classes, units=spec.units)
        else:
            overlay = scenario_overlay(spec)
            bounds, key = overlay.bounds, overlay.legend
        w, s, e, n = bounds
        scenarios.append(
            {
                "id": spec.id,
                "title": spec.title,
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
        "strings": strings or {},
    }


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


ASSETS = Path(__file__).resolve().parents[2] / "geoapp" / "static" / "map"


def standalone_map(
    source: MapData | Area | str | Path,
    out_html: str | Path,
    *,
    built: str | Path | None = None,
    zoom: int = 15,
    skip: tuple[str, ...] = ("roads",),
    strings: dict[str, str] | None = None,
    basemap: dict | None = None,
) -> Path:
    """Write one self-contained HTML map: Leaflet, the map script, every layer and the hazard overlays inline.

    ``source`` is a :class:`MapData`, an :class:`~layers.area.Area`, an area
    folder or ``area.toml`` (its build is used when it exists), or a built
    GeoPackage (its area is found beside it, ``<area>/build/area.gpkg``; alone
    it gives a map without hazard overlays); ``built`` names the GeoPackage
    to use with an area given as ``source``. The file opens from disk with no
    server and no network (the background map, when ``basemap`` names one,
    needs the network; without it the map shows a plain background).
    Geometries are simplified for ``zoom``; popups carry the layer's popup
    columns. Layers named in ``skip`` are left out (roads: the background map
    has them, and the exposed road pieces alone would weigh 15 MB for Jakarta).
    """
    data = _map_data(source, built)
    out_html = Path(out_html)
    if strings is None:  # the English interface strings the web app uses
        strings = json.loads((ASSETS.parent.parent / "i18n" / "en.json").read_text(encoding="utf-8"))

    def overlay_url(spec: HazardSpec, overlay: Overlay | None) -> str:
        overlay = overlay or scenario_overlay(spec)
        return "data:image/png;base64," + base64.b64encode(overlay.png).decode("ascii")

    js_strings = {k: v for k, v in strings.items() if k.startswith(("js_", "layer_", "col_", "cat_", "class_"))}
    titles = {k.removeprefix("layer_"): v for k, v in strings.items() if k.startswith("layer_")}
    config = page_config(data, overlay_url=overlay_url, strings=js_strings, titles=titles, basemap=basemap)
    config["layers"] = [layer for layer in config["layers"] if layer["name"] not in skip]
    features: dict[str, dict] = {}
    rows: dict[str, dict] = {}
    for layer in config["layers"]:
        name = layer["name"]
        keys = data.scenarios() if layer["per_scenario"] else [None]
        features[name], rows[name] = {}, {}
        for key in keys:
            index = data.index(name, key)
            features[name][key or ""] = index.collection(zoom=zoom)
            rows[name][key or ""] = index.rows(layer.get("popup", ()))
    config["inline"] = {"features": features, "rows": rows}
    text = strings or {}
    parts = {
        "lang": "en",
        "title": _escape(config["title"]),
        "scenario": _escape(text.get("scenario", "Flood scenario")),
        "depth": _escape(text.get("depth_legend", "Water depth")),
        "layers": _escape(text.get("layers", "What to show")),
        "classes": _escape(text.get("exposure_legend", "Buildings and roads flooded")),
        "leaflet_css": (ASSETS / "vendor" / "leaflet" / "leaflet.css").read_text(encoding="utf-8"),
        "site_css": (ASSETS / "site.css").read_text(encoding="utf-8"),
        "map_css": (ASSETS / "map.css").read_text(encoding="utf-8"),
        "leaflet_js": (ASSETS / "vendor" / "leaflet" / "leaflet.js").read_text(encoding="utf-8"),
        "map_js": (ASSETS / "map.js").read_text(encoding="utf-8"),
        "config": dumps(config),
    }
    html = re.sub(r"@@(\w+)@@", lambda m: parts[m.group(1)], _STANDALONE)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(html, encoding="utf-8")
    return out_html


def _map_data(source: MapData | Area | str | Path, built: str | Path | None = None) -> MapData:
    from layers.area import load_area

    if isinstance(source, MapData):
        return source
    if isinstance(source, Area):
        return MapData(source, built)
    path = Path(source)
    if path.suffix.lower() == ".gpkg":
        if not path.exists():
            raise InvalidInputError(f"built GeoPackage {path} does not exist; run `geoapp build AREA_DIR` first")
        toml = path.parent.parent / "area.toml"
        return MapData(load_area(toml) if toml.exists() else None, path)
    return MapData(load_area(path), built)


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# Leaflet's stylesheet refers to images (layer-control icons, default markers) the map does not use.
_STANDALONE = """<!doctype html>
<html lang="@@lang@@">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@title@@</title>
<style>@@leaflet_css@@</style>
<style>@@site_css@@</style>
<style>@@map_css@@</style>
</head>
<body class="page-map">
<main id="main" class="map-layout">
<aside class="panel" id="panel" aria-label="Map controls">
  <h1>@@title@@</h1>
  <fieldset id="scenarios"><legend>@@scenario@@</legend></fieldset>
  <section><h2>@@depth@@</h2><ul class="legend" id="depth-legend"></ul></section>
  <fieldset id="layers"><legend>@@layers@@</legend></fieldset>
  <section><h2>@@classes@@</h2><ul class="legend" id="class-legend"></ul></section>
  <p class="status" id="map-status" role="status" aria-live="polite"></p>
</aside>
<div id="map" role="region" aria-label="@@title@@" tabindex="0"></div>
</main>
<script type="application/json" id="map-config">@@config@@</script>
<script>@@leaflet_js@@</script>
<script>@@map_js@@</script>
</body>
</html>
"""
