"""The printed impact report: `geoapp report` and the dashboard's download, read back with poppler.

The figures printed are checked against the dashboard page of the same build
(the contract: paper and screen agree) and the walking times against the
evacuation layer read independently; pages are rendered to check they are not
blank and stay readable in grey.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from click.testing import CliRunner
from PIL import Image

from geoapp import create_app
from geoapp.cli import main
from layers.publish.printmap import class_colours, nice_length
from tests.helpers import ROOT, SAMPLE_AREA, require

IMPACT_STRINGS = ROOT / "layers" / "publish" / "assets" / "i18n" / "impact"


@pytest.fixture(scope="module")
def poppler():
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        require("GEOAPP_REQUIRE_POPPLER", "poppler-utils (pdftotext, pdftoppm)")


def _text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    command = ["pdftotext", "-layout", *pages, str(pdf), "-"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path) -> int:
    return _text(pdf).count("\f")


def _report(built_area, out: Path, *args: str):
    return CliRunner().invoke(main, ["report", str(SAMPLE_AREA), "--build", str(built_area), "--out", str(out), *args])


@pytest.fixture(scope="module")
def english_report(built_area, tmp_path_factory, poppler):
    out = tmp_path_factory.mktemp("report") / "report.pdf"
    result = _report(built_area, out, "--scenario", "current", "--boundaries", "rw", "--atlas", "--atlas-limit", "3")
    assert result.exit_code == 0, result.output
    return out


def _dashboard_cells(built_area) -> dict[str, str]:
    """The dashboard's headline cells of scenario `current`, by data-key, as the page prints them."""
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "BUILD": str(built_area)})
    html = app.test_client().get("/dashboard?scenario=current&boundary=rw").get_data(as_text=True)
    cells: dict[str, str] = {}
    for key, value in re.findall(r'<td data-key="([^"]+)">([^<]*)</td>', html):
        cells.setdefault(key, value.strip())  # the first column is the first scenario, `current`
    return cells


def test_report_figures_equal_the_dashboard(english_report, built_area):
    text = " ".join(_text(english_report, 1, 3).split())
    cells = _dashboard_cells(built_area)
    keys = [
        "population.total",
        "population.affected",
        "population.displaced",
        *(f"population.by_class.{c}" for c in ("low", "medium", "high")),
        *(f"population.needs.{k}" for k in ("rice_kg", "drinking_water_l", "clean_water_l", "family_kits", "toilets")),
        "roads.affected_km",
    ]
    for key in keys:
        assert cells[key] not in ("", "–"), key
        assert f" {cells[key]}" in text, (key, cells[key])
    affected, total = (v.strip() for v in cells["buildings.affected"].split("/"))
    assert f"Buildings affected {affected} of {total}" in text


def test_report_walking_times_match_the_evacuation_layer(english_report, built_area):
    e = pyogrio.read_dataframe(built_area, layer="evacuation_buildings", read_geometry=False)
    e = e[(e["scenario"] == "current") & e["reachable"].astype(bool)]
    median, p95 = np.median(e["time_s"]) / 60, np.percentile(e["time_s"], 95) / 60
    text = " ".join(_text(english_report, 2, 2).split())
    assert f"Median walk to a shelter (minutes) {median:,.1f}" in text
    assert f"95th percentile walk (minutes) {p95:,.1f}" in text


def test_atlas_pages_follow_the_ranking(english_report, built_area):
    areas = pyogrio.read_dataframe(built_area, layer="exposure_areas", read_geometry=False)
    rw = areas[(areas["scenario"] == "current") & (areas["boundary"] == "rw")]
    top = rw.sort_values(["pop_affected", "buildings_affected"], ascending=False, kind="stable").head(3)
    assert _pages(english_report) == 3 + 3
    for page, (_, row) in enumerate(top.iterrows(), start=4):
        text = _text(english_report, page, page)
        assert f"Neighbourhood atlas: {row['name']}" in text
        assert f"{row['pop_affected']:,.0f}" in text


