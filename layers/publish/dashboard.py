"""Dashboard figures from a built area: headline numbers per scenario, neighbourhood ranking, participation.

Every figure is read from the layers ``geoapp build`` wrote (``exposure_*``,
``evacuation_*``, ``shelters``), counted the way the exposure summary counts
them (a building is affected when it has a hazard class; road kilometres
are the lengths of the pieces in each class). People come from the
``exposure_areas`` of the first boundary set, so they are the people living
inside the neighbourhoods. A figure whose layer is absent is None.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from layers.hazard.needs import minimum_needs
from layers.publish.freshness import input_dates

RANKING_COLUMNS = [
    "name",
    "pop_affected",
    "displaced",
    "buildings_affected",
    "facilities_affected",
    "roads_affected_km",
]


class BuiltLayers:
    """The layers of a built GeoPackage, read on first use (None when a layer is absent)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.names = set(pyogrio.list_layers(self.path)[:, 0]) if self.path.exists() else set()
        self._cache: dict[str, gpd.GeoDataFrame] = {}

    def get(self, name: str, scenario: str | None = None, *, columns: list[str] | None = None) -> pd.DataFrame | None:
        if name not in self.names:
            return None
        if name not in self._cache:
            self._cache[name] = pyogrio.read_dataframe(self.path, layer=name, read_geometry=False, columns=columns)
        frame = self._cache[name]
        if scenario is not None and "scenario" in frame.columns:
            frame = frame[frame["scenario"] == scenario]
        return frame


def _counts(classes: pd.Series, names: list[str]) -> dict[str, int]:
    return {c: int((classes == c).sum()) for c in names}


def scenario_figures(
    built: BuiltLayers, scenario: str, classes: list[str], *, boundary: str | None = None, needs: str = "bnpb"
) -> dict:
    """Headline figures of one scenario: people, needs, buildings, roads, facilities, evacuation, shelters."""
    out: dict = {"scenario": scenario}
    # Without a boundary set there are no neighbourhood figures: summing every set would count people twice.
    areas = built.get("exposure_areas", scenario) if boundary is not None else None
    if areas is not None and "boundary" in areas.columns:
        areas = areas[areas["boundary"] == boundary]
    if areas is not None and "pop_affected" in areas.columns:
        displaced = float(areas["displaced"].sum()) if "displaced" in areas.columns else 0.0
        out["population"] = {
            "total": float(areas["pop_total"].sum()),
            "affected": float(areas["pop_affected"].sum()),
            "by_class": {c: float(areas[f"pop_{c}"].sum()) for c in classes if f"pop_{c}" in areas.columns},
            "displaced": displaced,
            "needs": minimum_needs(displaced, profile=needs),
        }
    b = built.get("exposure_buildings", scenario)
    if b is not None:
        by_class = _counts(b["hazard_class"], classes)
        out["buildings"] = {"total": int(len(b)), "affected": int(sum(by_class.values())), "by_class": by_class}
    r = built.get("exposure_roads", scenario)
    if r is not None and "length_m" in r.columns:
        km = {c: float(r.loc[r["hazard_class"] == c, "length_m"].sum()) / 1000 for c in classes}
        out["roads"] = {"affected_km": sum(km.values()), "by_class_km": km}
    f = built.get("exposure_facilities", scenario)
    if f is not None:
        hit = f[f["hazard_class"].notna()]
        out["facilities"] = {
            "total": int(len(f)),
            "affected": int(len(hit)),
            "by_class": _counts(f["hazard_class"], classes),
            "by_category": {
                str(k): int(v) for k, v in hit["category"].fillna("other").value_counts().sort_index().items()
            },
        }
    e = built.get("evacuation_buildings", scenario)
    if e is not None:
        out["evacuation"] = {"buildings": int(len(e)), "unreachable": int((~e["reachable"].astype(bool)).sum())}
    s = built.get("shelters", scenario)
    if s is not None:
        over = s["over_capacity"].astype(bool) if "over_capacity" in s.columns else pd.Series(False, index=s.index)
        out["shelters"] = {"total": int(len(s)), "over_capacity": int(over.sum())}
    return out


