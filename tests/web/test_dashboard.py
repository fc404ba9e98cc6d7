"""The dashboard page: headline figures per scenario, ranking and its CSV, participation."""

import csv
import io
import re
import uuid

import geopandas as gpd
import pytest
from shapely.geometry import box

from geoapp import create_app
from layers.publish.export import write_geopackage
from tests.helpers import bearer

CRS = "EPSG:32748"


@pytest.fixture
def built_app(tmp_path):
    path = tmp_path / "area.gpkg"
    sq = [box(700_000 + 100 * i, 9_310_000, 700_050 + 100 * i, 9_310_050) for i in range(3)]
    write_geopackage(
        {
            "exposure_buildings": gpd.GeoDataFrame(
                {
                    "building_id": [1, 2, 3, 1, 2, 3],
                    "hazard_class": ["high", "low", None, None, None, "medium"],
                    "scenario": ["current"] * 3 + ["design"] * 3,
                },
                geometry=sq * 2,
                crs=CRS,
            ),
            "exposure_areas": gpd.GeoDataFrame(
                {
                    "boundary": ["rw"] * 3,
                    "area_id": [1, 2, 3],
                    "name": ['=HYPERLINK("x")', "RW 02", "RW 03"],
                    "pop_total": [100.0, 200.0, 300.0],
                    "pop_affected": [12.5, 80.0, 0.0],
                    "displaced": [2.0, 30.0, 0.0],
                    "scenario": ["current"] * 3,
                },
                geometry=sq,
                crs=CRS,
            ),
        },
        path,
    )
    return create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "BUILD": str(path)}
    )


def _cell(html, key, column=0):
    return re.findall(rf'data-key="{re.escape(key)}">([^<]*)<', html)[column]


def test_headline_figures_per_scenario(built_app):
    html = built_app.test_client().get("/dashboard").data.decode()
    assert _cell(html, "buildings.affected", 0) == "2 / 3"
    assert _cell(html, "buildings.affected", 1) == "1 / 3"
    assert _cell(html, "buildings.by_class.high") == "1"
    assert _cell(html, "population.affected") == "92"
    assert _cell(html, "population.displaced") == "32"
    assert _cell(html, "population.needs.rice_kg") == "90"  # 32 people x 2.8 kg (BNPB)
    assert "People living in the neighbourhoods" in html
    assert html.index("RW 02") < html.index("HYPERLINK")  # ranked by people affected


def test_ranking_csv_is_complete_and_safe_for_spreadsheets(built_app):
    resp = built_app.test_client().get("/dashboard/neighbourhoods.csv?boundary=rw&scenario=current")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "jakarta-rw-current-ranking.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.data.decode())))
    assert [r["name"] for r in rows] == ["RW 02", '\'=HYPERLINK("x")', "RW 03"]
    assert rows[0]["rank"] == "1"
    assert rows[0]["pop_affected"] == "80.0"


def test_bad_choices_are_404(built_app):
    client = built_app.test_client()
    assert client.get("/dashboard?boundary=nope").status_code == 404
    assert client.get("/dashboard/neighbourhoods.csv?scenario=mars").status_code == 404


def test_without_a_build_the_page_says_how_to_get_figures(client):
    html = client.get("/dashboard?lang=id").data.decode()
    assert "geoapp build" in html
    assert "Dasbor" in html
    assert 'id="dates"' in html
    assert "buildings.gpkg" in html


def test_participation_counts_reports_by_status(app, client, make_user, monkeypatch):
    """Issue 14 #6: counted in SQL, never by loading every report (60 s and 1.1 GB at 1.5M reports)."""
    import geoapp.reports.query as query

    def no_loading(*args, **kwargs):
        raise AssertionError("the dashboard must not load the reports")

    monkeypatch.setattr(query, "reports_geodataframe", no_loading)
    monkeypatch.setattr(query, "iter_report_frames", no_loading)
    _, volunteer = make_user(app, "volunteer")
    _, moderator = make_user(app, "moderator")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for rid in ids:
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [106.8201, -6.1899]},
            "properties": {"id": rid, "category": "flooding_observed", "description": "water at the knee"},
        }
        assert client.post("/api/reports", json=feature, headers=bearer(volunteer)).status_code in (200, 201, 202)
    assert (
        client.post(
            f"/api/reports/{ids[0]}/review", json={"status": "published"}, headers=bearer(moderator)
        ).status_code
        == 200
    )
    html = client.get("/dashboard").data.decode()
    assert _cell(html, "reports_received") == "3"
    assert _cell(html, "published") == "1"
    assert _cell(html, "pending") == "2"
    assert _cell(html, "contributors") == "1"
    assert re.search(r'data-key="neighbourhoods_mapped">1 / 2,6\d\d<', html)


def test_dashboard_of_the_real_build_shows_the_stored_summary(built_area):
    """The Jakarta build stores each scenario's exposure summary; the page shows its figures, per category too."""
    import json

    from geoapp import create_app
    from layers.publish.export import read_metadata

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "BUILD": str(built_area)})
    resp = app.test_client().get("/dashboard")
    assert resp.status_code == 200
    summary = json.loads(read_metadata(built_area)["exposure_summary:current"])
    html = resp.get_data(as_text=True)
    assert f"{round(summary['population']['affected']):,}" in html
    schools = sum(summary["facilities"]["by_category"]["school"].values())
    assert f"<td>{schools:,}</td>" in html


def _jakarta_without_boundaries(tmp_path, sample_area_dir):
    """The Jakarta sample area.toml, files by absolute path, every [[boundaries]] table removed."""
    text = (sample_area_dir / "area.toml").read_text(encoding="utf-8")
    kept = [block for block in re.split(r"\n(?=\[)", text) if not block.startswith("[[boundaries]]")]
    text = "\n".join(kept)
    text = re.sub(r'(file|buildings|roads) = "([^"]+)"', lambda m: f'{m[1]} = "{sample_area_dir / m[2]}"', text)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "area.toml").write_text(text, encoding="utf-8")
    assert "[[boundaries]]" not in text
    return tmp_path


def test_dashboard_without_boundaries_shows_the_area_wide_figures(tmp_path, sample_area_dir, built_area):
    """Issue 13 #4: an area without [[boundaries]] was a 500 (Undefined.__format__ on neighbourhoods mapped)."""
    from layers.publish.dashboard import stored_summaries

    area_dir = _jakarta_without_boundaries(tmp_path / "area", sample_area_dir)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "AREA": str(area_dir),
            "BUILD": str(built_area),
        }
    )
    client = app.test_client()
    resp = client.get("/dashboard")
    assert resp.status_code == 200
    html = resp.data.decode()
    summary = stored_summaries(built_area)["current"]
    shown = float(_cell(html, "population.affected").replace(",", ""))
    assert shown == pytest.approx(round(summary["population"]["affected"]))
    assert shown > 0
    assert 'data-key="neighbourhoods_mapped"' not in html  # no neighbourhoods to count
    assert 'data-key="reports_received">0<' in html
    assert 'name="boundary"' not in html
    csv_resp = client.get("/dashboard/neighbourhoods.csv")
    assert csv_resp.status_code == 200
    assert csv_resp.data.decode().splitlines()[0].startswith("rank")
