"""One self-contained HTML map of an area: Leaflet, the map script, every layer and the hazard overlays inline.

The map's own files (script, styles, Leaflet) and its interface strings live
in ``assets/`` beside this module; geoapp serves the same files to its pages.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path

import geopandas as gpd

from layers.area import Area, HazardSpec
from layers.errors import InvalidInputError
from layers.hazard.kinds import words_key
from layers.publish.maplayers import REPORTS, reports_layer
from layers.publish.render import Overlay
from layers.publish.webmap import MapData, dumps, page_config, reports_index, scenario_overlay

ASSETS = Path(__file__).resolve().parent / "assets"
LANGUAGES = ("en", "fr", "sw", "id")
DEFAULT_LANGUAGE = "en"
# Keys of the strings the map script reads (the rest label the page around it).
JS_PREFIXES = ("js_", "layer_", "col_", "cat_", "class_")


@cache
def map_strings(lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The map's interface strings in ``lang`` (en, fr, sw, id), falling back to English key by key."""
    strings = json.loads((ASSETS / "i18n" / f"{DEFAULT_LANGUAGE}.json").read_text(encoding="utf-8"))
    if lang != DEFAULT_LANGUAGE and lang in LANGUAGES:
        strings.update(json.loads((ASSETS / "i18n" / f"{lang}.json").read_text(encoding="utf-8")))
    return strings


def standalone_map(
    source: MapData | Area | str | Path,
    out_html: str | Path,
    *,
    built: str | Path | None = None,
    zoom: int = 15,
    skip: tuple[str, ...] = ("roads",),
    strings: dict[str, str] | None = None,
    lang: str = DEFAULT_LANGUAGE,
    basemap: dict | None = None,
    reports: gpd.GeoDataFrame | None = None,
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
    ``strings`` are the interface strings (default: the map's own in ``lang``).
    ``reports``: published field reports, already in the view the public may see, shown as their own layer.
    """
    data = _map_data(source, built)
    out_html = Path(out_html)
    if strings is None:
        strings = map_strings(lang)

    def overlay_url(spec: HazardSpec, overlay: Overlay | None) -> str:
        overlay = overlay or scenario_overlay(spec)
        return "data:image/png;base64," + base64.b64encode(overlay.png).decode("ascii")

    js_strings = {k: v for k, v in strings.items() if k.startswith(JS_PREFIXES)}
    titles = {k.removeprefix("layer_"): v for k, v in strings.items() if k.startswith("layer_")}
    extra = [reports_layer()] if reports is not None else []
    config = page_config(
        data, overlay_url=overlay_url, strings=js_strings, titles=titles, basemap=basemap, extra_layers=extra
    )
    config["layers"] = [layer for layer in config["layers"] if layer["name"] not in skip]
    config["inline"] = _inline(data, config["layers"], zoom, reports)
    text = strings or {}
    # Words of the area's hazard kinds: an earthquake map never says "water" (layers/hazard/kinds).
    here = [s.get("kind") for s in config["scenarios"]]

    def word(key: str, default: str) -> str:
        return _escape(text.get(words_key(key, here)) or text.get(key, default))

    parts = {
        "lang": _escape(lang),
        "title": _escape(config["title"]),
        "scenario": word("scenario", "Flood scenario"),
        "depth": word("depth_legend", "Water depth"),
        "layers": _escape(text.get("layers", "What to show")),
        "classes": word("exposure_legend", "Buildings and roads flooded"),
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


def _inline(data: MapData, layers: list[dict], zoom: int, reports: gpd.GeoDataFrame | None) -> dict:
    """Every layer's features (simplified for ``zoom``) and popup rows, per scenario key ("" when not per scenario)."""
    features: dict[str, dict] = {}
    rows: dict[str, dict] = {}
    for layer in layers:
        name = layer["name"]
        keys = data.scenarios() if layer["per_scenario"] else [None]
        features[name], rows[name] = {}, {}
        for key in keys:
            index = reports_index(reports) if name == REPORTS.name and reports is not None else data.index(name, key)
            features[name][key or ""] = index.collection(zoom=zoom)
            rows[name][key or ""] = index.rows(layer.get("popup", ()))
    return {"features": features, "rows": rows}


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
  <section><h2 id="legend-h">@@depth@@</h2><ul class="legend" id="depth-legend"></ul></section>
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
