"""The precarity index weighting several hazards: the people points once per hazard on a common class scale,
so the hazard score is exactly the weighted mean of each hazard's own score (recomputed by hand here)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio

from layers.area import load_area
from layers.errors import AreaConfigError
from layers.hazard.combined import weighted_people
from layers.hazard.population import read_population
from layers.hazard.sources import open_hazard
from tests.helpers import SHARED_DATA, write_raster


def _score(points, k):
    cls = points["hazard_class"].to_numpy().astype(int)
    w = points["people"].to_numpy()
    return float(np.sum(np.where(cls >= 0, w * (cls + 1) / k, 0.0)) / w.sum())


def test_weighted_score_is_the_weighted_mean_of_each_hazards_score(tmp_path):
    t = rasterio.transform.from_origin(0, 1000, 1000, 1000)
    write_raster(tmp_path / "mmi.tif", [[8.0, 1.0]], transform=t)  # VIII (7th of 9 classes), none
    write_raster(tmp_path / "depth.tif", [[2.0, 0.3]], transform=t)  # high (3rd of 3), low (1st of 3)
    write_raster(tmp_path / "pop.tif", [[100.0, 300.0]], transform=t)
    hazards = {
        "quake": open_hazard(tmp_path / "mmi.tif", kind="earthquake"),
        "flood": open_hazard(tmp_path / "depth.tif"),
    }
    people, names = weighted_people(read_population(tmp_path / "pop.tif"), hazards, {"quake": 2.0, "flood": 1.0})
    assert len(names) == 9  # lcm(9, 3)
    assert people["people"].sum() == pytest.approx(400.0)  # nobody created
    quake = (100 * 7 / 9 + 300 * 0) / 400
    flood = (100 * 3 / 3 + 300 * 1 / 3) / 400
    assert _score(people, 9) == pytest.approx((2 * quake + 1 * flood) / 3)


def test_hazard_weights_name_scenarios(tmp_path):
    mh = SHARED_DATA / "multihazard"
    for name in ("hazard/earthquake.tif", "hazard/continuous_flood_20_20.asc", "hazard/continuous_flood_20_20.prj"):
        shutil.copy(mh / name, tmp_path)
    for ext in ("shp", "shx", "dbf", "prj"):
        shutil.copy(mh / f"exposure/buildings.{ext}", tmp_path)
    base = (
        '[area]\nname = "x"\n[layers]\nbuildings = "buildings.shp"\n'
        '[[hazard]]\nid = "quake"\nkind = "earthquake"\nfile = "earthquake.tif"\n'
        '[[hazard]]\nid = "flood"\nfile = "continuous_flood_20_20.asc"\n'
    )
    from layers.precarity.step import _hazard_weights

    (tmp_path / "area.toml").write_text(base + "[precarity]\nhazards = { quake = 2, flood = 1 }\n")
    assert _hazard_weights(load_area(tmp_path)) == {"quake": 2.0, "flood": 1.0}
    (tmp_path / "area.toml").write_text(base + "[precarity]\nhazards = { storm = 1 }\n")
    with pytest.raises(AreaConfigError, match="'storm' is not a hazard scenario"):
        _hazard_weights(load_area(tmp_path))
    (tmp_path / "area.toml").write_text(base + "[precarity]\nhazards = { quake = -1 }\n")
    with pytest.raises(AreaConfigError, match="positive"):
        _hazard_weights(load_area(tmp_path))
