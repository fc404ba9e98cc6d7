"""A printed impact report of one scenario, in the manner of InaSAFE's: a map page, then figures and a disclaimer.

Rendered with matplotlib's PDF backend: it draws maps from the same
GeoDataFrames as the analysis with no browser or system library, embeds
TrueType fonts (so ``pdftotext`` reads every figure back) and works headless.
Every figure is the dashboard's own (:func:`layers.publish.dashboard.dashboard`),
so the paper and the screen cannot disagree. ``atlas=True`` adds a page per
neighbourhood, most people affected first.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pyogrio

mpl.use("Agg")
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from layers.errors import InvalidInputError, MissingInputError  # noqa: E402
from layers.publish.dashboard import BuiltLayers, dashboard  # noqa: E402
from layers.publish.printmap import draw_map  # noqa: E402
from layers.publish.standalone import ASSETS, LANGUAGES, map_strings  # noqa: E402

A4 = (8.27, 11.69)  # inches, portrait
NEEDS = ("rice_kg", "drinking_water_l", "clean_water_l", "family_kits", "toilets")
FACILITIES_LISTED = 25
RANKING_ROWS = 10


def report_words(lang: str) -> dict[str, str]:
    """The report's strings in ``lang`` with the map's class and category names, English key by key underneath."""
    words = dict(map_strings(lang))
    folder = ASSETS / "i18n" / "impact"
    words |= json.loads((folder / "en.json").read_text(encoding="utf-8"))
    if lang != "en" and lang in LANGUAGES:
        words |= json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
    return words


def fmt(value: float | None, digits: int = 0) -> str:
    """A figure as the dashboard prints it: thousands separated, ``–`` when unknown."""
    return "–" if value is None else f"{value:,.{digits}f}"


def impact_report(
    area,
    built: str | Path | BuiltLayers,
    out: str | Path,
    *,
    scenario: str | None = None,
    boundary: str | None = None,
    lang: str = "en",
    atlas: bool = False,
    atlas_limit: int | None = None,
) -> dict:
    """Write the PDF report of ``scenario`` of ``area`` (an :class:`~layers.area.Area`) from its build ``built``.

    ``built`` may be a :class:`BuiltLayers` whose ``names`` leave out the layers a reader may not see: the
    report then leaves out their figures and features. Returns the figures printed (the dashboard's, for that
    scenario) and ``pages``.
    """
    if lang not in LANGUAGES:
        raise InvalidInputError(f"language '{lang}' is not offered; choose one of {sorted(LANGUAGES)}")
    layers = built if isinstance(built, BuiltLayers) else BuiltLayers(built)
    if not layers.path.exists() or not any(n.startswith("exposure_") for n in pyogrio.list_layers(layers.path)[:, 0]):
        raise MissingInputError(f"{layers.path} has no exposure layers: run `geoapp build` for this area first")
    hazard = area.hazard(scenario)
    d = dashboard(area, layers, boundary=boundary, ranking_scenario=hazard.id)
    figures = next(s for s in d["scenarios"] if s["scenario"] == hazard.id)
    words = report_words(lang)
    classes = hazard.classes.names
    labels = {c: words.get(f"class_{c}", c) for c in classes}
    geo = _geometries(layers, hazard.id, d["boundary"])
    evac = _evacuation(layers, hazard.id)
    with mpl.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}), PdfPages(out) as pdf:
        meta = pdf.infodict()
        meta["Title"] = f"{words['title']}: {area.title}, {hazard.title}"
        meta["Creator"] = "geoapp"
        pages = [
            _map_page(area, hazard, geo, words, labels, d["dates"]),
            _figures_page(area, hazard, figures, evac, words, labels),
            _lists_page(area, hazard, geo, d["ranking"], words, labels),
        ]
        if atlas:
            pages += _atlas_pages(area, hazard, geo, d["ranking"], words, labels, atlas_limit)
        for i, fig in enumerate(pages, start=1):
            fig.text(0.5, 0.015, words["page"].format(n=i), ha="center", fontsize=7, color="#444")
            pdf.savefig(fig)
    return {"figures": figures, "ranking": d["ranking"], "evacuation": evac, "pages": len(pages)}


def _geometries(layers: BuiltLayers, scenario: str, boundary: str | None) -> dict[str, gpd.GeoDataFrame | None]:
    def read(name: str, columns: list[str] | None = None) -> gpd.GeoDataFrame | None:
        if name not in layers.names:
            return None
        frame = gpd.read_file(layers.path, layer=name, columns=columns, engine="pyogrio")
        return frame[frame["scenario"] == scenario] if "scenario" in frame.columns else frame

    buildings = read("exposure_buildings", ["hazard_class", "scenario"])
    if buildings is None:  # hidden from this reader: the map shows roads and neighbourhoods only
        buildings = gpd.GeoDataFrame({"hazard_class": []}, geometry=[], crs=layers_crs(layers))
    return {
        "buildings": buildings,
        "roads": read("roads", []),
        "shelters": read("shelters", ["safe", "scenario"]),
        "boundaries": read(f"boundaries_{boundary}", ["name"]) if boundary else None,
        "facilities": read("exposure_facilities", ["category", "name", "hazard_class", "scenario"]),
    }


def layers_crs(layers: BuiltLayers):
    """The CRS of the build (every layer shares the area's)."""
    return pyogrio.read_info(layers.path, layer=pyogrio.list_layers(layers.path)[0, 0]).get("crs")


def _evacuation(layers: BuiltLayers, scenario: str) -> dict | None:
    e = layers.get("evacuation_buildings", scenario)
    if e is None:
        return None
    reachable = e["reachable"].astype(bool).to_numpy()
    times = e.loc[reachable, "time_s"].to_numpy(dtype="float64")
    return {
        "buildings": int(len(e)),
        "unreachable": int((~reachable).sum()),
        "median_min": float(np.median(times) / 60) if len(times) else None,
        "p95_min": float(np.percentile(times, 95) / 60) if len(times) else None,
    }


def _page(title: str, subtitle: str) -> Figure:
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.965, title, fontsize=15, fontweight="bold", va="top")
    fig.text(0.06, 0.935, subtitle, fontsize=9, va="top", color="#222")
    return fig


