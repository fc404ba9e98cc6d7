"""GeoPackage, the default export: several layers, their descriptions, a metadata table and QGIS styles.

Reading back what geoapp wrote is here too: the data layers of a build, its metadata, each layer's description.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyogrio

from layers.errors import NotFoundError
from layers.publish.files import Layers, Progress, check_layers, for_file, write_frame
from layers.publish.rule_styles import ROUTES_FIELD, route_children, rule_qml, scenario_qml
from layers.publish.styles import layer_style, to_qml, to_sld

GENERATOR = "geoapp"
METADATA_TABLE = "geoapp_metadata"
STYLES_TABLE = "layer_styles"
NON_DATA_TABLES = frozenset({METADATA_TABLE, STYLES_TABLE})

# What each layer holds, for GeoPackage descriptions and the layer list. Prefixes match analysis layers.
DESCRIPTIONS: dict[str, str] = {
    "buildings": "Building footprints (OpenStreetMap-derived): id, type, levels, capacity (people), name.",
    "roads": "Road centre lines: id, OSM highway class, one-way flag, name.",
    "facilities": "Critical facilities (points): normalised category, name, capacity, footprint they came from.",
    "shelters": "Evacuation shelters: capacity, whether they are safe in each scenario.",
    "field_reports": "Published community field reports (locations blurred, no personal data).",
}
PREFIX_DESCRIPTIONS: dict[str, str] = {
    "boundaries_": "Administrative or neighbourhood boundaries",
    "exposure_": "Exposure to the hazard per scenario (column scenario): hazard class and the hazard's value",
    "evacuation_": "Evacuation analysis: nearest safe shelter, walking distance and time",
    "precarity_": "Precarious-neighbourhood index and its components",
}


def describe(name: str) -> str:
    """A one-line description of a layer, by its name."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    for prefix, text in PREFIX_DESCRIPTIONS.items():
        if name.startswith(prefix):
            return f"{text}: {name[len(prefix) :].replace('_', ' ')}."
    return name.replace("_", " ").capitalize() + "."


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geoapp")
    except PackageNotFoundError:  # running from a source tree without install
        return "unknown"


# -- reading the built layers ------------------------------------------------------------------


def list_layers(path: str | Path) -> list[dict]:
    """The data layers of a GeoPackage: name, geometry type, feature count, description (metadata tables skipped)."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"no built layers at {path}; run `geoapp build AREA_DIR` first")
    descriptions = _gpkg_descriptions(path)
    out = []
    for name, geom_type in pyogrio.list_layers(path):
        if name in NON_DATA_TABLES or geom_type is None:
            continue
        info = pyogrio.read_info(path, layer=name)
        out.append(
            {
                "name": name,
                "geometry_type": geom_type,
                "features": int(info["features"]),
                "fields": list(info["fields"]),
                "crs": info["crs"],
                "description": descriptions.get(name) or describe(name),
            }
        )
    return out


def _gpkg_descriptions(path: Path) -> dict[str, str]:
    try:
        df = pyogrio.read_dataframe(path, sql="SELECT table_name, description FROM gpkg_contents", read_geometry=False)
    except Exception:  # not a GeoPackage, or an old one: fall back to our names
        return {}
    return {r.table_name: r.description for r in df.itertuples() if isinstance(r.description, str) and r.description}


def read_layers(path: str | Path, names: list[str] | None = None) -> Layers:
    """Layers of a built GeoPackage by name (all data layers when ``names`` is None)."""
    available = [layer["name"] for layer in list_layers(path)]
    names = available if names is None else names
    missing = [n for n in names if n not in available]
    if missing:
        raise NotFoundError(f"no layer {missing} in {path}; layers are {available}")
    return {n: pyogrio.read_dataframe(path, layer=n) for n in names}


# What an export of a build carries over from the build's metadata (not analysis summaries stored there).
CARRIED_METADATA = ("area", "title", "source", "licence", "scenarios", "built_at", "input_dates")


def export_metadata(path: str | Path) -> dict[str, str]:
    """The descriptive metadata of a built GeoPackage for files exported from it."""
    meta = read_metadata(path)
    return {k: meta[k] for k in CARRIED_METADATA if k in meta}


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``geoapp_metadata`` table of a GeoPackage we wrote, as a dict ({} when absent)."""
    try:
        df = pyogrio.read_dataframe(path, layer=METADATA_TABLE, read_geometry=False)
    except Exception:
        return {}
    return dict(zip(df["key"].astype(str), df["value"].astype(str), strict=False))


# -- writing -----------------------------------------------------------------------------------


