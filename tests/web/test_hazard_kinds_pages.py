"""Hazard kinds on the pages: a Kathmandu-style area (an earthquake and a flood side by side) goes through
`geoapp build`, the map, the dashboard and the standalone export with each kind's words and the combined
view; an earthquake-only area never speaks of water depth. Built from InaSAFE's multihazard test data."""

from __future__ import annotations

import re
import shutil

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from geoapp import create_app
from geoapp.cli import main
from layers.hazard.kinds import kinds
from tests.helpers import SHARED_DATA

MH = SHARED_DATA / "multihazard"
FLOOD_WORDS = re.compile(
    r"(?i)water depth|deep(est)? water|flood water|flooded|flood depth|\bdepth\b(?!-legend)"
    r"|kedalaman air|inond|mafuriko|banjir|tergenang"
)


def _area(tmp_path, scenarios: str):
    d = tmp_path / "ktm"
    d.mkdir()
    for name in (
        "hazard/earthquake.tif",
        "exposure/pop_binary_raster_20_20.asc",
        "exposure/pop_binary_raster_20_20.prj",
    ):
        shutil.copy(MH / name, d)
    for ext in ("asc", "prj"):
        shutil.copy(MH / f"hazard/continuous_flood_20_20.{ext}", d)
    for ext in ("shp", "shx", "dbf", "prj"):
        shutil.copy(MH / f"exposure/buildings.{ext}", d)
    shutil.copy(MH / "gisv4/aggregation/small_grid.geojson", d)
    (d / "area.toml").write_text(
        '[area]\nname = "ktm"\ntitle = "Kathmandu-style"\n\n[layers]\nbuildings = "buildings.shp"\n\n'
        + scenarios
        + '\n[population]\nfile = "pop_binary_raster_20_20.asc"\n\n'
        '[[boundaries]]\nid = "ward"\nfile = "small_grid.geojson"\nname_field = "area_name"\nid_field = "area_id"\n'
    )
    out = CliRunner().invoke(main, ["build", str(d), "--quiet", "--db", f"sqlite:///{tmp_path / 'r.db'}"])
    assert out.exit_code == 0, out.output
    return d


QUAKE = '[[hazard]]\nid = "quake"\ntitle = "Earthquake M7"\nkind = "earthquake"\nfile = "earthquake.tif"\n'
FLOOD = '[[hazard]]\nid = "flood"\ntitle = "Monsoon flood"\nkind = "flood"\nfile = "continuous_flood_20_20.asc"\n'


def _app(tmp_path, d):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "AREA": str(d),
            "BUILD": str(d / "build" / "area.gpkg"),
        }
    )


