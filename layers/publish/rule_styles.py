"""QGIS rule-based styles for layers that hold several scenarios, and routes drawn by the people on them.

An analysis layer with a ``scenario`` column stacks every scenario's features in one
table; one categorised style would draw them on top of each other. Here each scenario
is a rule (``"scenario" = 'x'``) holding the layer's usual classes, only the first
switched on, and :func:`scenario_qml` gives a style showing one scenario only, so the
GeoPackage carries one named style per scenario as well. Evacuation routes are
graduated by ``people``: wider and darker where more people walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers.publish.styles import LayerStyle, _qml_symbol, escape

# ColorBrewer Purples (sequential, distinct from the hazard YlOrRd and the depth Blues).
ROUTE_COLOURS = ["#cbc9e2", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"]
ROUTE_WIDTHS_MM = [0.4, 0.8, 1.3, 1.9, 2.6]
ROUTES_FIELD = "people"


@dataclass(frozen=True)
class Child:
    """One drawn class under a scenario rule: a QGIS expression and its symbol."""

    label: str
    expression: str  # QGIS expression; "ELSE" for everything the other children leave
    colour: str
    width_mm: float | None = None  # lines only


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def children(style: LayerStyle) -> list[Child]:
    """The classes of a categorised (or single-symbol) style as rule children."""
    if not style.field:
        return [Child("all", "", style.default)]
    out = [Child(v, f'"{style.field}" = {_quote(v)}', c) for v, c in style.colours.items()]
    return [*out, Child("other", "ELSE", style.default)]


def route_children(people: pd.Series) -> list[Child]:
    """Five graduated classes of ``people`` (quantile breaks of the routes that carry anyone)."""
    values = pd.to_numeric(people, errors="coerce").dropna()
    values = values[values > 0]
    if len(values) == 0:
        return [Child("no one", "", ROUTE_COLOURS[0], ROUTE_WIDTHS_MM[0])]
    breaks = np.unique(np.quantile(values, np.linspace(0, 1, len(ROUTE_COLOURS) + 1)))
    if len(breaks) < 2:
        breaks = np.array([values.min(), values.max()])
    out = []
    for i in range(len(breaks) - 1):
        lo, hi = float(breaks[i]), float(breaks[i + 1])
        upper = "<=" if i == len(breaks) - 2 else "<"
        expr = f'"{ROUTES_FIELD}" >= {lo!r} AND "{ROUTES_FIELD}" {upper} {hi!r}'
        k = min(i, len(ROUTE_COLOURS) - 1)
        out.append(Child(f"{lo:,.0f} – {hi:,.0f} people", expr, ROUTE_COLOURS[k], ROUTE_WIDTHS_MM[k]))
    return out


def _symbol(geometry: str, index: int, child: Child, outline_only: bool) -> str:
    style = LayerStyle(geometry, None, {}, child.colour, outline_only=outline_only)
    xml = _qml_symbol(style, index, child.colour)
    if child.width_mm is not None and geometry == "line":
        xml = xml.replace('value="0.5"', f'value="{child.width_mm}"').replace('v="0.5"', f'v="{child.width_mm}"')
    return xml


def _rules_xml(
    scenarios: Sequence[str | None], kids: list[Child], geometry: str, outline_only: bool, active: str | None
) -> str:
    rules: list[str] = []
    symbols: list[str] = []
    for s_i, scenario in enumerate(scenarios):
        inner = []
        for c_i, child in enumerate(kids):
            n = len(symbols)
            symbols.append(_symbol(geometry, n, child, outline_only))
            expr = f' filter="{escape(child.expression)}"' if child.expression else ""
            inner.append(f'<rule key="r{s_i}_{c_i}" symbol="{n}" label="{escape(child.label)}"{expr}/>')
        if scenario is None:
            rules += inner
            continue
        state = "" if scenario == active else ' checkstate="0"'
        expr = escape(f'"scenario" = {_quote(scenario)}')
        rules.append(f'<rule key="r{s_i}" label="{escape(scenario)}" filter="{expr}"{state}>{"".join(inner)}</rule>')
    return (
        '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
        f'<rules key="root">{"".join(rules)}</rules><symbols>{"".join(symbols)}</symbols></renderer-v2>'
    )


def rule_qml(
    style: LayerStyle, scenarios: Sequence[str], *, kids: list[Child] | None = None, active: str | None = None
) -> str:
    """A QGIS rule-based style: a rule per scenario (only ``active``, default the first, switched on)
    holding ``kids`` (default: the style's classes); no scenario rules when ``scenarios`` is empty."""
    kids = kids if kids is not None else children(style)
    levels: list[str | None] = list(scenarios) or [None]
    active = active if active is not None else (scenarios[0] if scenarios else None)
    renderer = _rules_xml(levels, kids, style.geometry, style.outline_only, active)
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.28.0" styleCategories="Symbology">{renderer}<blendMode>0</blendMode>'
        "<featureBlendMode>0</featureBlendMode><layerOpacity>1</layerOpacity></qgis>\n"
    )


def scenario_qml(style: LayerStyle, scenario: str, *, kids: list[Child] | None = None) -> str:
    """A style drawing one scenario only (the rule of that scenario alone)."""
    return rule_qml(style, [scenario], kids=kids, active=scenario)
