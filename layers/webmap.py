"""What a web map shows of an area: its layers, scenarios, styles, and a standalone HTML map.

:class:`MapData` finds which layers exist (the built GeoPackage when there is
one, else the area's inputs), serves each as :class:`~layers.tiles.TileIndex`
tiles per hazard scenario, and describes them for the map page. Each layer
appears when its analysis exists: a layer whose sources are all absent is
simply not listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio

from ._errors import NotFoundError
from .area import Area
from .styles import CATEGORY_COLOURS, NOT_AFFECTED_COLOUR, OTHER_CATEGORY_COLOUR, class_colours
from .tiles import TileIndex


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


# Analysis output names and columns as the exposure / evacuation / precarity steps write them.
CATALOGUE: tuple[WebLayer, ...] = (
    WebLayer("precarity_cells", "polygon", ("precarity_cells",), "cell_id", style="index_class",
             properties=("index", "index_class", "rank"), order=1),
    WebLayer("unreachable", "polygon", ("unreachable",), style=None, order=2),
    WebLayer("roads", "line", ("exposure_roads", "roads"), "road_id", style="hazard_class",
             properties=("road_class", "hazard_class"), group="hazard_class", order=3),
    WebLayer("buildings", "polygon", ("exposure_buildings", "buildings"), "building_id", style="hazard_class",
             properties=("hazard_class", "building_type"), group="hazard_class", default_on=True, order=4),
    WebLayer("evacuation_routes", "line", ("evacuation_routes",), "route_id", size="people",
             properties=("people", "shelter_id", "time_s"), order=5),
    WebLayer("facilities", "point", ("exposure_facilities", "facilities"), "facility_id", style="category",
             properties=("category", "hazard_class", "name"), group="category", default_on=True, order=6),
    WebLayer("shelters", "point", ("shelters",), "shelter_id", style="load_class", size="capacity",
             properties=("name", "capacity", "load", "load_ratio", "safe"), order=7),
)
REPORTS = WebLayer("reports", "point", (), "id", style="category", properties=("category",), group="category",
                   default_on=True, order=9)


def boundary_layer(boundary_id: str, first: bool) -> WebLayer:
    """The web layer of one boundary set: per-area exposure figures when the build has them."""
    return WebLayer(f"boundaries_{boundary_id}", "polygon", ("exposure_areas", f"boundaries_{boundary_id}"), "area_id",
                    properties=("name",), default_on=first, order=8)


class MapData:
    """The layers of one area for web maps, read once and cached.

    Parameters
    ----------
    area
        The loaded area (its inputs are the fallback when the build is absent).
    built
        The GeoPackage written by ``geoapp build``; may not exist (yet).
    """

    def __init__(self, area: Area, built: str | Path | None = None):
        self.area = area
        self.built = Path(built) if built else area.default_build_path
        self.built_layers = set(pyogrio.list_layers(self.built)[:, 0]) if self.built.exists() else set()
        self._frames: dict[str, gpd.GeoDataFrame] = {}
        self._indexes: dict[tuple[str, str | None], TileIndex] = {}
        self.layers: dict[str, WebLayer] = {}
        for spec in sorted(self._catalogue(), key=lambda s: s.order):
            if self._source(spec) is not None:
                self.layers[spec.name] = spec

    def _catalogue(self) -> list[WebLayer]:
        out = list(CATALOGUE)
        out += [boundary_layer(b.id, i == 0) for i, b in enumerate(self.area.boundaries)]
        return out

    # -- sources ------------------------------------------------------------
    def _inputs(self) -> dict[str, object]:
        loaders = {"buildings": self.area.buildings, "roads": self.area.roads, "facilities": self.area.facilities}
        for b in self.area.boundaries:
            loaders[f"boundaries_{b.id}"] = lambda bid=b.id: self.area.boundary_layer(bid)
        return loaders

    def _source(self, spec: WebLayer) -> str | None:
        for name in spec.sources:
            if name == "exposure_areas" and name in self.built_layers:
                frame = self._frame(name)
                if "boundary" in frame.columns:
                    if (frame["boundary"] == spec.name.removeprefix("boundaries_")).any():
                        return name
                    continue
                if spec.name != f"boundaries_{self.area.boundaries[0].id}":
                    continue
                return name
            if name in self.built_layers:
                return name
            if not self.built_layers and name in self._inputs():
                return name
        return None

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
        spec = self._spec(name)
        return "scenario" in self._frame(self._source(spec)).columns

    def scenarios(self) -> list[str]:
        return [h.id for h in self.area.hazards]

    def index(self, name: str, scenario: str | None = None) -> TileIndex:
        """The tile index of web layer ``name`` (per scenario when the layer has one)."""
        if scenario is not None and scenario not in self.scenarios():
            raise NotFoundError(f"no hazard scenario '{scenario}'; scenarios are {self.scenarios()}")
        key = (name, scenario if self.per_scenario(name) else None)
        if key not in self._indexes:
            spec = self._spec(name)
            frame = self.frame(name, scenario)
            props = list(spec.properties) + [c for c in (spec.style, spec.size) if c and c not in spec.properties]
            self._indexes[key] = TileIndex(frame, properties=props, id_column=spec.id_column, group=spec.group)
        return self._indexes[key]

    # -- description for the page -----------------------------------------
    def describe(self) -> list[dict]:
        """Each available layer: name, kind, style, size, whether on by default and per scenario, source."""
        return [
            {
                "name": s.name, "kind": s.kind, "style": s.style, "size": s.size, "default_on": s.default_on,
                "per_scenario": self.per_scenario(s.name), "source": self._source(s),
            }
            for s in self.layers.values()
        ]

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in EPSG:4326 of the buildings, else of the first boundary set."""
        for name in ("buildings", f"boundaries_{self.area.boundaries[0].id}" if self.area.boundaries else ""):
            if name in self.layers:
                b = self.index(name).bounds()
                if b:
                    return b
        raise NotFoundError(f"area '{self.area.name}' has neither buildings nor boundaries to centre a map on")


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


def standalone_map(source, out_html: str | Path) -> Path:  # filled in below
    raise NotImplementedError
