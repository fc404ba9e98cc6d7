"""Files that open right in GDAL 3.6 (Debian's ogrinfo, what QGIS on Debian reads with) and in QGIS's styles table.

KML booleans, the layer name inside every one-layer format, the one-layer CSV zip with its
.csvt and .prj, one style per scenario and routes graduated by people. Values are checked
against the Jakarta build read with pyogrio (the oracle), through Debian's own tools.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import pyogrio
import pytest

from layers.publish.export import export_filename, export_layers
from layers.publish.geopackage import styles_table
from tests.helpers import require


def _ogrinfo(*args: str) -> str:
    tool = shutil.which("ogrinfo", path="/usr/bin")
    if tool is None:
        require("GEOAPP_REQUIRE_GDAL", "Debian's GDAL (/usr/bin/ogrinfo)")
    run = subprocess.run([str(tool), "-ro", *args], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-500:]
    return run.stdout + run.stderr


@pytest.fixture(scope="module")
def shelters(built_area):
    return pyogrio.read_dataframe(built_area, layer="shelters")


def test_kml_booleans_read_back_as_booleans_in_gdal_36(shelters, tmp_path):
    path = export_layers({"shelters": shelters}, tmp_path / "s.kml", format="kml")
    assert '<SimpleField name="safe" type="bool"/>' in path.read_text(encoding="utf-8")
    out = _ogrinfo("-al", "-q", "-geom=NO", str(path), "shelters")
    values = re.findall(r"^\s*safe \([^)]*\) = (\S+)", out, flags=re.M)
    assert len(values) == len(shelters)
    assert sum(int(v) for v in values) == int(shelters["safe"].sum()) == 886  # was 0: 'true' parsed as 0
    assert "parsed incompletely" not in out
    back = pyogrio.read_dataframe(path, layer="shelters")  # the venv's newer GDAL too
    assert back["safe"].astype(int).sum() == 886


@pytest.mark.parametrize("fmt", ["fgb", "geojson"])
def test_layer_name_inside_the_file_is_the_layer(shelters, tmp_path, fmt):
    # written to a temporary name, as downloads are, then renamed
    tmp = export_layers({"shelters": shelters}, tmp_path / f".shelters.1a2b.part.{fmt}", format=fmt)
    out = _ogrinfo("-so", "-q", str(tmp))
    assert re.search(r"^1: shelters \(", out, flags=re.M), out[:300]


def test_one_layer_csv_is_a_zip_with_types_and_crs(shelters, tmp_path):
    name = export_filename(["shelters"], "csv")
    assert name == "shelters.zip"
    path = export_layers({"shelters": shelters}, tmp_path / name, format="csv")
    assert sorted(zipfile.ZipFile(path).namelist()) == ["shelters.csv", "shelters.csvt", "shelters.prj"]
    out = _ogrinfo("-so", f"/vsizip/{path}/shelters.csv", "shelters")
    assert 'ID["EPSG",4326]' in out  # the .prj is read
    assert re.search(r"^capacity: Real", out, flags=re.M)
    assert re.search(r"^shelter_id: Integer64", out, flags=re.M)
    assert re.search(r"^safe: Integer\(Boolean\)", out, flags=re.M)
    back = pyogrio.read_dataframe(f"/vsizip/{path}/shelters.csv", GEOM_POSSIBLE_NAMES="WKT", KEEP_GEOM_COLUMNS="NO")
    assert int(back["safe"].sum()) == 886
    assert back["capacity"].sum() == pytest.approx(shelters["capacity"].sum())


def test_styles_one_rule_and_one_style_per_scenario_routes_by_people(built_area):
    layers = {n: pyogrio.read_dataframe(built_area, layer=n) for n in ("exposure_roads", "evacuation_routes", "roads")}
    table = styles_table(layers)
    scenarios = sorted(layers["exposure_roads"]["scenario"].unique())
    assert len(scenarios) == 2
    exp = table[table.f_table_name == "exposure_roads"]
    assert exp.styleName.tolist() == ["exposure_roads", *(f"exposure_roads ({s})" for s in scenarios)]
    assert exp.useAsDefault.tolist() == [True, False, False]
    default = exp.styleQML.iloc[0]
    assert 'type="RuleRenderer"' in default
    for s in scenarios:
        assert f"&quot;scenario&quot; = '{s}'" in default
    assert default.count('checkstate="0"') == len(scenarios) - 1  # only the first scenario is on
    only = exp.styleQML.iloc[2]
    assert f"'{scenarios[1]}'" in only
    assert f"'{scenarios[0]}'" not in only
    routes = table[table.f_table_name == "evacuation_routes"].styleQML.iloc[0]
    widths = [float(w) for w in re.findall(r'<prop k="line_width" v="([0-9.]+)"/>', routes)]
    assert len(set(widths)) == 5  # five widths, the same in each scenario
    breaks = [float(v) for v in re.findall(r"&quot;people&quot; &gt;= ([0-9.e+-]+)", routes)]
    people = layers["evacuation_routes"]["people"]
    assert min(breaks) == pytest.approx(people[people > 0].min())
    assert table[table.f_table_name == "roads"].styleQML.iloc[0].count("renderer-v2") == 2  # plain, one style
