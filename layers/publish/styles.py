"""Colours shared by every map and export: colour-blind-safe palettes.

Hazard classes use ColorBrewer's YlOrRd (sequential, safe for the common
colour-vision deficiencies and in greyscale); flood depth overlays use
ColorBrewer's Blues so water never looks like an exposure class; facility
categories use the Okabe–Ito qualitative palette.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape as _escape

NOT_AFFECTED_COLOUR = "#bdbdbd"

# The default flood classes (layers.hazard.classes.DEFAULT_FLOOD_CLASSES), least severe first.
CLASS_COLOURS: dict[str, str] = {"low": "#fecc5c", "medium": "#fd8d3c", "high": "#bd0026"}

# Sequential ramps, light to dark, for any number of classes up to their length.
_YLORRD = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#800026"]
DEPTH_RAMP = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#000000"]
CATEGORY_COLOURS: dict[str, str] = {
    "hospital": "#d55e00",
    "clinic": "#d55e00",
    "pharmacy": "#d55e00",
    "school": "#0072b2",
    "university": "#0072b2",
    "kindergarten": "#0072b2",
    "place_of_worship": "#cc79a7",
    "community_centre": "#009e73",
    "shelter": "#009e73",
    "police": "#000000",
    "fire_station": "#000000",
    "government": "#56b4e9",
    "market": "#e69f00",
    "water_point": "#56b4e9",
    "toilet": "#f0e442",
}
OTHER_CATEGORY_COLOUR = "#777777"


def _pick(ramp: list[str], n: int) -> list[str]:
    if n <= 0:
        return []
    if n == 1:
        return [ramp[-2]]
    step = (len(ramp) - 1) / (n - 1)
    return (
        [ramp[round(i * step)] for i in range(n)] if n <= len(ramp) else [ramp[min(i, len(ramp) - 1)] for i in range(n)]
    )


def class_colours(names: list[str]) -> dict[str, str]:
    """A colour per hazard class name (least severe first): the shared colours for the default names, else YlOrRd."""
    if names and all(n in CLASS_COLOURS for n in names):
        return {n: CLASS_COLOURS[n] for n in names}
    return dict(zip(names, _pick(_YLORRD[1:], len(names)), strict=False))


def depth_colours(n: int) -> list[str]:
    """``n`` blues, light to dark, for hazard depth classes on the overlay."""
    return _pick(DEPTH_RAMP, n)


# Hazards that are not water (shaking, ash, wind, zones): ColorBrewer's Purples, so they never look like water
# and stay apart from the YlOrRd exposure classes drawn over them.
HAZARD_RAMP = ["#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d"]


def hazard_colours(n: int, measure: str = "depth") -> list[str]:
    """``n`` overlay colours, light to dark: blues for depths, purples for every other kind of hazard."""
    return depth_colours(n) if measure == "depth" else _pick(HAZARD_RAMP, n)


def category_colour(category: str | None) -> str:
    return CATEGORY_COLOURS.get(category or "", OTHER_CATEGORY_COLOUR)


# -- Styles for GIS files: QGIS QML / SLD (GeoPackage ``layer_styles``) and KML -------------------

# What a layer is coloured by, most specific first.
_CLASS_FIELDS = ("hazard_class", "category")
_OUTLINE = "#232323"
_SINGLE = {"point": "#0072b2", "line": "#555555", "polygon": "#d9d9d9"}


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn: categories of ``field`` with a colour each, or one colour when ``field`` is None."""

    geometry: str  # "point", "line" or "polygon"
    field: str | None
    colours: dict[str, str]
    default: str
    outline_only: bool = False


def geometry_kind(geom_types) -> str:
    """ "point", "line" or "polygon" for a set of shapely geometry type names (polygon wins, then line)."""
    names = " ".join(str(t) for t in geom_types if t)
    if "Polygon" in names:
        return "polygon"
    if "LineString" in names:
        return "line"
    return "point"


def layer_style(gdf, *, name: str = "") -> LayerStyle:
    """The style of a layer: hazard classes in the shared class colours, facility categories in Okabe–Ito,
    else one colour.

    Boundary layers (``name`` starting with ``boundaries``) are outlines only.
    """
    kind = geometry_kind(gdf.geom_type.dropna().unique()) if len(gdf) else "polygon"
    for field in _CLASS_FIELDS:
        if field not in gdf.columns:
            continue
        values = [str(v) for v in gdf[field].dropna().unique()]
        if field == "hazard_class":
            order = [c for c in CLASS_COLOURS if c in values] + sorted(v for v in values if v not in CLASS_COLOURS)
            known = [v for v in order if v in CLASS_COLOURS]
            colours = {v: CLASS_COLOURS[v] for v in known}
            colours.update(class_colours([v for v in order if v not in CLASS_COLOURS]))
        else:
            colours = {v: category_colour(v) for v in sorted(values)}
        return LayerStyle(
            kind, field, colours, NOT_AFFECTED_COLOUR if field == "hazard_class" else OTHER_CATEGORY_COLOUR
        )
    return LayerStyle(kind, None, {}, _SINGLE[kind], outline_only=name.startswith("boundaries"))


def escape(text: str) -> str:
    """XML-escape text for an element or a double-quoted attribute."""
    return _escape(str(text), {'"': "&quot;"})