def _subtitle(area, hazard, words: dict[str, str]) -> str:
    today = datetime.now(UTC).date().isoformat()
    parts = (f"{words['area']}: {area.title}", f"{words['scenario']}: {hazard.title}", f"{words['generated']}: {today}")
    return "   ·   ".join(parts)


def _map_page(area, hazard, geo, words, labels, dates: list[dict]) -> Figure:
    fig = _page(f"{words['title']}: {hazard.title}", _subtitle(area, hazard, words))
    ax = fig.add_axes((0.06, 0.2, 0.88, 0.71))
    shelters = geo["shelters"]
    if shelters is not None and "safe" in shelters.columns:
        shelters = shelters[shelters["safe"].astype(bool)]
    draw_map(
        ax,
        buildings=geo["buildings"],
        classes=hazard.classes.names,
        class_labels=labels,
        words=words,
        roads=geo["roads"],
        shelters=shelters,
        boundaries=geo["boundaries"],
    )
    lines = [f"{r['layer']}: {r['file']}, {r['date'] or '–'} ({r['how']})" for r in dates]
    meta = area.metadata() if hasattr(area, "metadata") else {}
    for key in ("source", "licence"):
        if meta.get(key):
            lines.append(str(meta[key]))
    lines.append(words["grid_north"])
    fig.text(0.06, 0.185, words["sources"], fontsize=8, fontweight="bold", va="top")
    fig.text(0.06, 0.17, "\n".join(_wrap(line, 120) for line in lines), fontsize=6, va="top", linespacing=1.4)
    return fig


def _figures_page(area, hazard, f: dict, evac, words, labels) -> Figure:
    fig = _page(f"{words['title']}: {hazard.title}", _subtitle(area, hazard, words))
    rows: list[tuple[str, str]] = []
    pop = f.get("population")
    if pop:
        rows += [(words["people_total"], fmt(pop["total"])), (words["people_affected"], fmt(pop["affected"]))]
        rows += [(f"   {labels[c]}", fmt(pop["by_class"].get(c))) for c in hazard.classes.names]
        rows.append((words["people_displaced"], fmt(pop["displaced"])))
    b = f.get("buildings")
    if b:
        rows.append((words["buildings_affected"], f"{fmt(b['affected'])} {words['of']} {fmt(b['total'])}"))
        rows += [(f"   {labels[c]}", fmt(b["by_class"].get(c))) for c in hazard.classes.names]
    if f.get("roads"):
        rows.append((words["roads_affected_km"], fmt(f["roads"]["affected_km"], 1)))
    fac = f.get("facilities")
    if fac:
        rows.append((words["facilities_affected"], f"{fmt(fac['affected'])} {words['of']} {fmt(fac['total'])}"))
    if evac:
        rows += [
            (words["evac_buildings"], fmt(evac["buildings"])),
            (words["evac_unreachable"], fmt(evac["unreachable"])),
            (words["evac_median_min"], fmt(evac["median_min"], 1)),
            (words["evac_p95_min"], fmt(evac["p95_min"], 1)),
        ]
    if f.get("shelters"):
        s = f["shelters"]
        rows += [(words["shelters_total"], fmt(s["total"])), (words["shelters_over"], fmt(s["over_capacity"]))]
    top = 0.9
    top = _table(fig, top, words["exposure"], [(words["figure"], words["value"]), *rows], widths=(0.62, 0.26))
    if pop:
        needs = [(words[f"need_{k}"], fmt(pop["needs"].get(k))) for k in NEEDS]
        _table(fig, top, words["needs"], [(words["figure"], words["value"]), *needs], widths=(0.62, 0.26))
    return fig