def test_map_page_is_drawn_with_legend_scale_bar_and_sources(english_report, tmp_path):
    text = _text(english_report, 1, 1)
    for expected in ("Legend", "Not affected", "Low", "Medium", "High", "Shelters", "Sources", "flood_current.tif"):
        assert expected in text
    assert re.search(r"\b0\s+\d+(\.\d+)? k?m\b", text), "scale bar labels"
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-f", "1", "-l", "1", str(english_report), str(tmp_path / "p")])
    page = np.asarray(Image.open(next(tmp_path.glob("p*.pgm"))))
    assert (page < 200).mean() > 0.05, "the map page is almost blank"


def test_class_colours_stay_apart_in_grey():
    """Printed in greyscale, each class is darker than the one before it (and than unaffected buildings)."""
    colours = class_colours(["low", "medium", "high", "very_high"])
    grey = [np.dot(Image.new("RGB", (1, 1), c).getpixel((0, 0)), (0.299, 0.587, 0.114)) for c in colours.values()]
    assert all(a - b > 20 for a, b in zip(grey, grey[1:], strict=False))
    assert grey[0] < 230


@pytest.mark.parametrize(("span", "length"), [(10_000, 2000), (3_000, 500), (740, 100), (12, 2)])
def test_scale_bar_length_is_round(span, length):
    assert nice_length(span) == length


@pytest.mark.parametrize("lang", ["fr", "sw", "id"])
def test_report_in_each_language(built_area, tmp_path, poppler, lang):
    words = json.loads((IMPACT_STRINGS / f"{lang}.json").read_text(encoding="utf-8"))
    out = tmp_path / f"report-{lang}.pdf"
    result = _report(built_area, out, "--scenario", "design", "--lang", lang)
    assert result.exit_code == 0, result.output
    text = " ".join(_text(out).split())
    for key in ("title", "people_affected", "needs", "disclaimer_title"):
        assert words[key] in text, key
    assert "People affected" not in text


def test_every_language_has_every_report_key():
    english = json.loads((IMPACT_STRINGS / "en.json").read_text(encoding="utf-8"))
    for lang in ("fr", "sw", "id"):
        other = json.loads((IMPACT_STRINGS / f"{lang}.json").read_text(encoding="utf-8"))
        assert sorted(set(english) - set(other)) == [], lang


def test_dashboard_downloads_the_report(built_area, poppler, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "BUILD": str(built_area)})
    client = app.test_client()
    page = client.get("/dashboard?lang=fr").get_data(as_text=True)
    assert "/dashboard/report.pdf?" in page
    resp = client.get("/dashboard/report.pdf?scenario=design&boundary=kelurahan&lang=fr")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert "jakarta-design-report-fr.pdf" in resp.headers["Content-Disposition"]
    out = tmp_path / "web.pdf"
    out.write_bytes(resp.data)
    text = " ".join(_text(out).split())
    assert "Rapport d'impact" in text
    # evacuation_buildings holds people per building: partner-only by default, so an anonymous report has no
    # figures from it (the CLI, run by someone with the files, has them)
    assert "Bâtiments avec un itinéraire calculé" not in text


def test_report_errors_are_one_line(built_area, tmp_path):
    for args, needle in [
        (["--scenario", "nope"], "no hazard scenario 'nope'"),
        (["--boundaries", "nope"], "no boundary set 'nope'"),
    ]:
        result = _report(built_area, tmp_path / "x.pdf", *args)
        assert result.exit_code == 1
        assert needle in result.output
        assert "Traceback" not in result.output
    missing = str(tmp_path / "none.gpkg")
    result = CliRunner().invoke(main, ["report", str(SAMPLE_AREA), "--build", missing, "--out", "x"])
    assert result.exit_code == 2  # click: the --build path does not exist


def test_dashboard_report_without_a_build_is_409(tmp_path):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "BUILD": str(tmp_path / "none.gpkg")}
    )
    resp = app.test_client().get("/dashboard/report.pdf")
    assert resp.status_code == 409
    assert "geoapp build" in resp.get_json()["error"]["message"]