def area_ranking(built: BuiltLayers, scenario: str, *, boundary: str | None = None) -> pd.DataFrame:
    """Neighbourhoods of ``boundary`` ranked by people affected (then buildings affected); ``rank`` 1 = most.

    No boundary set, no ranking (an empty table).
    """
    areas = built.get("exposure_areas", scenario) if boundary is not None else None
    if areas is None:
        return pd.DataFrame(columns=["rank", *RANKING_COLUMNS])
    if "boundary" in areas.columns:
        areas = areas[areas["boundary"] == boundary]
    cols = [c for c in RANKING_COLUMNS if c in areas.columns]
    table = areas[cols].copy()
    keys = [c for c in ("pop_affected", "buildings_affected") if c in table.columns]
    if keys:
        table = table.sort_values(keys, ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def participation(reports: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None) -> dict:
    """Community mapping indicators: reports received / published / pending, contributors, neighbourhoods mapped.

    A neighbourhood counts as mapped when at least one published report lies in it.
    """
    status = reports["status"] if "status" in reports.columns else pd.Series("published", index=reports.index)
    out = {
        "reports_received": int(len(reports)),
        "published": int((status == "published").sum()),
        "pending": int((status == "pending").sum()),
        "rejected": int((status == "rejected").sum()),
        "contributors": int(reports["created_by"].dropna().nunique()) if "created_by" in reports.columns else None,
    }
    if units is not None:
        published = reports[(status == "published").to_numpy()]
        mapped = 0
        if len(published) and len(units):
            joined = gpd.sjoin(
                published[[published.geometry.name]].to_crs(units.crs),
                units[[units.geometry.name]],
                predicate="within",
                how="inner",
            )
            mapped = int(joined["index_right"].nunique())
        out["neighbourhoods_mapped"] = mapped
        out["neighbourhoods_total"] = int(len(units))
    return out


def _input_paths(area, built: Path) -> dict[str, Path]:
    """Every input file of the area by what it holds, and the build."""
    paths = {
        "buildings": area.buildings_path,
        "roads": area.roads_path,
        "facilities": area.facilities_path,
        "osm": area.osm_path,
    }
    paths.update({f"hazard: {h.title}": h.path for h in area.hazards})
    if area.population is not None:
        paths["population"] = area.population.path
    paths.update({f"boundaries: {b.title}": b.path for b in area.boundaries})
    paths["build"] = built
    return paths


def _participation(reports, units, count_reports) -> dict | None:
    if count_reports is not None:
        return count_reports(units)
    return participation(reports, units) if reports is not None else None


def layer_dates(paths: dict[str, Path]) -> list[dict]:
    """When each input was last changed: a GeoPackage's ``gpkg_contents.last_change``, a GeoTIFF's
    ``TIFFTAG_DATETIME``, else the file's modification time.

    One row per name: ``layer``, ``file``, ``date``, ``how``.
    """
    rows = []
    for name, path in paths.items():
        path = Path(path)
        date, how = None, "file modified"
        if path.suffix.lower() == ".gpkg":
            date = _gpkg_date(path)
            how = "GeoPackage last_change" if date else how
        elif path.suffix.lower() in (".tif", ".tiff"):
            date = _tiff_date(path)
            how = "TIFF DateTime tag" if date else how
        if date is None and path.exists():
            date = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()
        rows.append({"layer": name, "file": path.name, "date": date, "how": how})
    return rows


def _gpkg_date(path: Path) -> str | None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            row = con.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()
    except sqlite3.Error:
        return None
    return row[0][:10] if row and row[0] else None


def _tiff_date(path: Path) -> str | None:
    import rasterio

    try:
        with rasterio.open(path) as src:
            value = src.tags().get("TIFFTAG_DATETIME")
    except rasterio.errors.RasterioIOError:
        return None
    return value[:10].replace(":", "-") if value else None


def live_figures(layers: BuiltLayers, units) -> dict:
    """What field reports changed: ``observations`` (reports the scenarios disagree with), ``layer_updated``
    (when each layer was last rebuilt, from ``layer_updated:<name>`` metadata) and ``newest_reports`` (per
    neighbourhood)."""
    from layers.publish.export import read_metadata
    from layers.publish.freshness import newest_report_per_unit

    mism = layers.get("observation_mismatches")
    observations = [] if mism is None else mism.drop(columns=["geometry"], errors="ignore").to_dict("records")
    meta = read_metadata(layers.path) if layers.names else {}
    updated = {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("layer_updated:")}
    reports = pyogrio.read_dataframe(layers.path, layer="field_reports") if "field_reports" in layers.names else None
    return {
        "observations": observations,
        "layer_updated": updated,
        "newest_reports": newest_report_per_unit(reports, units),
    }


def stored_summaries(path: str | Path) -> dict[str, dict]:
    """Exposure summaries the build stored in its metadata as ``exposure_summary:<scenario>`` = JSON ({} when none)."""
    import json

    from layers.publish.export import read_metadata

    if not Path(path).exists():
        return {}
    meta = read_metadata(path)
    return {k.split(":", 1)[1]: json.loads(v) for k, v in meta.items() if k.startswith("exposure_summary:")}


def dashboard(
    area,
    built: str | Path | BuiltLayers,
    *,
    boundary: str | None = None,
    ranking_scenario: str | None = None,
    reports: gpd.GeoDataFrame | None = None,
    count_reports: Callable[[gpd.GeoDataFrame | None], dict] | None = None,
) -> dict:
    """Everything the dashboard shows, for ``area`` (an :class:`~layers.area.Area`) and its build.

    ``scenarios`` (figures per scenario, the analysis' own summary where the
    build stored it), ``ranking`` (neighbourhoods of ``boundary`` for
    ``ranking_scenario``), ``compare`` (people affected per neighbourhood in
    every scenario, the ten most affected), ``participation`` (when
    ``reports`` are given: every status, counts only) and ``dates``.

    ``count_reports(units)`` gives the participation figures instead of ``reports`` when the reports are
    counted where they are stored (a database counts a million reports without loading them).
    """
    layers = built if isinstance(built, BuiltLayers) else BuiltLayers(built)
    built = layers.path
    scenario_ids = [h.id for h in area.hazards]
    boundary = boundary or (area.boundaries[0].id if area.boundaries else None)
    ranking_scenario = ranking_scenario or (scenario_ids[0] if scenario_ids else None)
    stored = stored_summaries(built)
    figures = []
    for h in area.hazards:
        fig = scenario_figures(layers, h.id, h.classes.names, boundary=boundary)
        fig["title"], fig["classes"], fig["kind"] = h.title, h.classes.names, h.hazard_kind
        summary = stored.get(h.id)
        if summary:
            fig["population_scope"] = "area"
            for key in ("population", "buildings", "facilities"):
                if key in summary:
                    fig[key] = {**fig.get(key, {}), **summary[key]}
            if isinstance(summary.get("facilities", {}).get("by_category"), dict):
                # the summary counts each category per class; the dashboard shows the affected total
                fig["facilities"]["by_category"] = {
                    cat: sum(v.values()) if isinstance(v, dict) else v
                    for cat, v in summary["facilities"]["by_category"].items()
                }
            if "roads" in summary:
                fig["roads"] = {
                    "affected_km": summary["roads"]["affected_km"],
                    "by_class_km": summary["roads"]["by_class_km"],
                }
        else:
            fig["population_scope"] = "neighbourhoods"
        figures.append(fig)
    ranking = (
        area_ranking(layers, ranking_scenario, boundary=boundary) if ranking_scenario else area_ranking(layers, "")
    )
    compare = []
    if len(ranking) and "pop_affected" in ranking.columns:
        per = {
            sid: area_ranking(layers, sid, boundary=boundary).drop_duplicates("name").set_index("name")["pop_affected"]
            for sid in scenario_ids
        }
        for name in ranking.head(10)["name"]:
            compare.append({"name": name, **{sid: float(per[sid].get(name, 0.0)) for sid in scenario_ids}})
    units = area.boundary_layer(boundary) if boundary else None
    paths = _input_paths(area, Path(built))
    return {
        "scenarios": figures,
        "boundary": boundary,
        "ranking_scenario": ranking_scenario,
        "ranking": ranking,
        "compare": compare,
        "participation": _participation(reports, units, count_reports),
        "dates": input_dates({k: v for k, v in paths.items() if v is not None and Path(v).exists()}),
        "built": bool(layers.names),
        "combined": combined_view(layers, scenario_ids),
        **live_figures(layers, units),
    }


def combined_view(layers: BuiltLayers, scenario_ids: list[str]) -> dict | None:
    """Several hazards together (``exposure_combined``, :mod:`layers.hazard.combined`): per neighbourhood the
    people and buildings exposed to at least one hazard, to several and to each; None with fewer than two."""
    table = layers.get("exposure_combined")
    if table is None or len(scenario_ids) < 2 or not len(table):
        return None
    table = table.drop(columns=[c for c in ("geometry",) if c in table.columns])
    table = table.sort_values(
        "pop_any_hazard" if "pop_any_hazard" in table else "buildings_any_hazard", ascending=False
    )
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in table.to_dict(orient="records")]
    totals = {c: float(table[c].sum()) for c in table.columns if c.startswith(("pop_", "buildings_"))}
    return {"scenarios": scenario_ids, "rows": rows, "totals": totals}
