"""The QGIS project package: `geoapp export --format qgis`, opened by PyQGIS (Debian's QGIS, headless)."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile

import pyogrio
import pytest
from click.testing import CliRunner

from geoapp.cli import main
from layers.publish.hazard_tiles import is_cog
from tests.helpers import SAMPLE_AREA, require

QGIS_SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsProject, QgsLayerTreeLayer
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
out = {"read": project.read(sys.argv[1]), "crs": project.crs().authid(), "groups": [], "layers": {}}
for g in project.layerTreeRoot().children():
    ids = [c.layerId() for c in g.children() if isinstance(c, QgsLayerTreeLayer)]
    out["groups"].append({"name": g.name(), "visible": g.isVisible(), "layers": ids})
for lid, layer in project.mapLayers().items():
    info = {"valid": layer.isValid(), "source": layer.source()}
    if layer.type() == 0:
        info.update(count=layer.featureCount(), subset=layer.subsetString(),
                    renderer=layer.renderer().type() if layer.renderer() else None)
    else:
        info.update(renderer=layer.renderer().type(), bands=layer.bandCount())
    out["layers"][lid] = info
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def package(built_area, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qgis")
    out = tmp / "jakarta-qgis.zip"
    result = CliRunner().invoke(
        main, ["export", str(SAMPLE_AREA), "--build", str(built_area), "--format", "qgis", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        zf.extractall(tmp / "unzipped")
    return tmp / "unzipped" / "jakarta", names


@pytest.fixture(scope="module")
def opened(package, tmp_path_factory):
    if not os.path.exists("/usr/bin/python3") or subprocess.run(["/usr/bin/python3", "-c", "import qgis"]).returncode:
        require("GEOAPP_REQUIRE_QGIS", "QGIS (python3-qgis)")
    folder, _ = package
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path_factory.mktemp("xdg"))}
    done = subprocess.run(
        ["/usr/bin/python3", "-c", QGIS_SCRIPT, str(folder / "jakarta.qgz")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd="/",  # paths in the project are relative to the project file, not to where QGIS runs
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_package_holds_the_geopackage_the_project_and_cog_hazards(package):
    folder, names = package
    assert sorted(names) == sorted(
        ["jakarta/jakarta.gpkg", "jakarta/jakarta.qgz", "jakarta/hazard/current.tif", "jakarta/hazard/design.tif"]
    )
    assert all(is_cog(folder / "hazard" / f"{s}.tif") for s in ("current", "design"))


def test_qgis_opens_the_project_with_everything_in_place(opened):
    assert opened["read"] is True
    assert opened["crs"] == "EPSG:32748"
    groups = [(g["name"], g["visible"]) for g in opened["groups"]]
    assert groups == [
        ("Field reports", True),
        ("Current flood", True),
        ("Design flood", False),
        ("Precarity", False),
        ("Inputs", True),
    ]
    bad = {lid: info for lid, info in opened["layers"].items() if not info["valid"]}
    assert bad == {}
    in_tree = [lid for g in opened["groups"] for lid in g["layers"]]
    assert sorted(in_tree) == sorted(opened["layers"])  # every layer is in a group, none is lost
    # each scenario group: its exposure, its evacuation, its hazard raster (drawn under the rest)
    current = next(g for g in opened["groups"] if g["name"] == "Current flood")["layers"]
    assert current[:3] == ["exposure_facilities_current", "exposure_roads_current", "exposure_buildings_current"]
    assert current[-1] == "hazard_current"


def test_scenario_layers_hold_that_scenarios_features(opened, built_area):
    layers = opened["layers"]
    for name in ("exposure_buildings", "exposure_roads", "shelters", "evacuation_routes"):
        frame = pyogrio.read_dataframe(built_area, layer=name, read_geometry=False, columns=["scenario"])
        for scenario in ("current", "design"):
            info = layers[f"{name}_{scenario}"]
            assert info["subset"] == f"\"scenario\" = '{scenario}'"
            assert info["count"] == int((frame["scenario"] == scenario).sum()), (name, scenario)
    assert layers["buildings_layer"]["count"] == pyogrio.read_info(built_area, layer="buildings")["features"]


def test_layers_are_styled_from_the_build(opened):
    layers = opened["layers"]
    assert layers["exposure_buildings_current"]["renderer"] in ("categorizedSymbol", "RuleRenderer")
    assert layers["shelters_design"]["renderer"] in ("categorizedSymbol", "RuleRenderer")
    assert layers["hazard_current"]["renderer"] == "singlebandpseudocolor"
    assert layers["hazard_current"]["bands"] == 1
    assert all(info["source"].startswith("/") for info in layers.values())  # resolved against the project's folder