def _rgba(colour: str, alpha: int = 255) -> str:
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _qml_symbol(style: LayerStyle, index: int, colour: str) -> str:
    if style.geometry == "polygon":
        props = {
            "color": _rgba(colour),
            "style": "no" if style.outline_only else "solid",
            "outline_color": _rgba(_OUTLINE if not style.outline_only else "#000000"),
            "outline_style": "solid",
            "outline_width": "0.6" if style.outline_only else "0.2",
            "outline_width_unit": "MM",
        }
        cls, stype = "SimpleFill", "fill"
    elif style.geometry == "line":
        props = {
            "line_color": _rgba(colour),
            "line_style": "solid",
            "line_width": "0.5",
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        }
        cls, stype = "SimpleLine", "line"
    else:
        props = {
            "color": _rgba(colour),
            "name": "circle",
            "size": "2.4",
            "size_unit": "MM",
            "outline_color": _rgba(_OUTLINE),
            "outline_style": "solid",
            "outline_width": "0.2",
        }
        cls, stype = "SimpleMarker", "marker"
    options = "".join(f'<Option name="{k}" type="QString" value="{v}"/>' for k, v in props.items())
    legacy = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    return (
        f'<symbol type="{stype}" name="{index}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" pass="0" locked="0"><Option type="Map">{options}</Option>{legacy}</layer>'
        "</symbol>"
    )


def to_qml(style: LayerStyle) -> str:
    """A QGIS style document (QML): categorised by ``style.field``, else a single symbol."""
    if style.field:
        items = list(style.colours.items())
        cats = "".join(
            f'<category render="true" symbol="{i}" value="{escape(v)}" label="{escape(v)}" type="string"/>'
            for i, (v, _) in enumerate(items)
        )
        cats += f'<category render="true" symbol="{len(items)}" value="" label="other" type="string"/>'
        symbols = "".join(_qml_symbol(style, i, c) for i, (_, c) in enumerate(items))
        symbols += _qml_symbol(style, len(items), style.default)
        renderer = (
            f'<renderer-v2 type="categorizedSymbol" attr="{escape(style.field)}" symbollevels="0" enableorderby="0" '
            f'forceraster="0"><categories>{cats}</categories><symbols>{symbols}</symbols></renderer-v2>'
        )
    else:
        renderer = (
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{_qml_symbol(style, 0, style.default)}</symbols></renderer-v2>"
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.28.0" styleCategories="Symbology">{renderer}<blendMode>0</blendMode>'
        "<featureBlendMode>0</featureBlendMode><layerOpacity>1</layerOpacity></qgis>\n"
    )


def _sld_symbolizer(style: LayerStyle, colour: str) -> str:
    if style.geometry == "polygon":
        fill = (
            "" if style.outline_only else f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
        )
        return (
            f'<se:PolygonSymbolizer>{fill}<se:Stroke><se:SvgParameter name="stroke">{_OUTLINE}</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">1</se:SvgParameter></se:Stroke></se:PolygonSymbolizer>'
        )
    if style.geometry == "line":
        return (
            f'<se:LineSymbolizer><se:Stroke><se:SvgParameter name="stroke">{colour}</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">2</se:SvgParameter></se:Stroke></se:LineSymbolizer>'
        )
    return (
        "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>"
        f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
        f'<se:Stroke><se:SvgParameter name="stroke">{_OUTLINE}</se:SvgParameter></se:Stroke></se:Mark>'
        "<se:Size>8</se:Size></se:Graphic></se:PointSymbolizer>"
    )


def to_sld(style: LayerStyle, *, layer_name: str) -> str:
    """The same style as an OGC Styled Layer Descriptor 1.1 document (for GeoServer, QGIS, ArcGIS)."""
    if style.field:
        rules = "".join(
            f"<se:Rule><se:Name>{escape(v)}</se:Name><ogc:Filter><ogc:PropertyIsEqualTo>"
            f"<ogc:PropertyName>{escape(style.field)}</ogc:PropertyName><ogc:Literal>{escape(v)}</ogc:Literal>"
            f"</ogc:PropertyIsEqualTo></ogc:Filter>{_sld_symbolizer(style, c)}</se:Rule>"
            for v, c in style.colours.items()
        )
        rules += f"<se:Rule><se:Name>other</se:Name><se:ElseFilter/>{_sld_symbolizer(style, style.default)}</se:Rule>"
    else:
        rules = f"<se:Rule><se:Name>{escape(layer_name)}</se:Name>{_sld_symbolizer(style, style.default)}</se:Rule>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
        'xmlns:se="http://www.opengis.net/se" '
        'xmlns:ogc="http://www.opengis.net/ogc" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
        f"<NamedLayer><se:Name>{escape(layer_name)}</se:Name><UserStyle><se:Name>{escape(layer_name)}</se:Name>"
        f"<se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n"
    )


def ogr_style_strings(gdf, style: LayerStyle) -> list[str]:
    """One OGR feature-style string per row (``OGR_STYLE``), which GDAL's KML writer turns into KML styles."""
    if style.field:
        colours = gdf[style.field].astype("string").map(style.colours).fillna(style.default).tolist()
    else:
        colours = [style.default] * len(gdf)
    if style.geometry == "polygon":
        if style.outline_only:
            return ["PEN(c:#000000ff,w:2px)" for _ in colours]
        return [f"BRUSH(fc:{c}b3);PEN(c:{_OUTLINE}ff,w:1px)" for c in colours]
    if style.geometry == "line":
        return [f"PEN(c:{c}ff,w:3px)" for c in colours]
    return [f'SYMBOL(id:"ogr-sym-3",c:{c}ff,s:1.2)' for c in colours]
