"""The message grammar on a table of real-world-style messages (en, fr, sw, id) against the Jakarta sample.

Expected places come from the test's own reading of the area (geopandas centroids and openlocationcode
decoding), not from the parser; every row's parse is asserted, and the shares parsed fully and left for a
moderator are printed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from openlocationcode import openlocationcode as olc

from layers.area import load_area
from layers.errors import InvalidInputError
from layers.reports.messages import Keywords, MessageParser, area_gazetteer, build_gazetteer, parse_message
from tests.helpers import SAMPLE_AREA

# (kelurahan, RW) pairs of the sample's RW layer used in the generated rows.
KEL = [
    ("KAMPUNG MELAYU", 4),
    ("KAMPUNG MELAYU", 2),
    ("CIPINANG MELAYU", 9),
    ("KEBON BAWANG", 3),
    ("SUNGAI BAMBU", 5),
    ("SUNTER AGUNG", 7),
    ("WARAKAS", 2),
    ("PEJAGALAN", 6),
    ("PENJARINGAN", 10),
    ("PADEMANGAN BARAT", 4),
    ("RAWABADAK UTARA", 3),
    ("CILINCING", 5),
    ("MARUNDA", 2),
    ("SEMPER TIMUR", 8),
    ("KELAPA GADING BARAT", 2),
    ("BUKIT DURI", 6),
    ("CIPETE UTARA", 4),
    ("GROGOL SELATAN", 3),
    ("JATI PADANG", 5),
    ("KALIBATA", 7),
]


@pytest.fixture(scope="module")
def area():
    return load_area(SAMPLE_AREA)


@pytest.fixture(scope="module")
def parser(area):
    return MessageParser(area_gazetteer(area))


@pytest.fixture(scope="module")
def rw(area):
    return area.boundary_layer("rw")


def _centre(rw, kel: str, n: int) -> tuple[float, float]:
    """The oracle: the RW's centroid in the working CRS, in lon/lat (geopandas, not the parser)."""
    sel = rw[(rw["kel_name"] == kel) & (rw["rw"] == f"RW {n:02d}")]
    assert len(sel) >= 1, (kel, n)
    c = gpd.GeoSeries([shapely.union_all(sel.geometry.to_numpy()).centroid], crs=rw.crs).to_crs(4326)
    return float(c.x[0]), float(c.y[0])


def _typo(name: str) -> str:
    """Swap the 2nd and 3rd letters of the longest word (``MELAYU`` -> ``MLEAYU``), a common thumb slip."""
    parts = name.split()
    i = max(range(len(parts)), key=lambda k: len(parts[k]))
    w = parts[i]
    if len(w) >= 6:
        parts[i] = w[0] + w[2] + w[1] + w[3:]
    return " ".join(parts)