@pytest.mark.slow
def test_kathmandu_style_area_earthquake_and_flood_side_by_side(tmp_path):
    d = _area(tmp_path, QUAKE + "\n" + FLOOD)
    combined = gpd.read_file(d / "build/area.gpkg", layer="exposure_combined").set_index("name")
    # Oracle: each populated cell centre (the flood grid is the population grid) sampled in both hazards.
    with (
        rasterio.open(d / "pop_binary_raster_20_20.asc") as p,
        rasterio.open(d / "earthquake.tif") as q,
        rasterio.open(d / "continuous_flood_20_20.asc") as f,
    ):
        pop = p.read(1).astype(float)
        rows, cols = np.nonzero(pop > 0)
        xs, ys = rasterio.transform.xy(p.transform, rows, cols)
        mmi = np.array([v[0] for v in q.sample(zip(xs, ys, strict=True))])
        depth = f.read(1)[rows, cols]
    quake, flood = mmi > 1.5, depth >= 0.1  # MMI II and up; flood low from 0.1 m
    wards = gpd.read_file(d / "small_grid.geojson")
    pts = gpd.GeoDataFrame(
        {"p": pop[rows, cols], "q": quake, "f": flood}, geometry=gpd.points_from_xy(xs, ys), crs=4326
    )
    j = gpd.sjoin(pts, wards[["area_name", "geometry"]], predicate="within")
    for name, g in j.groupby("area_name"):
        assert combined.loc[name, "pop_quake"] == pytest.approx(g.loc[g.q, "p"].sum())
        assert combined.loc[name, "pop_flood"] == pytest.approx(g.loc[g.f, "p"].sum())
        assert combined.loc[name, "pop_any_hazard"] == pytest.approx(g.loc[g.q | g.f, "p"].sum())
        assert combined.loc[name, "pop_several_hazards"] == pytest.approx(g.loc[g.q & g.f, "p"].sum())
    client = _app(tmp_path, d).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "Shaking intensity (MMI)" in page  # the earthquake's legend travels in the config
    assert "Water depth" in page  # and the flood's
    assert '"kind": "earthquake"' in page or '"kind":"earthquake"' in page
    dash = client.get("/dashboard").get_data(as_text=True)
    assert 'id="combined"' in dash
    assert "People exposed to at least one hazard" in dash
    assert "Expected deaths (ITB model)" in dash
    assert "Earthquake" in dash
    total = f"{combined['pop_any_hazard'].sum():,.0f}"
    assert re.search(r'data-key="combined.pop_any_hazard">' + re.escape(total) + "<", dash)
    fr = client.get("/dashboard?lang=fr").get_data(as_text=True)
    assert "Personnes exposées à au moins un aléa" in fr
    assert "Séisme" in fr


@pytest.mark.slow
def test_earthquake_pages_and_exports_never_say_water_depth(tmp_path):
    d = _area(tmp_path, QUAKE)
    client = _app(tmp_path, d).test_client()
    for lang in ("en", "fr", "sw", "id"):
        for url in ("/", "/dashboard", "/map/standalone.html"):
            text = client.get(f"{url}?lang={lang}").get_data(as_text=True)
            found = [text[max(0, m.start() - 60) : m.end() + 20] for m in FLOOD_WORDS.finditer(text)]
            assert not found, (lang, url, found)
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Shaking intensity (MMI)" in page
    assert "Earthquake scenario" in page
    # The GeoPackage export: every text in it (layer descriptions, styles, metadata)
    out = CliRunner().invoke(main, ["export", str(d), "--format", "gpkg", "--out", str(tmp_path / "quake.gpkg")])
    assert out.exit_code == 0, out.output
    import sqlite3

    with sqlite3.connect(tmp_path / "quake.gpkg") as db:
        tables = [t for (t,) in db.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in db.execute(f'select * from "{table}"'):
                texts = " ".join(v for v in row if isinstance(v, str))
                assert not FLOOD_WORDS.search(texts), (table, FLOOD_WORDS.search(texts))
    cols = gpd.read_file(d / "build/area.gpkg", layer="exposure_buildings").columns
    assert "mmi_max" in cols
    assert "damage_class" in cols
    assert "depth_max_m" not in cols


def test_every_kind_has_its_words_in_every_language():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for lang in ("en", "fr", "sw", "id"):
        maps = json.loads((root / f"layers/publish/assets/i18n/{lang}.json").read_text(encoding="utf-8"))
        pages = json.loads((root / f"geoapp/i18n/{lang}.json").read_text(encoding="utf-8"))
        for key, kind in kinds().items():
            assert maps[f"kind_{key}"]
            assert maps[f"js_legend_{key}"]
            for name in kind.scheme().names:
                assert f"class_{name}" in maps, (lang, name)
            for col in (kind.value_column, kind.point_column):
                assert f"col_{col}" in maps, (lang, col)
            if key != "flood":
                assert maps[f"depth_legend_{key}"], (lang, key)
                assert pages[f"map_intro_{key}"], (lang, key)
                assert (
                    not FLOOD_WORDS.search(maps[f"depth_legend_{key}"] + pages[f"map_intro_{key}"]) or key == "tsunami"
                )