def _lists_page(area, hazard, geo, ranking: pd.DataFrame, words, labels) -> Figure:
    fig = _page(f"{words['title']}: {hazard.title}", _subtitle(area, hazard, words))
    top = _table(fig, 0.9, words["facilities_listed"], _facility_rows(geo["facilities"], hazard, words, labels))
    cols = [c for c in ("name", "pop_affected", "displaced", "buildings_affected") if c in ranking.columns]
    if len(ranking) and cols:
        head = [words["col_rank"], *[words[_COLS[c]] for c in cols]]
        body = [
            (str(int(r["rank"])), *[str(r[c]) if c == "name" else fmt(r[c]) for c in cols])
            for _, r in ranking.head(RANKING_ROWS).iterrows()
        ]
        widths = [0.08, 0.32] + [0.48 / (len(head) - 2)] * (len(head) - 2)
        top = _table(fig, top, words["ranking"], [tuple(head), *body], widths=widths[: len(head)])
    fig.text(0.06, max(top - 0.01, 0.1), words["disclaimer_title"], fontsize=8, fontweight="bold", va="top")
    fig.text(0.06, max(top - 0.027, 0.085), _wrap(words["disclaimer"], 130), fontsize=6.5, va="top", linespacing=1.4)
    return fig


_COLS = {
    "name": "col_name",
    "pop_affected": "col_people",
    "displaced": "col_displaced",
    "buildings_affected": "col_buildings",
}


def _facility_rows(facilities, hazard, words, labels) -> list[tuple[str, ...]]:
    head = (words["col_name"], words["col_category"], words["col_class"])
    if facilities is None:
        return [head]
    order = {c: i for i, c in enumerate(hazard.classes.names)}
    hit = facilities[facilities["hazard_class"].isin(order)].copy()
    hit["severity"] = hit["hazard_class"].map(order)
    hit = hit.sort_values(["severity", "name"], ascending=[False, True], na_position="last").head(FACILITIES_LISTED)
    rows = [
        (
            str(r["name"]) if isinstance(r["name"], str) and r["name"] else "–",
            words.get(f"cat_{r['category']}", str(r["category"])),
            labels.get(r["hazard_class"], r["hazard_class"]),
        )
        for _, r in hit.iterrows()
    ]
    return [head, *rows] if rows else [head, (words["none_listed"], "", "")]


def _table(fig: Figure, top: float, title: str, rows: list[tuple[str, ...]], widths=None) -> float:
    """A titled table whose top edge is at ``top`` (figure fraction); returns where the next block starts."""
    fig.text(0.06, top, title, fontsize=9, fontweight="bold", va="top")
    height = 0.0135 * len(rows)
    ax = fig.add_axes((0.06, top - 0.018 - height, 0.88, height))
    ax.axis("off")
    ncol = len(rows[0])
    widths = widths or [0.88 / ncol] * ncol
    table = ax.table(
        cellText=[list(r) for r in rows[1:]] or [[""] * ncol],
        colLabels=list(rows[0]),
        colWidths=list(widths),
        loc="upper left",
        cellLoc="left",
        bbox=Bbox.from_bounds(0, 0, sum(widths) / 0.88, 1),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    for (r, _c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_facecolor("#d9d9d9")
            cell.get_text().set_fontweight("bold")
    return top - 0.03 - height


def _atlas_pages(area, hazard, geo, ranking: pd.DataFrame, words, labels, limit: int | None) -> list[Figure]:
    units = geo["boundaries"]
    if units is None or not len(ranking) or "pop_affected" not in ranking.columns:
        return []
    chosen = ranking[ranking["pop_affected"] > 0]
    if limit is not None:
        chosen = chosen.head(limit)
    by_name = units.drop_duplicates("name").set_index("name")
    pages = []
    for _, row in chosen.iterrows():
        if row["name"] not in by_name.index:
            continue
        unit = by_name.loc[[row["name"]]]
        fig = _page(f"{words['atlas_title']}: {row['name']}", _subtitle(area, hazard, words))
        ax = fig.add_axes((0.06, 0.32, 0.88, 0.58))
        draw_map(
            ax,
            buildings=geo["buildings"],
            classes=hazard.classes.names,
            class_labels=labels,
            words=words,
            roads=geo["roads"],
            shelters=geo["shelters"],
            boundaries=unit.reset_index(),
            extent=tuple(unit.total_bounds),
        )
        body = [(words["col_rank"], str(int(row["rank"])))]
        shown = [c for c in ("pop_affected", "displaced", "buildings_affected") if c in row]
        body += [(words[_COLS[c]], fmt(row[c])) for c in shown]
        if "roads_affected_km" in row:
            body.append((words["col_roads_km"], fmt(row["roads_affected_km"], 1)))
        _table(fig, 0.29, words["figure"], [(words["figure"], words["value"]), *body], widths=(0.62, 0.26))
        pages.append(fig)
    return pages


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text