def _rows(rw) -> list[tuple]:
    """(text, kind, category, depth_m, expected (lon, lat) or None) rows."""
    rows: list[tuple] = []
    flood = "flooding_observed"
    for k, (kel, n) in enumerate(KEL):
        where = _centre(rw, kel, n)
        title = kel.title()
        rows += [
            (f"FLOOD {40 + k} RW{n:02d} {kel} near the mosque", "report", flood, (40 + k) / 100, where),
            (f"flood {title} rw {n} {40 + k}cm", "report", flood, (40 + k) / 100, where),
            (f"Inondation 0,{k % 9 + 1} m {title} RW {n:02d}", "report", flood, (k % 9 + 1) / 10, where),
            (f"MAFURIKO 0.{k % 9 + 1} {kel} RW{n}", "report", flood, (k % 9 + 1) / 10, where),
            (f"banjir {20 + k}cm di {title.lower()} rw {n:02d} tolong", "report", flood, (20 + k) / 100, where),
            (f"BANJR {30 + k} cm {_typo(kel)} RW {n}", "report", flood, (30 + k) / 100, where),
            (f"banjir selutut {kel} rw {n}", "report", flood, 0.5, where),
            (f"FLOOD {title} RW {n}", "report", flood, None, where),  # no depth: a moderator adds it
            (f"rusak rumah {kel} RW {n:02d}", "report", "damaged_building", None, where),
            (f"chakula {title} rw {n}", "report", "need_food", None, where),
        ]
    # Plus codes: the full code of a point of the area, and its short form near the area.
    for k, (kel, n) in enumerate(KEL[:10]):
        lon, lat = _centre(rw, kel, n)
        code = olc.encode(lat, lon)
        c = olc.decode(code)
        rows.append(
            (f"flood {50 + k}cm {code}", "report", flood, (50 + k) / 100, (c.longitudeCenter, c.latitudeCenter))
        )
        rows.append((f"BANJIR {code[4:]} 1m", "report", flood, 1.0, (c.longitudeCenter, c.latitudeCenter)))
    # The examples and other real-world shapes, places the test reads from the layers itself.
    rows += [
        ("BANJIR 60cm RT03 RW04", "report", flood, 0.6, None),  # RW 04 of which kelurahan? a moderator decides
        ("BLOCKED bridge Jl. Otista", "report", "evacuation_obstacle", None, None),  # a nickname, not in the data
        ("SHELTER SDN 01 full", "report", "shelter_site", None, None),  # two schools named SDN 01, 5 km apart
        ("MAFURIKO 0.6 Tandale", "report", flood, 0.6, None),  # Tandale is in Dar es Salaam, not this area
        ("flood", "report", flood, None, None),
        ("FLOOD 60", "report", flood, 0.6, None),
        ("banjir sepinggang", "report", flood, 1.0, None),
        ("inondation jusqu'aux genoux", "report", flood, 0.5, None),
        ("maji ya kunywa hakuna", "report", "need_water", None, None),
        ("dokter", "report", "need_medical", None, None),
        ("got mampet", "report", "blocked_drain", None, None),
        ("flood 45 m", "report", flood, None, None),  # 45 m is no flood depth: left out, not guessed
        ("hello", "unknown", None, None, None),
        ("asante sana", "unknown", None, None, None),
        ("?", "unknown", None, None, None),
        ("", "unknown", None, None, None),
        ("STOP", "stop", None, None, None),
        ("stop", "stop", None, None, None),
        ("Acha", "stop", None, None, None),
        ("BERHENTI", "stop", None, None, None),
        ("help", "help", None, None, None),
    ]
    return rows


@pytest.fixture(scope="module")
def street_rows(area) -> list[tuple]:
    """Streets with one name that lie within 1.5 km: their merged centroid is the oracle."""
    roads = area.roads()
    named = roads[roads["name"].isin(["Otto Iskandar Dinata", "Daan Mogot", "Husein Sastranegara"])]
    rows = []
    for name, part in named.groupby("name"):
        geom = shapely.union_all(part.geometry.to_numpy())
        c = gpd.GeoSeries([geom.centroid], crs=roads.crs).to_crs(4326)
        spread = shapely.hausdorff_distance(geom, geom.centroid)
        where = (float(c.x[0]), float(c.y[0])) if spread <= 1500 else None
        rows += [
            (f"BLOCKED jl. {name}", "report", "evacuation_obstacle", None, where),
            (f"jalan putus {name.lower()}", "report", "evacuation_obstacle", None, where),
            (f"route coupee rue {name}", "report", "evacuation_obstacle", None, where),
            (f"barabara imefungwa {name}", "report", "evacuation_obstacle", None, where),
        ]
    return rows


def _check(parser, rows) -> tuple[int, int, int]:
    full = moderator = unknown = 0
    failures = []
    for text, kind, category, depth, where in rows:
        p = parse_message(parser, text)
        got = (p.kind, p.category, p.depth_m)
        ok = got == (kind, category, None if depth is None else pytest.approx(depth))
        if where is None:
            ok = ok and p.place is None
        else:
            ok = ok and p.place is not None
            if ok:
                d = np.hypot(
                    (p.place.lon - where[0]) * 111_320 * np.cos(np.radians(where[1])),
                    (p.place.lat - where[1]) * 110_574,
                )
                ok = d < 2.0  # metres
        if not ok:
            failures.append((text, got, p.place))
        if p.kind == "report":
            full += p.complete
            moderator += not p.complete
        else:
            unknown += p.kind == "unknown"
    assert not failures, "\n".join(map(str, failures))
    return full, moderator, unknown


