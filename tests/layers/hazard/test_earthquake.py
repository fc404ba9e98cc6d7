"""Earthquake: InaSAFE's MMI classes, fatality models (ITB, PAGER, ITB Bayesian), displaced and damage.

The oracles are InaSAFE's formulas written again here (scipy's log-normal for PAGER) and the figures
InaSAFE's own tests expect for its test data (../shared/data/multihazard, see HAZARDS.md):
``safe/impact_functions/earthquake/*/test/*.py`` at version-3_5_0 and
``safe/report/test/test_impact_report_earthquake.py`` on develop.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from scipy.stats import lognorm
from shapely.geometry import box

from layers.hazard.exposure import exposure, exposure_from_files
from layers.hazard.kinds import get_kind
from layers.hazard.kinds.earthquake import building_damage, itb_rate, pager_rate
from layers.hazard.population import read_people
from layers.hazard.sources import open_hazard
from tests.helpers import SHARED_DATA, UTM, write_raster

MH = SHARED_DATA / "multihazard"
X, Y = 0.62275231, 8.03314466  # ITB, safe/definitions/earthquake.py
THETA, BETA = 13.249, 0.151  # PAGER v2.0, same file
BAYES = {6: 3.41733122522e-05, 7: 0.000387804494226, 8: 0.001851451786, 9: 0.00787294191661, 10: 0.0314512157378}


def itb(mmi):
    return 0.0 if mmi < 4 else 10 ** (X * mmi - Y)


def pager(mmi):
    return 0.0 if mmi < 4 else float(lognorm.cdf(mmi, s=BETA, scale=THETA))


def test_rates_are_inasafes():
    # InaSAFE 3.5 test_compute_fatality_rate tables (places=4) and HAZARDS.md's computed rates.
    itb_expected = {4: 2.869e-6, 5: 1.203e-5, 6: 5.048e-5, 7: 2.117e-4, 8: 8.883e-4, 9: 3.726e-3, 10: 1.563e-2}
    pager_expected = {4: 1.110e-15, 5: 5.463e-11, 6: 7.767e-8, 7: 1.193e-5, 8: 4.174e-4, 9: 5.219e-3, 10: 3.121e-2}
    for mmi in range(2, 11):
        assert itb_rate(mmi) == pytest.approx(itb(mmi), rel=1e-12)
        assert pager_rate(mmi) == pytest.approx(pager(mmi), rel=1e-9, abs=1e-18)
        assert itb_rate(mmi) == pytest.approx(itb_expected.get(mmi, 0.0), abs=5e-5)
        assert pager_rate(mmi) == pytest.approx(pager_expected.get(mmi, 0.0), abs=5e-5)
    assert itb_rate(8) == pytest.approx(0.000888943, rel=1e-5)
    assert pager_rate(9) == pytest.approx(0.00521991, rel=1e-5)


def test_shakemap_on_inasafe_population_grid():
    """earthquake.tif × pop_binary_raster_20_20.asc: InaSAFE's 200 people in MMI VIII, its fatalities and displaced."""
    r = exposure_from_files(
        hazard=str(MH / "hazard/earthquake.tif"),
        kind="earthquake",
        population=str(MH / "exposure/pop_binary_raster_20_20.asc"),
    ).summary()
    p = r["population"]
    assert r["kind"] == "earthquake"
    assert r["units"] == "mmi"
    assert p["by_class"]["VIII"] == 200.0
    assert p["affected"] == 200.0
    # Independent: the MMI of every populated cell, recomputed with rasterio at its centre.
    with rasterio.open(MH / "exposure/pop_binary_raster_20_20.asc") as src:
        pop = src.read(1).astype(float)
        rows, cols = np.nonzero(pop > 0)
        xs, ys = rasterio.transform.xy(src.transform, rows, cols)
    with rasterio.open(MH / "hazard/earthquake.tif") as eq:
        mmi = np.array([v[0] for v in eq.sample(zip(xs, ys, strict=True))])
    levels = np.round(mmi).astype(int)  # (n - 0.5, n + 0.5] for these values (none at a half)
    assert set(levels) == {8}
    dead = {
        "itb": sum(pop[rows, cols] * [itb(m) for m in levels]),
        "pager": sum(pop[rows, cols] * [pager(m) for m in levels]),
        "itb_bayesian": sum(pop[rows, cols] * [BAYES[m] for m in levels]),
    }
    for model, value in dead.items():
        assert p["fatalities_by_class"][model]["VIII"] == pytest.approx(value, rel=1e-9)
    # InaSAFE 3.5's expected figures (test_itb_earthquake_fatality_model / test_pager_...: places=4).
    assert p["fatalities_by_class"]["itb"]["VIII"] == pytest.approx(0.17778, abs=1e-4)
    assert p["fatalities_by_class"]["pager"]["VIII"] == pytest.approx(0.083498, abs=1e-4)
    # displaced = (population - fatalities) * displacement_ratio (VIII: 1.0); InaSAFE 3.5: 199.82221
    assert p["displaced"] == pytest.approx(200 - dead["itb"], abs=1e-3)
    assert p["displaced"] == pytest.approx(199.82221, abs=1e-3)
    # InaSAFE 4's report rounds people up to tens (rounding_full): 200 displaced; fatalities "0 - 100".
    assert 10 * math.ceil(p["displaced"] / 10) == 200
    assert 0 <= p["fatalities"]["itb_bayesian"] <= 100
    # Needs from the displaced (BNPB weekly), rounded up.
    assert p["needs"]["rice_kg"] == math.ceil(round(p["displaced"] * 2.8, 6))


