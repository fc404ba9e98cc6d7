"""Alerts speak the scenario's hazard kind: every kind × language fits one SMS with Jakarta's longest names,
keeps its instruction whole, and a non-water kind never says flood or water; a build of an earthquake
scenario and a planner's earthquake alert reach subscribers in earthquake words."""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import pyogrio
import pytest
import requests

from geoapp.messaging.alerts import alert_body
from geoapp.messaging.texts import SMS_LIMIT, TEXTS
from layers.hazard.kinds import kinds
from tests.helpers import SAMPLE_AREA, bearer
from tests.web.messaging.fakes import at_sms, bodies_to, wait_until

LANGUAGES = ("en", "fr", "sw", "id")
# The longest names of the Jakarta build (data/jakarta/build/area.gpkg): shelters and exposure_areas.
LONGEST_SHELTER = "SD Widuri Indah III, SMP Permata Bunda II, SMK Permata Bunda II"
LONGEST_PLACE = "JATINEGARA Kawasan Industri Pulogadung"
# Water words per language (whole words, case-insensitive): never in an earthquake, volcano... alert.
WATER_WORDS = {
    "en": r"flood\w*|water|wet|depth|higher ground",
    "fr": r"inond\w*|eau|eaux|crue\w*",
    "sw": r"mafuriko|maji",
    "id": r"banjir|air|genangan|rob",
}
WATER_KINDS = {"flood", "tsunami"}


@functools.cache
def _longest() -> list[tuple[str, str]]:
    """(place, shelter): the longest names above, and those of the Jakarta build as it is now, when built."""
    out = [(LONGEST_PLACE, LONGEST_SHELTER)]
    build = SAMPLE_AREA / "build" / "area.gpkg"
    if build.exists():
        names = []
        for layer in ("exposure_areas", "shelters"):
            col = pyogrio.read_dataframe(Path(build), layer=layer, columns=["name"], read_geometry=False)["name"]
            col = col.dropna().astype(str)
            names.append(col[col.str.len() == col.str.len().max()].iloc[0] if len(col) else "RW 04")
        out.append((names[0], names[1]))
    return out


@pytest.mark.parametrize("kind", sorted(kinds()))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kind_and_language_fits_one_sms(kind, lang):
    what, todo = TEXTS[lang][f"alert_what_{kind}"], TEXTS[lang][f"alert_todo_{kind}"]
    to = TEXTS[lang].get(f"alert_to_{kind}", TEXTS[lang]["alert_to"])
    cases = [(p, s, 12_345.0) for p, s in _longest()] + [(LONGEST_PLACE, "SDN 01", 420.0), (LONGEST_PLACE, None, None)]
    for place, shelter, metres in cases:
        body = alert_body(lang, where=place, shelter=shelter, shelter_m=metres, kind=kind)
        assert len(body) <= SMS_LIMIT
        # What and what to do are never cut: only the place and shelter names are.
        assert body.startswith(f"{what} ")
        assert f": {todo}" in body
        assert place[:8] in body
        if shelter:
            assert f"{to}: {shelter[:8]}" in body
        if shelter == "SDN 01":  # room for everything: nothing is cut
            assert body == f"{what} {place}: {todo} {to}: SDN 01 0.4km"
        if kind not in WATER_KINDS:
            words = re.findall(rf"\b(?:{WATER_WORDS[lang]})\b", body, flags=re.IGNORECASE)
            assert not words, body


def test_kinds_speak_their_own_instruction():
    """The instruction each kind's brief asks for, in English (the other languages say the same)."""
    expected = {
        "earthquake": "open space away from buildings",
        "tsunami": "high ground inland",
        "volcano": "Leave the danger zone",
        "volcanic_ash": "Stay indoors, cover your mouth",
        "cyclone": "Shelter in a strong building",
        "landslide": "Leave steep slopes",
        "flood": "higher ground",
    }
    for kind, words in expected.items():
        assert words in alert_body("en", where="RW 04", shelter=None, kind=kind)
    # Every kind of the registry has its words in every language (a new kind without them gets generic's).
    for lang in LANGUAGES:
        for kind in kinds():
            assert f"alert_what_{kind}" in TEXTS[lang]
            assert f"alert_todo_{kind}" in TEXTS[lang]
    assert alert_body("sw", where="X", shelter=None, kind="meteor") == alert_body(
        "sw", where="X", shelter=None, kind="generic"
    )
    # The earthquake goes to an assembly area, not into a shelter building.
    assert "Assembly area: Lapangan" in alert_body("en", where="X", shelter="Lapangan", kind="earthquake")
    assert "Titik kumpul: Lapangan" in alert_body("id", where="X", shelter="Lapangan", kind="earthquake")