def test_message_table(parser, rw, street_rows):
    rows = _rows(rw) + street_rows
    assert len(rows) == 253  # the README's "Messages" section gives this size
    full, moderator, unknown = _check(parser, rows)
    reports = full + moderator
    print(  # noqa: T201 - the shares are the figure the issue asks for
        f"\nmessage table: {len(rows)} messages, {reports} reports: {full / reports:.0%} parsed fully, "
        f"{moderator / reports:.0%} left for a moderator; {unknown} not understood"
    )
    # The same shares from the table's own expectations (a flood needs a depth, every report a place).
    expected_full = sum(
        k == "report" and w is not None and (c != "flooding_observed" or d is not None) for _, k, c, d, w in rows
    )
    assert full == expected_full
    assert reports == sum(k == "report" for _, k, *_ in rows)


def test_place_accuracy_and_order(parser, rw):
    """The RW's own accuracy is its farthest point from its centroid; a facility inside it wins (finer)."""
    p = parse_message(parser, "FLOOD 60 RW04 Kampung Melayu near the mosque")
    sel = rw[(rw["kel_name"] == "KAMPUNG MELAYU") & (rw["rw"] == "RW 04")]
    geom = sel.geometry.iloc[0]
    assert p.place.source == "boundary"
    assert p.place.boundary_set == "rw"
    assert p.place.boundary_ids == (str(sel["area_id"].iloc[0]),)
    assert p.place.accuracy_m == pytest.approx(shapely.hausdorff_distance(geom, geom.centroid), abs=0.1)
    assert p.missing == ()
    assert p.language == "en"


def test_join_needs_one_neighbourhood(parser):
    one = parse_message(parser, "JOIN Kampung Melayu RW04")
    assert one.kind == "join"
    assert one.place.name == "KAMPUNG MELAYU RW 04"
    many = parse_message(parser, "join rw 04")
    assert many.kind == "join"
    assert many.place is None
    assert parse_message(parser, "DAFTAR kebon bawang rw 3").language == "id"


def test_synthetic_dar_es_salaam_wards():
    """Swahili messages on a small ward layer (EPSG:32737): the issue's ``MAFURIKO 0.6 Tandale``."""
    squares = [shapely.box(x, 9_250_000, x + 1000, 9_251_000) for x in (525_000, 526_000, 527_000)]
    wards = gpd.GeoDataFrame(
        {"area_id": ["TDL", "MBR", "MNZ"], "name": ["Tandale", "Mburahati", "Manzese"]}, geometry=squares, crs=32737
    )
    p = MessageParser(build_gazetteer(crs=32737, boundaries={"ward": wards}))
    r = parse_message(p, "MAFURIKO 0.6 Tandale")
    c = gpd.GeoSeries([squares[0].centroid], crs=32737).to_crs(4326)
    assert (r.category, r.depth_m, r.language) == ("flooding_observed", 0.6, "sw")
    assert (r.place.lon, r.place.lat) == (pytest.approx(c.x[0], abs=1e-7), pytest.approx(c.y[0], abs=1e-7))
    assert r.place.accuracy_m == pytest.approx(np.hypot(500, 500), abs=0.1)
    assert parse_message(p, "mafurko 60 tandal").place.name == "Tandale"  # typos in both words
    j = parse_message(p, "JIUNGE MBR")  # a ward code
    assert j.kind == "join"
    assert j.place.name == "Mburahati"
    assert j.language == "sw"


def test_keywords_from_config():
    kw = Keywords.from_config({"categories": {"flooding_observed": {"id": ["rob"]}}})
    assert kw.categories["flooding_observed"]["id"] == ["rob"]
    assert "banjir" not in kw.categories["flooding_observed"]["id"]
    with pytest.raises(InvalidInputError):
        Keywords.from_config({"colours": []})
