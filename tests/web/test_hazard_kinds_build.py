"""Every hazard kind through `geoapp build` and the dashboard: one area holding a scenario of each kind
(InaSAFE's multihazard test layers), its summaries, the combined view and each kind's name on the page."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pytest
from click.testing import CliRunner

from geoapp import create_app
from geoapp.cli import main
from layers.publish.export import read_metadata
from tests.helpers import SHARED_DATA

MH = SHARED_DATA / "multihazard"


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


ALL_KINDS = {
    "flood": ("continuous_flood_20_20.asc", ""),
    "tsunami": ("tsunami_wgs84.tif", ""),
    "earthquake": ("earthquake.tif", ""),
    "volcano": ("volcano_point.shp", ""),
    "volcanic_ash": ("ash_raster_wgs84.tif", ""),
    "cyclone": ("classified_flood_20_20.asc", 'classes = "category_1:0-1,category_2:1-2,category_3:2-"\n'),
    "landslide": ("classified_flood_20_20.asc", ""),
    "generic": ("classified_generic_polygon.shp", 'field = "h_zone"\n'),
}


HERE = {"continuous_flood_20_20.asc": "continuous_flood_20_20.asc", "earthquake.tif": "earthquake.tif"}  # in the area


@pytest.mark.slow
def test_every_kind_through_geoapp_build_and_the_dashboard(tmp_path):
    for name in ("tsunami_wgs84.tif", "ash_raster_wgs84.tif"):
        shutil.copy(MH / "hazard" / name, tmp_path)
    for stem in ("volcano_point", "classified_generic_polygon"):
        for ext in ("shp", "shx", "dbf", "prj"):
            shutil.copy(MH / f"hazard/{stem}.{ext}", tmp_path)
    for ext in ("asc", "prj"):
        shutil.copy(MH / f"hazard/classified_flood_20_20.{ext}", tmp_path)
    tables = "".join(
        f'[[hazard]]\nid = "{k}"\ntitle = "{k} scenario"\nkind = "{k}"\nfile = "{HERE.get(f, "../" + f)}"\n{extra}\n'
        for k, (f, extra) in ALL_KINDS.items()
    )
    d = _area(tmp_path, tables)
    meta = read_metadata(d / "build/area.gpkg")
    for k in ALL_KINDS:
        s = json.loads(meta[f"exposure_summary:{k}"])
        assert s["kind"] == k
        assert s["buildings"]["total"] == 181
        assert s["population"]["total"] == 200
        assert s["population"]["affected"] > 0, k
    combined = gpd.read_file(d / "build/area.gpkg", layer="exposure_combined")
    assert {f"pop_{k}" for k in ALL_KINDS} <= set(combined.columns)
    assert (combined["pop_any_hazard"] >= combined[[f"pop_{k}" for k in ALL_KINDS]].max(axis=1) - 1e-9).all()
    dash = _app(tmp_path, d).test_client().get("/dashboard").get_data(as_text=True)
    for word in ("Earthquake", "Tsunami", "Volcano", "Volcanic ash", "Cyclone", "Landslide", "Hazard zones"):
        assert word in dash
