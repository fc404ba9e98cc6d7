"""Every analysis has a notebook that runs top to bottom, checks its own figures and ends on a folium map."""

from __future__ import annotations

import re

import pytest

from tests.helpers import ROOT

NOTEBOOKS = ROOT / "notebooks"

# what each notebook must print: its own checks against an independent computation or a physical bound
EXPECTED = {
    "jakarta_exposure.ipynb": [
        r"7,689 buildings",
        r"newly affected",
        r"map: [\d,]+ flooded buildings in 261 kelurahan",
    ],
    "jakarta_evacuation.ipynb": [
        r"7,689 buildings: [\d,]+ reach a shelter",
        r"\b0 walks shorter than the straight line",
        r"\b0 walks faster than walking speed",
        r"map: [\d,]+ route segments",
    ],
    "jakarta_precarity.ipynb": [r"942 H3 cells, 2,685 neighbourhoods", r"mean index: flood-prone 0\.\d+", r"map: 942"],
    "field_reports.ipynb": [
        r"90 submissions: 89 reports accepted, 1 refused",
        r"row 89: no location",
        r"the same ids on a second read: True",
        r"personal fields shown: none",
        r"map: 89 reports",
    ],
}


def _run(name: str):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_checks_and_maps(name, shared_data):
    nb = _run(name)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs)
    for pattern in EXPECTED[name]:
        assert re.search(pattern, text), (name, pattern)
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    maps = [h for h in html if "folium" in h or "leaflet" in h.lower()]
    assert maps, f"{name} shows no folium map"
    if name == "jakarta_precarity.ipynb":
        prone, others = map(float, re.search(r"flood-prone ([\d.]+), others ([\d.]+)", text).groups())
        assert prone > others


def test_precarity_notebook_checks_an_independent_flag():
    """The precarity notebook compares the index with FLOODPRONE, a flag the index never reads."""
    from layers.precarity.composite import INDICATORS

    assert not any("flood" in str(i).lower() and "prone" in str(i).lower() for i in INDICATORS)
