"""A QGIS project for a built GeoPackage: layers grouped, styled and in order, the hazard rasters included.

QGIS is not needed to write it: a ``.qgz`` is a zip holding one ``.qgs`` XML
document, written here with ElementTree. Each vector layer takes the style the
build stored in the GeoPackage's ``layer_styles`` table (its QML is the same
XML a project carries per layer); scenario layers are the build's layers
filtered by ``"scenario" = '<id>'`` (a provider subset), one group per
scenario with its exposure, its evacuation and its hazard raster (a COG beside
the GeoPackage, classed in the map's depth colours). Paths are relative, so the
folder can be moved or unzipped anywhere. No basemap: the project opens
offline with nothing missing.

Groups, top to bottom (what is drawn last comes first): field reports, each
scenario (the first one shown, the others ticked off), precarity, inputs.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pyogrio
from pyproj import CRS

from layers.errors import MissingInputError
from layers.hazard.kinds import get_kind
from layers.publish.hazard_tiles import write_cog
from layers.publish.styles import hazard_colours

QGIS_VERSION = "3.22.16-Białowieża"
SCENARIO_EXPOSURE = ("exposure_facilities", "exposure_roads", "exposure_buildings", "exposure_areas")
SCENARIO_EVACUATION = ("shelters", "evacuation_routes", "unreachable", "catchments", "evacuation_buildings")
PRECARITY = ("precarious_neighbourhoods", "precarity_areas", "precarity_cells")
INPUTS = ("facilities", "roads", "buildings")
SHOWN = {"exposure_buildings", "exposure_roads", "shelters", "evacuation_routes", "field_reports"}
TITLES = {
    "field_reports": "Field reports",
    "exposure_facilities": "Facilities at risk",
    "exposure_roads": "Roads by hazard class",
    "exposure_buildings": "Buildings by hazard class",
    "exposure_areas": "Neighbourhood figures",
    "shelters": "Shelters",
    "evacuation_routes": "Evacuation routes (people)",
    "unreachable": "Buildings without a safe route",
    "catchments": "Shelter catchments",
    "evacuation_buildings": "Walk to shelter per building",
    "precarious_neighbourhoods": "Precarious neighbourhoods",
    "precarity_areas": "Precarity per neighbourhood",
    "precarity_cells": "Precarity index (H3 cells)",
    "facilities": "Facilities",
    "roads": "Roads",
    "buildings": "Buildings",
}
_GEOMETRY = {"Point": "Point", "Line": "Line", "Polygon": "Polygon"}


def qgis_package(area, built: str | Path, out_zip: str | Path) -> dict:
    """Zip the build's GeoPackage, a QGIS project over it and each scenario's hazard (COG) into ``out_zip``.

    Returns ``{"layers": n, "groups": [...], "files": [...]}`` (names inside the zip).
    """
    built = Path(built)
    if not built.exists():
        raise MissingInputError(f"{built} does not exist: run `geoapp build` for this area first")
    out_zip = Path(out_zip)
    work = out_zip.with_name(f".{out_zip.name}.{uuid.uuid4().hex[:8]}")
    work.mkdir(parents=True)
    try:
        gpkg = work / f"{area.name}.gpkg"
        shutil.copyfile(built, gpkg)
        hazards = {}
        for h in area.hazards:
            if h.kind == "raster":
                hazards[h.id] = write_cog(h.path, work / "hazard" / f"{h.id}.tif")
        summary = write_project(area, gpkg, work / f"{area.name}.qgz", hazards=hazards)
        tmp = out_zip.with_name(f".{out_zip.name}.part")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(work.rglob("*")):
                if path.is_file():
                    zf.write(path, f"{area.name}/{path.relative_to(work)}")
        tmp.replace(out_zip)
        files = [f"{area.name}/{p.relative_to(work)}" for p in sorted(work.rglob("*")) if p.is_file()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {**summary, "files": files}


def write_project(area, gpkg: Path, out: Path, *, hazards: dict[str, Path] | None = None) -> dict:
    """Write the ``.qgz`` project ``out`` over ``gpkg`` (in the same folder) and the ``hazards`` rasters."""
    hazards = hazards or {}
    names = {name: geom for name, geom in pyogrio.list_layers(gpkg) if geom is not None}
    styles = _styles(gpkg)
    crs = CRS.from_user_input(area.crs)
    root = ET.Element("qgis", projectname=area.title, version=QGIS_VERSION)
    ET.SubElement(root, "title").text = area.title
    project_crs = ET.SubElement(root, "projectCrs")
    project_crs.append(_srs(crs))
    # QGIS reads <projectCrs> only when the project says projections are on
    properties = ET.SubElement(ET.SubElement(root, "properties"), "SpatialRefSys")
    ET.SubElement(properties, "ProjectionsEnabled", type="int").text = "1"
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    layers_el = ET.SubElement(root, "projectlayers")
    order: list[str] = []
    groups: list[str] = []

    def group(title: str, checked: bool = True) -> ET.Element:
        groups.append(title)
        state = "Qt::Checked" if checked else "Qt::Unchecked"
        el = ET.SubElement(tree, "layer-tree-group", name=title, checked=state, expanded="1")
        ET.SubElement(el, "customproperties")
        return el

    def vector(parent: ET.Element, name: str, *, scenario: str | None = None, shown: bool = True) -> None:
        if name not in names:
            return
        layer_id = f"{name}_{scenario}" if scenario else f"{name}_layer"
        source = f"./{gpkg.name}|layername={name}"
        if scenario is not None:
            source += f"|subset=\"scenario\" = '{scenario}'"
        title = TITLES.get(name, name.replace("_", " ").capitalize())
        layers_el.append(_vector_layer(layer_id, title, source, names[name], crs, styles.get(name)))
        _tree_layer(parent, layer_id, title, source, "ogr", shown and name in SHOWN)
        order.append(layer_id)

    vector(group("Field reports"), "field_reports")
    for i, h in enumerate(area.hazards):
        g = group(h.title, checked=i == 0)
        for name in SCENARIO_EXPOSURE + SCENARIO_EVACUATION:
            vector(g, name, scenario=h.id)
        if h.id in hazards:
            layer_id, source = f"hazard_{h.id}", f"./hazard/{hazards[h.id].name}"
            measure = get_kind(h.hazard_kind).measure  # the web map's colours: blues for water, purples else
            layers_el.append(
                _raster_layer(layer_id, f"Hazard: {h.title}", source, crs, h.classes, h.units, measure=measure)
            )
            _tree_layer(g, layer_id, f"Hazard: {h.title}", source, "gdal", True)
            order.append(layer_id)
    precarity = group("Precarity", checked=False)
    for name in PRECARITY:
        vector(precarity, name)
    inputs = group("Inputs")
    for name in (*INPUTS, *sorted(n for n in names if n.startswith("boundaries_"))):
        vector(inputs, name, shown=name.startswith("boundaries_"))
    layer_order = ET.SubElement(root, "layerorder")
    for layer_id in order:
        ET.SubElement(layer_order, "layer", id=layer_id)
    xml = b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{out.stem}.qgs", xml)
    return {"layers": len(order), "groups": groups}


def _styles(gpkg: Path) -> dict[str, ET.Element]:
    """The default QML style of each layer from ``layer_styles`` (absent table: no styles)."""
    try:
        with sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault").fetchall()
    except sqlite3.Error:
        return {}
    out = {}
    for name, qml in rows:
        body = qml.split("?>", 1)[-1] if qml.lstrip().startswith("<?xml") else qml
        body = body.split("'SYSTEM'>", 1)[-1] if "<!DOCTYPE" in body else body
        out[name] = ET.fromstring(body.strip())
    return out


def _srs(crs: CRS) -> ET.Element:
    srs = ET.Element("spatialrefsys")
    ET.SubElement(srs, "wkt").text = crs.to_wkt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a PROJ string loses datum detail; QGIS reads the WKT first
        ET.SubElement(srs, "proj4").text = crs.to_proj4()
    authority = crs.to_authority()
    ET.SubElement(srs, "authid").text = ":".join(authority) if authority else ""
    ET.SubElement(srs, "description").text = crs.name
    ET.SubElement(srs, "geographicflag").text = "true" if crs.is_geographic else "false"
    return srs


def _tree_layer(parent: ET.Element, layer_id: str, title: str, source: str, provider: str, shown: bool) -> None:
    state = "Qt::Checked" if shown else "Qt::Unchecked"
    ET.SubElement(
        parent,
        "layer-tree-layer",
        id=layer_id,
        name=title,
        source=source,
        providerKey=provider,
        checked=state,
        expanded="0",
    )


def _vector_layer(layer_id: str, title: str, source: str, geom: str, crs: CRS, style: ET.Element | None):
    kind = "Polygon" if "Polygon" in geom else "Line" if "Line" in geom else "Point"
    el = ET.Element("maplayer", type="vector", geometry=_GEOMETRY[kind], wkbType=geom, styleCategories="All")
    ET.SubElement(el, "id").text = layer_id
    ET.SubElement(el, "datasource").text = source
    ET.SubElement(el, "layername").text = title
    srs = ET.SubElement(el, "srs")
    srs.append(_srs(crs))
    ET.SubElement(el, "provider", encoding="UTF-8").text = "ogr"
    if style is not None:
        for child in style:
            el.append(child)
    return el


def _raster_layer(
    layer_id: str, title: str, source: str, crs: CRS, classes, units: str, *, measure: str = "depth"
) -> ET.Element:
    """The hazard raster classed as the map classes it: clear below the first class, a blue per class."""
    el = ET.Element("maplayer", type="raster", styleCategories="All")
    ET.SubElement(el, "id").text = layer_id
    ET.SubElement(el, "datasource").text = source
    ET.SubElement(el, "layername").text = title
    srs = ET.SubElement(el, "srs")
    srs.append(_srs(crs))
    ET.SubElement(el, "provider").text = "gdal"
    pipe = ET.SubElement(el, "pipe")
    renderer = ET.SubElement(
        pipe, "rasterrenderer", type="singlebandpseudocolor", band="1", opacity="0.7", alphaBand="-1"
    )
    shader = ET.SubElement(ET.SubElement(renderer, "rastershader"), "colorrampshader")
    shader.set("colorRampType", "DISCRETE")
    shader.set("classificationMode", "1")
    shader.set("clip", "0")
    if classes.kind != "numeric":
        return el
    first = classes.classes[0].lower
    if first > float("-inf"):
        ET.SubElement(shader, "item", value=repr(first), color="#ffffff", alpha="0", label="not affected")
    for c, colour in zip(classes.classes, hazard_colours(len(classes.classes), measure), strict=True):
        value = "inf" if c.upper == float("inf") else repr(c.upper)
        ET.SubElement(shader, "item", value=value, color=colour, alpha="255", label=f"{c.name} ({units})")
    return el