def test_planner_alert_in_earthquake_words(live, make_user):
    url, app, gw = live
    at_sms(url, "JOIN Kampung Melayu RW 04", "kq-a", "+254711000011")
    at_sms(url, "DAFTAR Kampung Melayu RW 04", "kq-b", "+254711000012")
    wait_until(lambda: len(gw.sent()) == 2)
    _, planner = make_user(app, "planner")
    body = {"place": "kampung melayu rw 04", "shelter": "Lapangan Banteng", "key": "quake-1", "kind": "earthquake"}
    r = requests.post(f"{url}/api/messages/alerts", json=body, headers=bearer(planner), timeout=30)
    assert r.status_code == 202, r.text
    wait_until(lambda: len(gw.sent()) == 4)
    assert bodies_to(gw, "+254711000011")[-1] == (
        "EARTHQUAKE ALERT KAMPUNG MELAYU RW 04: Go to an open space away from buildings. "
        "Assembly area: Lapangan Banteng"
    )
    assert bodies_to(gw, "+254711000012")[-1] == (
        "PERINGATAN GEMPA BUMI KAMPUNG MELAYU RW 04: Pergi ke tempat terbuka, jauhi bangunan. Titik kumpul: "
        "Lapangan Banteng"
    )
    bad = requests.post(
        f"{url}/api/messages/alerts", json={**body, "kind": "meteor", "key": "q2"}, headers=bearer(planner), timeout=30
    )
    assert bad.status_code == 400
    assert "meteor" in bad.json()["error"]["message"]


def test_build_alert_of_an_earthquake_scenario(live, monkeypatch, tmp_path):
    """A build's alert speaks the kind of its scenario (HazardSpec.hazard_kind), with the nearest safe place."""
    import geopandas as gpd
    import shapely

    from layers.area import Area, load_area

    url, app, gw = live
    rw = load_area(SAMPLE_AREA).boundary_layer("rw")
    units = rw[rw["name"] == "KAMPUNG MELAYU RW 04"][["area_id", "name", "geometry"]].copy()
    units["scenario"], units["boundary"], units["pop_affected"] = "current", "rw", 300.0
    path = tmp_path / "area.gpkg"
    gpd.GeoDataFrame(units, crs=rw.crs).to_file(path, layer="exposure_areas")
    c = units.geometry.iloc[0].representative_point()
    park = gpd.GeoDataFrame(
        {"shelter_id": [1], "name": ["Taman Kampung Melayu"], "safe": [True], "scenario": "current"},
        geometry=[shapely.Point(c.x + 300, c.y + 400)],
        crs=rw.crs,
    )
    park.to_file(path, layer="shelters")
    app.config["BUILD"] = str(path)
    hazard = Area.hazard
    monkeypatch.setattr(
        Area, "hazard", lambda self, h=None: dataclasses.replace(hazard(self, h), hazard_kind="earthquake")
    )
    at_sms(url, "JIUNGE kampung melayu rw 04", "kq-c", "+254711000013")
    wait_until(lambda: len(gw.sent()) == 1)
    from geoapp.messaging import send_area_alerts

    with app.app_context():
        assert send_area_alerts(None, "current")["messages"] == 1
    wait_until(lambda: len(gw.sent()) == 2)
    assert bodies_to(gw, "+254711000013")[-1] == (
        "TAHADHARI YA TETEMEKO LA ARDHI KAMPUNG MELAYU RW 04: Nenda eneo la wazi mbali na majengo. "
        "Eneo la kukusanyika: Taman Kampung Melayu 0.5km"
    )
