"""CQL2 filters (OGC API – Features Part 3) evaluated over a whole GeoDataFrame at once.

Parsing is pygeofilter's (CQL2 text and JSON, as in pygeoapi); evaluation is
pygeofilter's GeoPandas backend, so each comparison, ``LIKE``, ``IN`` and
``S_INTERSECTS`` is one vectorised pandas/shapely operation over the column,
never a Python loop over features. Geometry literals are given in the filter
CRS (``filter-crs``, default CRS84) and moved to the layer's CRS before
comparing. Every problem is an :class:`InvalidInputError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.geopandas.evaluate import GeoPandasEvaluator
from pyproj import CRS, Transformer

from layers.errors import InvalidInputError

LANGS = ("cql2-text", "cql2-json")
GEOMETRY = "geometry"  # the queryable name of every layer's geometry
CRS84 = CRS.from_user_input("OGC:CRS84")


def parse(text: str, lang: str = "cql2-text") -> ast.Node:
    """The syntax tree of a CQL2 ``filter`` in ``lang`` (cql2-text or cql2-json)."""
    if lang not in LANGS:
        raise InvalidInputError(f"filter-lang '{lang[:40]}' must be one of {', '.join(LANGS)}")
    if "\x00" in text:
        raise InvalidInputError("filter must not contain a NUL character")
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse as parse_json

            return parse_json(_bboxes_as_polygons(json.loads(text)))
        from pygeofilter.parsers.cql2_text import parse as parse_text

        return parse_text(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"filter is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except Exception as exc:  # lark's parse errors and pygeofilter's: the first line says where
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(f"filter is not valid {lang}: {first[:200]}") from None


def _bboxes_as_polygons(node):
    """cql2-json ``{"bbox": [minx, miny, maxx, maxy]}`` as a GeoJSON polygon (pygeofilter 0.4 swaps its axes)."""
    if isinstance(node, dict):
        if set(node) == {"bbox"} and isinstance(node["bbox"], list) and len(node["bbox"]) in (4, 6):
            b = node["bbox"]
            x0, y0, x1, y1 = (b[0], b[1], b[3], b[4]) if len(b) == 6 else b
            return shapely.geometry.mapping(shapely.box(x0, y0, x1, y1))
        return {k: _bboxes_as_polygons(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_bboxes_as_polygons(v) for v in node]
    return node


def attributes(node) -> set[str]:
    """Every property name the filter reads."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Attribute):
            if not isinstance(n.name, str):  # cql2-json {"property": ["a"]}: a 500 (unhashable) otherwise
                raise InvalidInputError(f"filter: a property is named by a string, not {json.dumps(n.name)[:60]}")
            out.add(n.name)
        elif isinstance(n, ast.Node):
            stack.extend(n.get_sub_nodes())
        elif isinstance(n, (list, tuple)):
            stack.extend(n)
    return out


def check_attributes(node, queryables: Mapping[str, str]) -> set[str]:
    """The properties a filter reads, after checking each is a queryable (or the geometry)."""
    names = attributes(node)
    unknown = sorted(n for n in names if n != GEOMETRY and n not in queryables)
    if unknown:
        raise InvalidInputError(
            f"filter names {', '.join(unknown)}, not a queryable; queryables are {', '.join([*queryables, GEOMETRY])}"
        )
    _check_types(node, queryables)
    return names - {GEOMETRY}


