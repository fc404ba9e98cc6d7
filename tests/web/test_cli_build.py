"""`geoapp build` hands the published field reports (public view) to the analyses."""

from __future__ import annotations

import shutil

import numpy as np
import pyogrio
import rasterio

from geoapp.cli.build import build_with_reports
from tests.helpers import bearer, feature

BBOX = (106.80, -6.22, 106.83, -6.19)


def _small_area(tmp_path, sample_area_dir):
    """A corner of the Jakarta sample: its buildings, roads and kelurahan inside BBOX, the full grids."""
    area = tmp_path / "area"
    area.mkdir()
    for name in ("buildings", "roads", "kelurahan"):
        gdf = pyogrio.read_dataframe(sample_area_dir / f"{name}.gpkg", bbox=BBOX)
        pyogrio.write_dataframe(gdf, area / f"{name}.gpkg")
    for name in ("flood_current.tif", "population.tif"):
        shutil.copy(sample_area_dir / name, area / name)
    (area / "area.toml").write_text(
        '[area]\nname = "corner"\ncrs = "EPSG:32748"\n'
        '[layers]\nbuildings = "buildings.gpkg"\nroads = "roads.gpkg"\n'
        '[[hazard]]\nid = "current"\nfile = "flood_current.tif"\n'
        '[population]\nfile = "population.tif"\nscale = 0.025\n'
        '[[boundaries]]\nid = "kel"\nfile = "kelurahan.gpkg"\nname_field = "KEL_NAME2"\n'
    )
    return area


def _dry_point(sample_area_dir):
    with rasterio.open(sample_area_dir / "flood_current.tif") as src:
        window = rasterio.windows.from_bounds(*BBOX, transform=src.transform)
        depth = src.read(1, window=window)
        row, col = np.argwhere(depth == 0)[len(np.argwhere(depth == 0)) // 2]
        return src.xy(row + int(window.row_off), col + int(window.col_off))


def test_build_uses_published_shelter_sites(app, client, make_user, tmp_path, sample_area_dir):
    area = _small_area(tmp_path, sample_area_dir)
    _, trusted = make_user(app, "volunteer", trusted=True)  # trusted: published directly
    site = feature(
        "shelter_site",
        _dry_point(sample_area_dir),
        reporter_name="Budi Santoso",
        attributes={"name": "Balai warga", "capacity": "80 orang"},
    )
    assert client.post("/api/reports", json=site, headers=bearer(trusted)).status_code == 201
    client.post("/api/reports", json=feature("shelter_site", _dry_point(sample_area_dir)))  # pending: not used

    out = build_with_reports(area, tmp_path / "corner.gpkg", progress=False, db=app.config["DATABASE_URL"])

    shelters = pyogrio.read_dataframe(out, layer="shelters", read_geometry=False)
    from_reports = shelters[shelters["source"] == "field_report"]
    assert from_reports["report_id"].tolist() == [site["properties"]["id"]]
    assert from_reports["capacity"].tolist() == [80.0]
    assert from_reports["safe"].all()
    reports = pyogrio.read_dataframe(out, layer="field_reports")
    assert len(reports) == 1
    assert not {"reporter_name", "reporter_contact"} & set(reports.columns)
    assert b"Budi Santoso" not in out.read_bytes()
