"""Exposure of each layer on real data: Tandale buildings against flood zones along Dar es Salaam's drains."""

from __future__ import annotations

import io
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.hazard.exposed import buildings_exposure
from layers.hazard.exposure import exposure
from layers.hazard.sources import zones_from_frame
from layers.io.vectors import buildings_from_file


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def tandale(shared_data):
    """4,500 Tandale footprints and 30 m zones along every waterway of the city (wet:yes), in UTM 37S."""
    d = shared_data / "dar_es_salaam"
    buildings = buildings_from_file(d / "tandale-buildings.shp").iloc[:4500]
    rivers = gpd.read_file(d / "rivers.shp").to_crs(buildings.crs)
    zones = gpd.GeoDataFrame({"zone": ["yes"] * len(rivers)}, geometry=rivers.buffer(30), crs=buildings.crs)
    return zones_from_frame(zones, "wet:yes", field="zone"), buildings


def test_zone_exposure_shows_a_bar_only_on_a_terminal(tandale, monkeypatch):
    hazard, buildings = tandale
    terminal, pipe = _Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    shown = buildings_exposure(buildings, hazard, progress=True)
    monkeypatch.setattr(sys, "stderr", pipe)
    piped = buildings_exposure(buildings, hazard, progress=True)
    assert "buildings" in terminal.getvalue()
    assert "0/3" in terminal.getvalue()  # 4,500 footprints in chunks of 2,000
    assert pipe.getvalue() == ""  # logs and --json output stay clean
    assert shown.drop(columns="geometry").equals(piped.drop(columns="geometry"))
    # Wet exactly when the footprint shares area with a zone (shapely, zone by zone).
    g, zg = buildings.geometry.to_numpy(), hazard.zones.geometry.to_numpy()
    src, dst = shapely.STRtree(zg).query(g, predicate="intersects")
    wet = np.bincount(src, weights=shapely.area(shapely.intersection(g[src], zg[dst])) > 0, minlength=len(g)) > 0
    assert (shown["hazard_class"] == "wet").fillna(False).to_numpy().tolist() == wet.tolist()
    assert 1000 < wet.sum() < 4500


def test_exposure_stages_show_one_bar_on_a_terminal(tandale, monkeypatch):
    hazard, buildings = tandale
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    s = exposure(hazard, buildings=buildings, progress=True, needs="none").summary()
    assert "exposure" in terminal.getvalue()
    assert s["buildings"]["total"] == 4500
    assert np.isclose(s["buildings"]["affected"], s["buildings"]["by_class"]["wet"])