def _check_types(node, queryables: Mapping[str, str]) -> None:
    """Refuse a number property compared with text (or NaN), or LIKE on a number: pandas would match no row,
    a silent zero, where the caller has a typo to fix."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Node):
            stack.extend(n.get_sub_nodes())
        elif isinstance(n, (list, tuple)):
            stack.extend(n)
        lhs = getattr(n, "lhs", None)
        if not (isinstance(n, ast.Predicate | ast.Comparison) and isinstance(lhs, ast.Attribute)):
            continue
        if queryables.get(lhs.name) not in ("number", "integer"):
            continue
        if isinstance(n, ast.Like):
            raise InvalidInputError(f"filter: wrong type: LIKE needs text and '{lhs.name}' is a number (use =, <, >)")
        given = [getattr(n, k, None) for k in ("rhs", "low", "high")] + list(getattr(n, "sub_nodes", None) or [])
        for v in given:
            if isinstance(v, str) or (isinstance(v, float) and v != v):
                raise InvalidInputError(
                    f"filter: a value has the wrong type for its property: '{lhs.name}' is a number, not {v!r}; "
                    "write a number (no quotes)"
                )


class _Evaluator(GeoPandasEvaluator):
    """pygeofilter's GeoPandas evaluator with geometry literals moved from the filter CRS to the layer's."""

    def __init__(self, df: gpd.GeoDataFrame, to_layer):
        super().__init__(df, function_map={"bbox": self._bbox, "lower": _lower, "casei": _lower})
        self.to_layer = to_layer

    def _bbox(self, *args):
        if len(args) not in (4, 6):
            raise InvalidInputError("BBOX takes 4 numbers (minx, miny, maxx, maxy) or 6 with heights")
        x0, y0, x1, y1 = (args[0], args[1], args[3], args[4]) if len(args) == 6 else args
        return self.to_layer(shapely.box(x0, y0, x1, y1))

    @handle(ast.Attribute)
    def attribute(self, node):
        return self.df.geometry if node.name == GEOMETRY else self.df[node.name]

    @handle(values.Geometry)
    def geometry(self, node):
        try:
            geom = shapely.geometry.shape(node.geometry)
        except Exception as exc:  # malformed coordinates
            raise InvalidInputError(f"filter has an invalid geometry: {exc}") from None
        return self.to_layer(geom)

    @handle(values.Envelope)
    def envelope(self, node):
        return self.to_layer(shapely.box(node.x1, node.y1, node.x2, node.y2))

    @handle(ast.Like)
    def like(self, node, lhs):
        return super().like(node, lhs.astype("string").fillna(""))

    @handle(ast.TemporalPredicate, subclasses=True)
    def temporal(self, node, lhs, rhs):
        raise InvalidInputError("temporal operators (T_*) are not supported; compare dates with <, >, =")

    @handle(*values.LITERALS)
    def literal(self, node):
        if isinstance(node, (date, datetime)):
            t = pd.Timestamp(node)
            return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return node


def _lower(s):
    return s.astype("string").str.lower() if isinstance(s, pd.Series) else str(s).lower()


def _transformer(filter_crs: CRS, layer_crs: CRS | None):
    """A function moving a shapely geometry from the filter CRS (its axis order) to the layer's x/y."""
    from layers.publish.features import yx_order

    swap = yx_order(filter_crs)
    same = layer_crs is None or filter_crs.equals(layer_crs)
    t = None if same else Transformer.from_crs(filter_crs, layer_crs, always_xy=True)

    def move(geom):
        coords = shapely.get_coordinates(geom)
        if swap:
            geom = shapely.transform(geom, lambda c: c[:, ::-1])
        if t is not None and len(coords):
            geom = shapely.transform(geom, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))
        return geom

    return move


def _tz_aware(df: gpd.GeoDataFrame, names: set[str]) -> gpd.GeoDataFrame:
    """Date-time columns as UTC, so they compare with the filter's UTC literals."""
    out = df
    for name in names:
        if name in df.columns and pd.api.types.is_datetime64_any_dtype(df[name]):
            s = df[name]
            out = out.copy() if out is df else out
            out[name] = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    return out


def mask(gdf: gpd.GeoDataFrame, node, *, filter_crs: CRS | None = None) -> np.ndarray:
    """Which rows of ``gdf`` the filter keeps (a boolean array; unknown values never match)."""
    if len(gdf) == 0:
        return np.zeros(0, dtype=bool)
    gdf = _tz_aware(gdf, attributes(node))
    ev = _Evaluator(gdf, _transformer(filter_crs or CRS84, getattr(gdf, "crs", None)))
    try:
        result = ev.evaluate(node)
    except InvalidInputError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidInputError(f"filter cannot be evaluated: {_problem(exc)}") from None
    except RecursionError:  # thousands of nested AND/OR: the evaluator recurses once per level
        raise InvalidInputError("filter is nested too deeply; combine fewer conditions (or use IN)") from None
    if isinstance(result, (bool, np.bool_)):
        return np.full(len(gdf), bool(result))
    if not isinstance(result, pd.Series):
        raise InvalidInputError("filter must be a condition (a comparison, LIKE, IN, S_INTERSECTS, ...)")
    return result.fillna(False).to_numpy(dtype=bool)


def _problem(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "not supported between" in text or "Invalid comparison" in text or "compare" in text:
        return (
            f"a value has the wrong type for its property ({text[:160]}); "
            "compare numbers with numbers, text with 'quoted text'"
        )
    return text[:200]
