"""What anonymous callers, planners and moderators see of reports, through the API and reports_geodataframe."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from geoapp.reports.query import reports_geodataframe, shelter_sites
from tests.helpers import bearer, feature

PERSONAL = {"reporter_name", "reporter_contact", "accuracy_m", "altitude_m", "created_by", "original", "outside_area"}
EXACT = (106.834567, -6.212345)


def _publish_household_report(app, client, make_user):
    _, trusted = make_user(app, "volunteer", trusted=True)
    f = feature(
        "need_medical",
        EXACT,
        description="grandmother needs insulin",
        reporter_name="Siti Aminah",
        reporter_contact="+62 812 555 0101",
        accuracy_m=4,
        attributes={"household": "Aminah family", "people": 6},
    )
    assert client.post("/api/reports", json=f, headers=bearer(trusted)).status_code == 201
    return f["properties"]["id"]


def test_anonymous_geojson_and_csv_have_no_personal_field_and_no_exact_coordinate(
    storage_app, storage_client, make_user
):
    _publish_household_report(storage_app, storage_client, make_user)
    raw = storage_client.get("/api/reports").get_data(as_text=True)
    for secret in ("Siti", "Aminah", "555", "insulin family", "106.834567", "-6.212345", "Aminah family"):
        assert secret not in raw
    feat = json.loads(raw)["features"][0]
    assert not PERSONAL & set(feat["properties"])
    assert feat["properties"]["attributes"] == {}
    assert feat["properties"]["location_precision_m"] == 100.0
    lon, lat = feat["geometry"]["coordinates"]
    assert (lon, lat) != EXACT
    assert abs(lon - EXACT[0]) < 0.001
    assert abs(lat - EXACT[1]) < 0.001
    csv_text = storage_client.get("/api/reports?f=csv").get_data(as_text=True)
    assert "Siti" not in csv_text
    assert "106.834567" not in csv_text
    assert not PERSONAL & set(next(csv.DictReader(io.StringIO(csv_text))))
    one = storage_client.get(f"/api/reports/{feat['id']}").json
    assert one["geometry"]["coordinates"] == [lon, lat]
    assert "reporter_name" not in one["properties"]


def test_a_narrow_bbox_cannot_find_the_exact_place(storage_app, storage_client, make_user):
    """The bbox filter applies to blurred points, so shrinking boxes around the exact point find nothing."""
    _publish_household_report(storage_app, storage_client, make_user)
    tight = f"{EXACT[0] - 1e-5},{EXACT[1] - 1e-5},{EXACT[0] + 1e-5},{EXACT[1] + 1e-5}"
    assert json.loads(storage_client.get("/api/reports", query_string={"bbox": tight}).data)["features"] == []
    wide = f"{EXACT[0] - 0.01},{EXACT[1] - 0.01},{EXACT[0] + 0.01},{EXACT[1] + 0.01}"
    [feat] = json.loads(storage_client.get("/api/reports", query_string={"bbox": wide}).data)["features"]
    blon, blat = feat["geometry"]["coordinates"]
    around_blurred = f"{blon - 1e-5},{blat - 1e-5},{blon + 1e-5},{blat + 1e-5}"
    assert (
        len(json.loads(storage_client.get("/api/reports", query_string={"bbox": around_blurred}).data)["features"]) == 1
    )


def test_planners_see_exact_points_without_personal_fields_moderators_see_all(app, client, make_user):
    _publish_household_report(app, client, make_user)
    _, planner = make_user(app, "planner")
    _, mod = make_user(app, "moderator")
    p = json.loads(client.get("/api/reports", headers=bearer(planner)).data)["features"][0]
    assert p["geometry"]["coordinates"] == list(EXACT)
    assert not PERSONAL & set(p["properties"])
    m = json.loads(client.get("/api/reports", headers=bearer(mod)).data)["features"][0]
    assert m["geometry"]["coordinates"] == list(EXACT)
    assert m["properties"]["reporter_name"] == "Siti Aminah"
    assert m["properties"]["attributes"]["people"] == 6


def test_reports_geodataframe_applies_the_same_rules(app, client, make_user):
    _publish_household_report(app, client, make_user)
    api = json.loads(client.get("/api/reports").data)["features"][0]
    with app.test_request_context():
        public = reports_geodataframe()
        mod = reports_geodataframe(viewer="moderator")
        assert public.crs == "EPSG:4326"
        assert len(public) == 1
        assert not PERSONAL & set(public.columns)
        np.testing.assert_allclose(
            [public.geometry.x[0], public.geometry.y[0]], api["geometry"]["coordinates"], atol=1e-7
        )
        assert (mod.geometry.x[0], mod.geometry.y[0]) == EXACT
        assert mod["reporter_name"][0] == "Siti Aminah"
        empty = reports_geodataframe(category="shelter_site")
        assert len(empty) == 0
        assert "category" in empty.columns


def test_published_shelter_sites_become_facility_points(app, client, make_user):
    _, trusted = make_user(app, "volunteer", trusted=True)
    f = feature("shelter_site", (106.83, -6.2), attributes={"name": "Masjid Al-Ikhlas", "capacity": "150 orang"})
    client.post("/api/reports", json=f, headers=bearer(trusted))
    client.post("/api/reports", json=feature("shelter_site", (106.84, -6.2)))  # pending: not used
    with app.test_request_context():
        sites = shelter_sites()
    assert len(sites) == 1
    assert sites.crs == "EPSG:32748"
    row = sites.iloc[0]
    assert row["facility_id"] == f"report:{f['properties']['id']}"
    assert row["category"] == "shelter"
    assert row["name"] == "Masjid Al-Ikhlas"
    assert row["capacity"] == 150.0
    assert row["source_type"] == "field_report"


def test_flood_observations_flag_wet_reports_where_the_model_is_dry(app, client, make_user, sample_area_dir):
    """Against the Jakarta 'current' scenario: a report in a deep cell is 'high', one in a dry cell is flagged."""
    import rasterio

    with rasterio.open(sample_area_dir / "flood_current.tif") as src:
        depth = src.read(1, masked=True)
        wet = np.argwhere(depth.filled(0) > 2.0)[0]
        dry = np.argwhere(depth.filled(-1) == 0)[len(np.argwhere(depth.filled(-1) == 0)) // 2]
        (wx, wy), (dx, dy) = src.xy(*wet), src.xy(*dry)
    _, trusted = make_user(app, "volunteer", trusted=True)
    for xy in ((wx, wy), (dx, dy)):
        client.post("/api/reports", json=feature("flooding_observed", xy, depth_m=0.4), headers=bearer(trusted))
    from geoapp.reports.query import flood_observations

    with app.test_request_context():
        obs = flood_observations("current")
    assert obs["model_class"].tolist() == ["high", None]
    assert obs["wet_report_dry_model"].tolist() == [False, True]
    assert obs["observed_depth_m"].tolist() == [0.4, 0.4]
    assert set(obs["scenario"]) == {"current"}


def test_field_reports_layer_is_public_and_writes_to_a_geopackage(app, client, make_user, tmp_path):
    """The build/export layer: published only, blurred, JSON attributes, shelter name/capacity as columns."""
    import geopandas as gpd

    from geoapp.reports.query import field_reports_layer

    _publish_household_report(app, client, make_user)
    _, trusted = make_user(app, "volunteer", trusted=True)
    client.post(
        "/api/reports",
        json=feature("shelter_site", (106.83, -6.2), attributes={"name": "SDN 01", "capacity": "80"}),
        headers=bearer(trusted),
    )
    client.post("/api/reports", json=feature("need_food", (106.83, -6.2), reporter_name="Hidden"))  # pending
    with app.test_request_context():
        layer = field_reports_layer()
    assert layer.crs == "EPSG:32748"
    assert sorted(layer["category"]) == ["need_medical", "shelter_site"]
    assert not PERSONAL & set(layer.columns)
    layer.to_file(tmp_path / "r.gpkg", layer="field_reports")
    back = gpd.read_file(tmp_path / "r.gpkg")
    shelter = back[back["category"] == "shelter_site"].iloc[0]
    assert shelter["name"] == "SDN 01"
    assert shelter["capacity"] == "80"
    assert "Siti" not in back.to_json()