def test_shakemap_on_inasafe_buildings():
    """All 181 buildings in MMI VIII, damage class medium: InaSAFE 3.5 earthquake_building expects {2: 181}."""
    r = exposure_from_files(
        hazard=str(MH / "hazard/earthquake.tif"), kind="earthquake", buildings=str(MH / "exposure/buildings.shp")
    ).summary()
    b = r["buildings"]
    assert b["total"] == 181
    assert b["by_class"]["VIII"] == 181
    assert b["by_damage"] == {"low": 0, "medium": 181, "high": 0}


def test_itb_test_grid():
    """inasafe_data's ITB test grid (Hadi Ghasemi): people per MMI level and deaths, recomputed with numpy."""
    r = exposure_from_files(
        hazard=str(MH / "inasafe_data/test/itb_test_mmi.asc"),
        kind="earthquake",
        population=str(MH / "inasafe_data/test/itb_test_pop.asc"),
    ).summary()
    p = r["population"]
    with (
        rasterio.open(MH / "inasafe_data/test/itb_test_mmi.asc") as a,
        rasterio.open(MH / "inasafe_data/test/itb_test_pop.asc") as b,
    ):
        mmi = a.read(1, masked=True).astype(float).filled(np.nan)
        pop = b.read(1, masked=True).astype(float).filled(0.0)
    assert p["method"] == "identical grid"
    expected_dead = 0.0
    expected_displaced = 0.0
    for level in range(2, 11):
        inside = (mmi > level - 0.5) & (mmi <= level + 0.5)  # InaSAFE's min < x <= max
        people = pop[inside].sum()
        name = ["II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"][level - 2]
        assert p["by_class"][name] == pytest.approx(people, abs=1e-3)
        dead = people * itb(level)
        expected_dead += dead
        expected_displaced += (people - dead) * (1.0 if level >= 6 else 0.0)
        assert p["fatalities_by_class"]["itb"][name] == pytest.approx(dead, rel=1e-9)
    assert p["fatalities"]["itb"] == pytest.approx(expected_dead, abs=1e-3)
    assert p["displaced"] == pytest.approx(expected_displaced, abs=1e-2)
    # InaSAFE 2.2's own figures for this grid (safe/engine/test_engine.py, test_ITB_earthquake_fatality_estimation):
    # population 85,424,650 and ITB deaths per MMI level V-IX, total rounded to 40,900.
    assert p["total"] == 85424650.0
    inasafe = {"V": 31.8937368131, "VI": 2539.26369372, "VII": 1688.72362573, "VIII": 17174.9261705, "IX": 19436.834531}
    for name, dead in inasafe.items():
        assert p["fatalities_by_class"]["itb"][name] == pytest.approx(dead, rel=1e-9)
    assert 100 * math.ceil(p["fatalities"]["itb"] / 100) == 40900  # InaSAFE's population_rounding
    assert p["by_class"]["VI"] > 0
    assert p["by_class"]["VII"] > 0