def metadata_rows(metadata: dict | None, layers: Layers) -> pd.DataFrame:
    """The key/value rows of the ``geoapp_metadata`` table: the caller's metadata plus date, CRS and generator."""
    meta = {str(k): "" if v is None else str(v) for k, v in (metadata or {}).items()}
    meta.setdefault("date", datetime.now(UTC).isoformat(timespec="seconds"))
    crs = {gdf.crs.to_string() for gdf in layers.values() if gdf.crs is not None}
    meta.setdefault("crs", ",".join(sorted(crs)))
    if "scenario" not in meta:  # the scenarios the layers hold, else those of the area
        scen = sorted(
            {str(s) for gdf in layers.values() if "scenario" in gdf.columns for s in gdf["scenario"].dropna().unique()}
        )
        meta["scenario"] = ",".join(scen) or meta.get("scenarios", "")
    meta.setdefault("source", "")
    meta.setdefault("licence", "")
    meta["generator"] = GENERATOR
    meta["generator_version"] = _version()
    meta["layers"] = ",".join(layers)
    return pd.DataFrame({"key": list(meta), "value": list(meta.values())})


def styles_table(layers: Layers) -> pd.DataFrame:
    """QGIS's ``layer_styles`` table: a default QML + SLD style per layer, and one style per scenario.

    Layers holding several scenarios get a rule-based default (a rule per scenario, the first on)
    and a named style per scenario; ``*_routes`` layers are graduated by ``people``.
    """
    now = pd.Timestamp.now(tz="UTC").floor("s")
    rows = []
    for name, gdf in layers.items():
        style = layer_style(gdf, name=name)
        scenarios = sorted(str(s) for s in gdf["scenario"].dropna().unique()) if "scenario" in gdf.columns else []
        # Routes by the people walking them; layers of several scenarios: a rule per scenario, not all stacked.
        kids = route_children(gdf[ROUTES_FIELD]) if name.endswith("_routes") and ROUTES_FIELD in gdf else None
        qml = rule_qml(style, scenarios, kids=kids) if len(scenarios) > 1 or kids else to_qml(style)
        styles = [(name, qml, True, f"geoapp default style for {name}")]
        if len(scenarios) > 1:
            styles += [
                (f"{name} ({s})", scenario_qml(style, s, kids=kids), False, f"{name}: scenario {s} only")
                for s in scenarios
            ]
        for style_name, style_qml, default, description in styles:
            rows.append(
                {
                    "f_table_catalog": "",
                    "f_table_schema": "",
                    "f_table_name": name,
                    "f_geometry_column": "geom",
                    "styleName": style_name,
                    "styleQML": style_qml,
                    "styleSLD": to_sld(style, layer_name=name),
                    "useAsDefault": default,
                    "description": description,
                    "owner": GENERATOR,
                    "ui": None,
                    "update_time": now,
                }
            )
    return pd.DataFrame(rows)


def write_geopackage(
    layers: Layers,
    path: str | Path,
    *,
    metadata: dict | None = None,
    descriptions: dict[str, str] | None = None,
    styles: bool = True,
    progress: Progress | None = None,
    keep_existing: bool = False,
    largest_first: bool = False,
) -> Path:
    """Write several layers into one GeoPackage, with descriptions, a metadata table and QGIS styles.

    Parameters
    ----------
    layers : name → GeoDataFrame (any CRS; kept as is).
    metadata : key/values for the ``geoapp_metadata`` table (source, licence, scenario...); date, CRS and
        generator version are added.
    descriptions : per-layer descriptions overriding :func:`describe`.
    styles : write the ``layer_styles`` table QGIS reads.
    keep_existing : add to the file's layers (e.g. one written batch by batch) instead of starting anew.
    largest_first : write the layer with the most features first (the file lists it first). GDAL builds a
        layer's spatial index in a background thread only for the first layer of a new file: on an
        evacuation plan's 485,000 routes that is 1.2 s instead of 1.5 s.
    """
    check_layers(layers)
    path = Path(path)
    if not keep_existing:
        path.unlink(missing_ok=True)
    descriptions = descriptions or {}
    total = len(layers) + 1
    order = sorted(layers, key=lambda n: -len(layers[n])) if largest_first and not keep_existing else list(layers)
    for i, name in enumerate(order):
        gdf = layers[name]
        desc = descriptions.get(name) or describe(name)
        # GeoPackage 1.2: readable by every GDAL since 2.2 (QGIS LTRs, Debian's GDAL 3.6 warns on 1.4).
        write_frame(
            for_file(gdf),
            path,
            driver="GPKG",
            layer=name,
            dataset_options={"VERSION": "1.2"} if i == 0 and not path.exists() else None,
            layer_options={"IDENTIFIER": name, "DESCRIPTION": desc},
            use_arrow=True,  # GDAL's Arrow batch writer: several times faster on big layers
        )
        if progress:
            progress(i + 1, total, name)
    pyogrio.write_dataframe(
        metadata_rows(metadata, layers),
        path,
        driver="GPKG",
        layer=METADATA_TABLE,
        layer_options={"DESCRIPTION": "About this file: source, licence, date, scenario, CRS, generator"},
    )
    if styles:
        pyogrio.write_dataframe(styles_table(layers), path, driver="GPKG", layer=STYLES_TABLE)
    if progress:
        progress(total, total, METADATA_TABLE)
    return path
