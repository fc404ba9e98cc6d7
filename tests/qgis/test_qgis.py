"""QGIS itself (PyQGIS, headless) opens our outputs: the styled GeoPackage, the OGC API, the vector tiles.

PyQGIS lives in Debian's system Python, which the venv cannot import, so the checks run in
``/usr/bin/python3 tests/qgis/qgis_checks.py`` with ``QT_QPA_PLATFORM=offscreen`` against a real
server on a free loopback port. Skipped where QGIS is missing, unless GEOAPP_REQUIRE_QGIS is set.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import threading
from pathlib import Path

import pyogrio
import pytest

from geoapp import create_app
from layers.publish.export import export_layers
from tests.helpers import live_server, require

SYSTEM_PYTHON = "/usr/bin/python3"
CHECKS = Path(__file__).with_name("qgis_checks.py")
LAYERS = ["exposure_buildings", "evacuation_routes", "facilities", "roads", "shelters"]
MONAS_3857 = (11891000.0, -689000.0, 11894000.0, -686000.0)  # 3 km around Monas, central Jakarta


def _qgis_python() -> str:
    try:
        ok = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60, check=False
        ).returncode
    except (OSError, subprocess.TimeoutExpired):
        ok = 1
    if ok != 0:
        require("GEOAPP_REQUIRE_QGIS", "PyQGIS (apt-get install qgis python3-qgis)")
    return SYSTEM_PYTHON


@pytest.fixture(scope="module")
def served(built_area, tmp_path_factory):
    """A live server of the Jakarta build, counting the item requests each collection gets."""
    tmp = tmp_path_factory.mktemp("qgis")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
            "ANON_RATE_LIMIT": "100000/hour",
        }
    )
    hits: list[str] = []
    lock = threading.Lock()
    inner = app.wsgi_app

    def counting(environ, start_response):
        with lock:
            hits.append(environ.get("PATH_INFO", ""))
        return inner(environ, start_response)

    app.wsgi_app = counting  # type: ignore[method-assign]
    with live_server(app) as base:
        yield base, hits


def test_qgis_opens_the_geopackage_the_ogc_api_and_the_vector_tiles(served, built_area, tmp_path):
    python = _qgis_python()
    base, hits = served
    layers = {n: pyogrio.read_dataframe(built_area, layer=n) for n in LAYERS}
    gpkg = export_layers(layers, tmp_path / "jakarta.gpkg")
    job = {
        "gpkg": {"path": str(gpkg), "layers": LAYERS},
        "oapif": {"url": f"{base}/ogcapi", "collection": "buildings"},
        "mvt": {
            "template": f"{base}/ogcapi/collections/buildings/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}",
            "extent": list(MONAS_3857),
            "gpkg": str(built_area),
            "layer": "buildings",
        },
    }
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    run = subprocess.run(
        [python, str(CHECKS), json.dumps(job)], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert run.returncode == 0, run.stderr[-1500:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    # the GeoPackage: every layer valid with its count, styled from layer_styles
    for name, gdf in layers.items():
        assert seen["gpkg"][name]["valid"], name
        assert seen["gpkg"][name]["count"] == len(gdf), name
    scenarios = sorted(layers["exposure_buildings"]["scenario"].unique())
    exp = seen["gpkg"]["exposure_buildings"]
    assert exp["renderer"] == "RuleRenderer"
    assert exp["rules"] == scenarios  # one rule per scenario, not every scenario stacked
    assert exp["active"] == scenarios[:1]
    assert set(exp["styles"]) == {"exposure_buildings", *(f"exposure_buildings ({s})" for s in scenarios)}
    routes = seen["gpkg"]["evacuation_routes"]
    assert routes["renderer"] == "RuleRenderer"
    assert routes["children"] == [5] * len(scenarios)  # five graduated classes of people per scenario
    assert seen["gpkg"]["facilities"]["renderer"] == "categorizedSymbol"
    assert seen["gpkg"]["facilities"]["attribute"] == "category"

    # the OGC API through QGIS's OAPIF provider: every building, in pages of the shared limit
    n = len(pyogrio.read_dataframe(built_area, layer="buildings", read_geometry=False))
    assert seen["oapif"]["valid"]
    assert seen["oapif"]["count"] == n
    items = [h for h in hits if h.endswith("/collections/buildings/items")]
    assert len(items) <= 1 + math.ceil(n / 10000)  # QGIS reads a first small page for the schema, then one

    # the vector tiles in QGIS's vector tile layer draw where the buildings are
    tiles = seen["mvt"]
    assert tiles["valid"]
    assert tiles["reference_pixels"] > 1000
    assert tiles["shared_pixels"] >= 0.9 * tiles["reference_pixels"]
    assert tiles["drawn_pixels"] <= 1.2 * tiles["reference_pixels"]