def test_hand_worked_grid_and_half_levels(tmp_path):
    """Three cells: MMI 5.5 (V: 4.5 < x <= 5.5), 6.0 (VI) and 8.6 (IX); 100, 200 and 300 people."""
    t = rasterio.transform.from_origin(0, 1000, 1000, 1000)
    write_raster(tmp_path / "mmi.tif", [[5.5, 6.0, 8.6]], transform=t)
    write_raster(tmp_path / "pop.tif", [[100, 200, 300]], transform=t)
    hazard = open_hazard(tmp_path / "mmi.tif", kind="earthquake")
    res = exposure(hazard, population=read_people(str(tmp_path / "pop.tif"))).summary()["population"]
    assert res["by_class"]["V"] == 100
    assert res["by_class"]["VI"] == 200
    assert res["by_class"]["IX"] == 300
    f5, f6, f9 = 100 * 10 ** (X * 5 - Y), 200 * 10 ** (X * 6 - Y), 300 * 10 ** (X * 9 - Y)
    assert res["fatalities"]["itb"] == pytest.approx(f5 + f6 + f9, abs=1e-3)  # ITB kills from MMI IV up
    assert res["displaced"] == pytest.approx((200 - f6) + (300 - f9), abs=1e-3)  # V displaces nobody


def test_damage_with_structure_types():
    mmi = np.array([6.5, 6.5, 6.5, 7.9, 5.5, np.nan])
    structure = np.array(["adobe", "reinforced concrete", None, "unreinforced brick", "mud", "steel"], dtype=object)
    got = list(building_damage(mmi, structure).astype(object))
    # adobe felt as 7.5 (medium); RC as 5.5 (none); unknown 6.5 (low); unreinforced 8.9 (high); mud 6.5 (low)
    assert [None if g is None or g is np.nan or str(g) == "<NA>" else g for g in got] == [
        "medium",
        None,
        "low",
        "high",
        "low",
        None,
    ]


def test_units_fatalities_sum_to_total(tmp_path):
    t = rasterio.transform.from_origin(0, 2000, 1000, 1000)
    write_raster(tmp_path / "mmi.tif", [[9.0, 7.0], [6.2, 8.0]], transform=t)
    write_raster(tmp_path / "pop.tif", [[1000, 2000], [3000, 4000]], transform=t)
    units = gpd.GeoDataFrame(
        {"area_id": [1, 2], "name": ["west", "east"]},
        geometry=[box(0, 0, 1000, 2000), box(1000, 0, 2000, 2000)],
        crs=UTM,
    )
    res = exposure(
        open_hazard(tmp_path / "mmi.tif", kind="earthquake"),
        population=read_people(str(tmp_path / "pop.tif")),
        boundaries=units,
    )
    s = res.summary()
    by_unit = res.areas.set_index("name")
    assert by_unit["fatalities"].sum() == pytest.approx(s["population"]["fatalities"]["itb"], abs=1e-3)
    assert by_unit.loc["west", "fatalities"] == pytest.approx(1000 * itb(9) + 3000 * itb(6), rel=1e-9)
    assert by_unit["displaced"].sum() == pytest.approx(s["population"]["displaced"], abs=1e-3)
    assert get_kind("earthquake").default_fatality_model == "itb"
