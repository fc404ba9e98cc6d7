"""The precarity index: H3 grid, composite formula, neighbourhoods, and real Dar es Salaam / Jakarta figures."""

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from layers.errors import InvalidInputError
from layers.precarity import composite as cp
from layers.precarity import grid, walks
from layers.precarity import index as pr

CRS = "EPSG:32737"
X0, Y0 = 520_000.0, 9_250_000.0


# -- H3 grid -----------------------------------------------------------------------


def test_h3_cells_match_the_reference_indexer():
    """Every point gets exactly the cell h3.latlng_to_cell gives, and lies inside its cell polygon."""
    rng = np.random.default_rng(1)
    lat = rng.uniform(-6.85, -6.75, 500)
    lng = rng.uniform(39.2, 39.3, 500)
    pts = gpd.GeoSeries(gpd.points_from_xy(lng, lat), crs=4326).to_crs(CRS)
    cells = grid.h3_cells_of_points(pts, resolution=9)
    ref = [h3.str_to_int(h3.latlng_to_cell(a, b, 9)) for a, b in zip(lat, lng, strict=False)]
    assert cells.tolist() == ref
    polys = grid.h3_cell_polygons(np.unique(cells), crs=CRS)
    assert polys.crs == CRS
    assert polys.index.is_unique
    assert polys.loc[cells].geometry.reset_index(drop=True).contains(pts.reset_index(drop=True)).all()
    assert polys["h3_id"].iloc[0] == h3.int_to_str(int(polys.index[0]))
    # Areas in UTM agree with H3's own (spherical) cell areas.
    ref_area = [h3.cell_area(h, "m^2") for h in polys["h3_id"]]
    assert polys.area.to_numpy() == pytest.approx(ref_area, rel=1e-2)  # sphere vs ellipsoid


def test_h3_resolution_out_of_range():
    pts = gpd.GeoSeries([Point(X0, Y0)], crs=CRS)
    with pytest.raises(InvalidInputError, match="between 0 and 15"):
        grid.h3_cells_of_points(pts, resolution=16)


# -- composite ----------------------------------------------------------------------


def test_composite_formula_by_hand():
    """Percentile ranks, direction, weights, rank, classes and top indicators by hand."""
    values = pd.DataFrame(
        {"building_density_per_ha": [10.0, 20, 30, 40], "median_footprint_m2": [10.0, 30, 20, 40]},
        index=["u0", "u1", "u2", "u3"],
    )
    weights = cp.check_weights({"median_footprint_m2": 3})
    out = cp.composite(values, weights, n_classes=2)
    # density scores 0.25..1; footprint (smaller = worse) scores 1, 0.5, 0.75, 0.25
    assert out["score_median_footprint_m2"].tolist() == [1.0, 0.5, 0.75, 0.25]
    assert out["precarity_index"].tolist() == pytest.approx([0.8125, 0.5, 0.75, 0.4375])
    assert out["rank"].tolist() == [1, 3, 2, 4]
    assert out["precarity_class"].tolist() == ["class_2", "class_1", "class_2", "class_1"]
    assert out.loc["u0", "top_indicators"] == "median_footprint_m2,building_density_per_ha"
    assert out.loc["u3", "top_indicators"] == "building_density_per_ha,median_footprint_m2"


def test_missing_indicator_drops_out_and_weights_renormalise():
    values = pd.DataFrame(
        {"building_density_per_ha": [10.0, 20, 30, 40], "median_footprint_m2": [10.0, 30, 20, np.nan]},
        index=["u0", "u1", "u2", "u3"],
    )
    out = cp.composite(values, cp.check_weights({"median_footprint_m2": 3}))
    assert out.loc["u3", "precarity_index"] == pytest.approx(1.0)  # density alone, top score
    assert out.loc["u3", "top_indicators"] == "building_density_per_ha"
    # u1 has the largest of the 3 known footprints: score 1/3; density 0.5 -> (0.5 + 3 · 1/3) / 4
    assert out.loc["u1", "precarity_index"] == pytest.approx(0.375)
    assert out.loc["u0", "precarity_index"] == pytest.approx((0.25 + 3 * 1.0) / 4)


def test_quintile_classes():
    values = pd.DataFrame({"building_density_per_ha": np.arange(10.0)})
    out = cp.composite(values, cp.check_weights(None))
    assert out["class_id"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out["precarity_class"].iloc[-1] == "very_high"


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ({"nonsense": 1}, "not an indicator"),
        ({"built_up_ratio": -1}, ">= 0"),
        ({"built_up_ratio": "x"}, "not a number"),
        (dict.fromkeys(cp.INDICATORS, 0), "every precarity weight is 0"),
    ],
)
def test_bad_weights(weights, match):
    with pytest.raises(InvalidInputError, match=match):
        cp.check_weights(weights)


# -- neighbourhoods ------------------------------------------------------------------


def test_contiguous_cells_dissolve_into_neighbourhoods():
    centre = h3.latlng_to_cell(-6.8, 39.24, 9)
    cluster = h3.grid_disk(centre, 1)  # 7 touching cells
    lone = h3.grid_disk(centre, 4)
    lone = sorted(set(lone) - set(h3.grid_disk(centre, 3)))[0]  # not touching the cluster
    calm = sorted(set(h3.grid_disk(centre, 2)) - set(cluster))
    ids = np.array([h3.str_to_int(c) for c in [*cluster, lone, *calm]], dtype=np.int64)
    cells = grid.h3_cell_polygons(ids, crs=CRS).reset_index(drop=True)
    cells["precarity_index"] = [0.9] * 7 + [0.8] + [0.2] * len(calm)
    cells["population"] = [100.0] * 7 + [10.0] + [1.0] * len(calm)
    cells["buildings"] = 5
    cells["top_indicators"] = ["built_up_ratio,hazard_score"] * 7 + ["hazard_score"] + [""] * len(calm)
    hoods = pr.precarious_neighbourhoods(cells, threshold=0.6)
    assert hoods["cells"].tolist() == [7, 1]
    assert hoods["population"].tolist() == [700.0, 10.0]
    assert hoods["buildings"].tolist() == [35, 5]
    assert hoods["area_ha"].iloc[0] == pytest.approx(cells.area.iloc[:7].sum() / 1e4, rel=1e-6)
    assert hoods["index_mean"].tolist() == pytest.approx([0.9, 0.8])
    assert hoods["top_indicators"].tolist() == ["built_up_ratio", "hazard_score"]
    assert hoods.geometry.geom_type.tolist() == ["Polygon", "Polygon"]
    assert pr.precarious_neighbourhoods(cells, threshold=0.95).empty


# -- the whole index on a synthetic town ---------------------------------------------


def _grid_buildings(x0, y0, size, spacing, n, btype="residential"):
    geoms = [
        box(x0 + i * spacing, y0 + j * spacing, x0 + i * spacing + size, y0 + j * spacing + size)
        for i in range(n)
        for j in range(n)
    ]
    return gpd.GeoDataFrame({"building_type": [btype] * len(geoms), "levels": np.nan}, geometry=geoms, crs=CRS)


@pytest.fixture(scope="module")
def town():
    """A dense informal block (8 m huts every 12 m, footpaths only) and a planned district
    (20 m houses every 60 m, a street every 120 m), 1.5 km apart."""
    dense = _grid_buildings(X0, Y0, 8, 12, 40)
    planned = _grid_buildings(X0 + 2000, Y0, 20, 60, 16)
    buildings = pd.concat([dense, planned], ignore_index=True)
    buildings["building_id"] = np.arange(1, len(buildings) + 1)
    # Combs: parallel lines joined by a spine through their first vertices (topology comes from shared vertices).
    ys = np.arange(-30, 990, 120)
    streets = [LineString([(X0 + 1970, Y0 + y), (X0 + 2990, Y0 + y)]) for y in ys]
    streets.append(LineString([(X0 + 1970, Y0 + y) for y in ys]))
    ys = np.arange(-2, 480, 12)
    paths = [LineString([(X0 - 2, Y0 + y), (X0 + 480, Y0 + y)]) for y in ys]
    paths.append(LineString([(X0 - 2, Y0 + y) for y in ys]))
    roads = gpd.GeoDataFrame(
        {
            "road_id": np.arange(len(streets) + len(paths)),
            "road_class": ["residential"] * len(streets) + ["footway"] * len(paths),
            "oneway": False,
            "name": None,
        },
        geometry=streets + paths,
        crs=CRS,
    )
    boundaries = gpd.GeoDataFrame(
        {"area_id": [1, 2], "name": ["Informal", "Planned"]},
        geometry=[box(X0 - 50, Y0 - 50, X0 + 550, Y0 + 550), box(X0 + 1900, Y0 - 100, X0 + 3100, Y0 + 1100)],
        crs=CRS,
    )
    return buildings, roads, boundaries


@pytest.fixture(scope="module")
def town_result(town):
    buildings, roads, boundaries = town
    return pr.precarity_index(buildings, roads=roads, boundaries=boundaries, threshold=0.6)


def test_town_layers_and_columns(town_result, town):
    res = town_result
    assert set(res.layers()) == {"precarity_cells", "precarity_areas", "precarious_neighbourhoods"}
    cells = res.cells
    assert cells.crs == CRS
    assert cells["h3_id"].is_unique
    assert cells["buildings"].sum() == len(town[0])
    for col in ("precarity_index", "rank", "precarity_class", "top_indicators", "score_building_density_per_ha"):
        assert col in cells
    # No facilities, population or hazard: those indicators are reported as left out, with why.
    assert set(res.skipped) >= {"walk_health_m", "hazard_score", "reports_per_1000"}
    assert cells["precarity_index"].between(0, 1).all()


def test_town_informal_block_ranks_first(town_result):
    areas = town_result.areas.set_index("name")
    assert areas.loc["Informal", "rank"] == 1
    assert areas.loc["Informal", "share_far_from_road"] > 0.9
    assert areas.loc["Planned", "share_far_from_road"] == 0.0
    assert areas.loc["Informal", "median_footprint_m2"] == pytest.approx(64.0)
    assert areas.loc["Planned", "median_footprint_m2"] == pytest.approx(400.0)
    assert areas.loc["Informal", "building_density_per_ha"] == pytest.approx(1600 / 36.0)
    summary = town_result.summary()
    assert summary["cells"] == len(town_result.cells)
    assert [a["name"] for a in summary["areas"]] == ["Informal", "Planned"]
    assert summary["areas"][0]["rank"] == 1
    assert summary["areas"][0]["components"]["median_footprint_m2"]["value"] == pytest.approx(64.0)


def test_town_neighbourhood_is_the_informal_block(town_result):
    cells = town_result.cells
    hoods = town_result.neighbourhoods
    assert len(hoods) >= 1
    dense_box = box(X0 - 50, Y0 - 50, X0 + 550, Y0 + 550)
    biggest = hoods.iloc[0]
    assert biggest.geometry.intersects(dense_box)
    assert not biggest.geometry.intersects(box(X0 + 1900, Y0 - 100, X0 + 3100, Y0 + 1100))
    hot = cells[cells.precarity_index >= 0.6]
    assert hoods["cells"].sum() == len(hot)
    assert hoods["buildings"].sum() == hot["buildings"].sum()


def test_threshold_out_of_range(town):
    with pytest.raises(InvalidInputError, match="threshold"):
        pr.precarity_index(town[0], threshold=1.5)


def test_geographic_buildings_rejected(town):
    with pytest.raises(InvalidInputError, match="projected"):
        pr.precarity_index(town[0].to_crs(4326))


# -- walking distance along the network ----------------------------------------------


def test_walk_distances_follow_the_network():
    """An L-shaped street: along the street, not across; a target on the building's own edge is walked straight."""
    from layers.evacuation.network import network_from_roads

    roads = gpd.GeoDataFrame(
        {"road_id": [1, 2], "road_class": ["footway", "residential"], "oneway": False, "name": None},
        geometry=[LineString([(X0, Y0), (X0 + 100, Y0)]), LineString([(X0 + 100, Y0), (X0 + 100, Y0 + 100)])],
        crs=CRS,
    )
    net = network_from_roads(roads, mode="walk")
    buildings = gpd.GeoSeries(
        [
            box(X0 + 18, Y0 + 3, X0 + 22, Y0 + 7),
            box(X0 + 93, Y0 + 48, X0 + 97, Y0 + 52),
            box(X0 + 5000, Y0, X0 + 5004, Y0 + 4),
        ],
        crs=CRS,
    )
    water = gpd.GeoDataFrame(geometry=[Point(X0 + 100, Y0 + 110)], crs=CRS)
    d = walks.walk_distances(net, gpd.GeoDataFrame(geometry=buildings), {"water": water})["water"]
    # 5 m to the street, 80 m to the corner, 100 m up, 10 m to the tap; 5 + 50 + 10; off the network.
    assert d[:2] == pytest.approx([195.0, 65.0])
    assert np.isinf(d[2])
    assert np.isinf(
        walks.walk_distances(net, gpd.GeoDataFrame(geometry=buildings), {"none": water.iloc[:0]})["none"]
    ).all()


def test_walk_indicators_from_facilities(town):
    """Facilities of each kind give walk_*_m per cell; kinds with no facility are left out, saying why."""
    buildings, roads, _ = town
    facilities = gpd.GeoDataFrame(
        {"facility_id": [1, 2], "category": ["clinic", "water_point"]},
        geometry=[Point(X0 + 2000 + 500, Y0 + 90), Point(X0 + 100, Y0 + 10)],
        crs=CRS,
    )
    res = pr.precarity_index(buildings, roads=roads, facilities=facilities)
    assert "walk_school_m" in res.skipped
    assert "school" in res.skipped["walk_school_m"]
    cells = res.cells
    assert cells["walk_health_m"].notna().any()
    assert cells["walk_water_m"].notna().any()
    # The informal block has no road to the clinic: its walk distance is unknown (unreachable),
    # the planned district's is not.
    dense = cells.geometry.intersects(box(X0, Y0, X0 + 480, Y0 + 480))
    assert cells.loc[dense, "walk_health_m"].isna().all()
    assert cells.loc[~dense, "walk_health_m"].notna().all()
    assert cells.loc[dense, "score_walk_health_m"].min() > cells.loc[~dense, "score_walk_health_m"].max()


# -- real data ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dar(shared_data):
    """The Dar es Salaam city sample indexed with Tandale and the rest of the sample as two areas."""
    from layers.io.vectors import buildings_from_file, facilities_from_buildings, read_vector, roads_from_file

    d = shared_data / "dar_es_salaam"
    buildings = buildings_from_file(d / "dar_buildings_2015.gpkg")
    roads = roads_from_file(d / "dar_roads_2015.gpkg", crs=buildings.crs)
    facilities = facilities_from_buildings(read_vector(d / "dar_buildings_2015.gpkg"), crs=buildings.crs)
    tandale = buildings_from_file(d / "tandale-buildings.shp", crs=buildings.crs).union_all().convex_hull
    city = buildings.union_all().convex_hull
    areas = gpd.GeoDataFrame(
        {"area_id": [1, 2], "name": ["Tandale", "Rest of the sample"]},
        geometry=[tandale, city.difference(tandale)],
        crs=buildings.crs,
    )
    res = pr.precarity_index(buildings, roads=roads, facilities=facilities, boundaries=areas)
    return res, tandale


def test_dar_tandale_more_precarious_than_the_rest(dar):
    """Tandale, a known informal settlement, ranks first; its cells score above the rest of the sample."""
    res, tandale = dar
    areas = res.areas.set_index("name")
    assert areas.loc["Tandale", "rank"] == 1
    assert areas.loc["Tandale", "precarity_index"] > areas.loc["Rest of the sample", "precarity_index"]
    cells = res.cells
    inside = cells.geometry.centroid.within(tandale)
    t, r = cells[inside], cells[~inside]
    assert len(t) >= 15
    assert len(r) >= 300
    assert t.precarity_index.mean() > r.precarity_index.mean() + 0.08
    assert t.precarity_index.median() > r.precarity_index.median() + 0.08
    # Twice as many of Tandale's cells are in the top quintile (cells astride its edge count as "rest").
    assert (t.class_id == 5).mean() > 2 * (r.class_id == 5).mean()
    # Why: denser, smaller footprints, more footway-only access.
    assert (
        areas.loc["Tandale", "building_density_per_ha"] > 2 * areas.loc["Rest of the sample", "building_density_per_ha"]
    )
    assert areas.loc["Tandale", "median_footprint_m2"] < areas.loc["Rest of the sample", "median_footprint_m2"]
    print(  # noqa: T201 - the figures behind the README, shown with pytest -s
        f"\nDar es Salaam: Tandale index {areas.loc['Tandale', 'precarity_index']:.3f} vs rest "
        f"{areas.loc['Rest of the sample', 'precarity_index']:.3f}; mean cell index {t.precarity_index.mean():.3f} "
        f"vs {r.precarity_index.mean():.3f}; "
        f"top quintile {(t.class_id == 5).mean():.0%} vs {(r.class_id == 5).mean():.0%}"
    )


def test_walk_distances_agree_with_the_evacuation_engine(shared_data):
    """Kibera's OSM walk network: nearest-clinic distances equal evacuate()'s with every clinic open and unlimited."""
    from layers.evacuation.assign import evacuate
    from layers.evacuation.network import walk_network_from_osm
    from layers.io.osm import facilities_from_osm

    path = shared_data / "kibera" / "kibera_map_2012.osm"
    net = walk_network_from_osm(path)
    fac = facilities_from_osm(path, crs=net.crs)
    clinics = fac[fac.category.isin(["clinic", "hospital"])].reset_index(drop=True)
    homes = fac[fac.category.isin(["school", "water_point", "toilet"])].reset_index(drop=True)
    ours = walks.walk_distances(net, homes, {"health": clinics})["health"]
    shelters = gpd.GeoDataFrame(
        {"shelter_id": np.arange(len(clinics)), "capacity": np.nan, "safe": True},
        geometry=clinics.geometry.to_numpy(),
        crs=net.crs,
    )
    blds = gpd.GeoDataFrame({"building_id": np.arange(len(homes))}, geometry=homes.geometry.to_numpy(), crs=net.crs)
    ref = evacuate(net, blds, shelters, people=0.0, walk_speed_m_s=1.0).buildings["distance_m"].to_numpy()
    assert len(homes) > 300
    assert np.isfinite(ours).mean() > 0.95
    np.testing.assert_allclose(ours, np.where(np.isnan(ref), np.inf, ref), rtol=1e-9, atol=1e-6)


def test_constant_indicator_is_left_out():
    """No field report anywhere: reports_per_1000 is 0 everywhere and must not pull every index to the middle."""
    values = pd.DataFrame({"building_density_per_ha": [1.0, 2, 3, 4], "reports_per_1000": [0.0] * 4})
    out = cp.composite(values, cp.check_weights(None))
    assert out["score_reports_per_1000"].isna().all()
    assert out["precarity_index"].tolist() == pytest.approx([0.25, 0.5, 0.75, 1.0])


def _auc(values: pd.Series, flag: pd.Series) -> float:
    """Probability that a random flagged unit scores above a random unflagged one (Mann-Whitney U / n1·n0)."""
    from scipy.stats import mannwhitneyu

    ok = values.notna()
    v, f = values[ok], flag[ok]
    return float(mannwhitneyu(v[f], v[~f]).statistic / (f.sum() * (~f).sum()))


def test_jakarta_index_relates_to_the_floodprone_flag(built_area):
    """Built sample area: RWs flagged FLOODPRONE rank higher; the hazard indicator carries most of that."""
    areas = gpd.read_file(built_area, layer="precarity_areas")
    rw = gpd.read_file(built_area, layer="boundaries_rw")
    m = areas.merge(rw[["area_id", "floodprone"]], on="area_id")
    flag = m["floodprone"].str.strip().str.upper()
    m, prone = m[flag.isin(["YES", "NO"])], flag[flag.isin(["YES", "NO"])].eq("YES")
    assert len(areas) == 2685
    assert prone.sum() > 900
    auc = _auc(m["precarity_index"], prone)
    top_yes, top_no = (m["class_id"][prone] == 5).mean(), (m["class_id"][~prone] == 5).mean()
    assert m["precarity_index"][prone].mean() > m["precarity_index"][~prone].mean()
    assert auc > 0.6
    assert top_yes > 1.5 * top_no
    # The same index without the hazard indicator (built form and access only).
    values = m[[c for c in cp.INDICATORS if c in m]]
    auc_no_hazard = _auc(cp.composite(values, cp.check_weights({"hazard_score": 0}))["precarity_index"], prone)
    assert 0.4 < auc_no_hazard < auc
    print(  # noqa: T201 - the figures behind the README, shown with pytest -s
        f"\nJakarta RW: AUC {auc:.3f} (flood-prone vs not), top quintile {top_yes:.1%} vs {top_no:.1%}; "
        f"without the hazard indicator AUC {auc_no_hazard:.3f}"
    )


# -- the build step -------------------------------------------------------------------


def test_build_step_on_a_small_area(town, tmp_path):
    """An area folder without hazard: the three layers, [precarity] settings applied, community boundaries exposed."""
    from layers.area import load_area
    from layers.precarity.step import precarity_step

    buildings, roads, boundaries = town
    buildings.to_file(tmp_path / "buildings.gpkg")
    roads.to_file(tmp_path / "roads.gpkg")
    boundaries.to_file(tmp_path / "wards.gpkg")
    (tmp_path / "area.toml").write_text(
        '[area]\nname = "town"\ncrs = "EPSG:32737"\n[layers]\nbuildings = "buildings.gpkg"\nroads = "roads.gpkg"\n'
        '[[boundaries]]\nid = "wards"\nfile = "wards.gpkg"\nname_field = "name"\n'
        "[precarity]\nh3_resolution = 8\nthreshold = 0.5\nclasses = 4\nweights = { data_completeness = 0.5 }\n"
    )
    area = load_area(tmp_path)
    reports = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c"],
            "category": ["community_boundary", "community_boundary", "need_water"],
            "status": ["published", "pending", "published"],
            "name": ["Mtaa wa Kati", "Draft", None],
        },
        geometry=[box(X0, Y0, X0 + 300, Y0 + 300), box(X0, Y0, X0 + 10, Y0 + 10), Point(X0 + 5, Y0 + 5)],
        crs=CRS,
    )
    out = precarity_step(area, {"field_reports": reports})
    assert set(out) == {"precarity_cells", "precarity_areas", "precarious_neighbourhoods", "community_boundaries"}
    cells = out["precarity_cells"]
    assert (cells["h3_id"].map(h3.get_resolution) == 8).all()
    assert set(cells["class_id"].dropna()) <= {1, 2, 3, 4}
    assert out["community_boundaries"]["name"].tolist() == ["Mtaa wa Kati"]  # published polygons only
    assert sorted(out["precarity_areas"]["name"]) == ["Informal", "Planned"]
    assert (out["precarious_neighbourhoods"]["index_mean"] >= 0.5).all()
    assert precarity_step(area, {}).keys() == {"precarity_cells", "precarity_areas", "precarious_neighbourhoods"}


def test_unit_without_data_has_no_index_and_serialises(town):
    """A boundary unit with nothing mapped gets no index, rank or class (not 0), and the summary is valid JSON."""
    import json

    buildings, roads, boundaries = town
    empty = gpd.GeoDataFrame(
        {"area_id": [3], "name": ["Unmapped"]}, geometry=[box(X0 + 9000, Y0, X0 + 9500, Y0 + 500)], crs=CRS
    )
    res = pr.precarity_index(buildings, roads=roads, boundaries=pd.concat([boundaries, empty], ignore_index=True))
    row = res.areas.set_index("name").loc["Unmapped"]
    assert np.isnan(row["precarity_index"])
    assert pd.isna(row["rank"])
    assert pd.isna(row["precarity_class"])
    summary = json.loads(json.dumps(res.summary()))
    last = summary["areas"][-1]
    assert last["name"] == "Unmapped"
    assert last["index"] is None
    assert last["rank"] is None
    assert last["class"] is None


def test_people_and_reports_give_hazard_shares_and_reports_per_1000(town):
    """People points carry a hazard class; published need/damage reports are counted per 1,000 people."""
    buildings, roads, boundaries = town
    people = gpd.GeoDataFrame(
        {"people": [600.0, 400.0, 1000.0], "hazard_class": ["high", None, "low"]},
        geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 300, Y0 + 300), Point(X0 + 2500, Y0 + 500)],
        crs=CRS,
    )
    reports = gpd.GeoDataFrame(
        {
            "category": ["need_water", "damaged_building", "flooding_observed", "need_food"],
            "status": ["published", "published", "published", "rejected"],
        },
        geometry=[Point(X0 + 10, Y0 + 10), Point(X0 + 20, Y0 + 20), Point(X0 + 30, Y0 + 30), Point(X0 + 40, Y0 + 40)],
        crs=CRS,
    )
    res = pr.precarity_index(
        buildings,
        roads=roads,
        people=people,
        hazard_classes=["low", "medium", "high"],
        reports=reports,
        boundaries=boundaries,
    )
    areas = res.areas.set_index("name")
    assert areas.loc["Informal", "population"] == 1000.0
    assert areas.loc["Informal", "pop_share_high"] == pytest.approx(0.6)
    assert areas.loc["Planned", "pop_share_low"] == pytest.approx(1.0)
    assert areas.loc["Informal", "hazard_score"] == pytest.approx(0.6)  # 0.6 · 3/3
    assert areas.loc["Planned", "hazard_score"] == pytest.approx(1 / 3)
    assert areas.loc["Informal", "reports_per_1000"] == pytest.approx(2.0)
    assert areas.loc["Planned", "reports_per_1000"] == 0.0
    assert "hazard_score" not in res.skipped


def test_build_step_hazard_without_population(town, tmp_path):
    """No population: shares over buildings, from the built exposure layer when present, else from the raster."""
    import rasterio
    from rasterio.transform import from_origin

    from layers.area import load_area
    from layers.precarity.step import precarity_step

    buildings, roads, boundaries = town
    buildings.to_file(tmp_path / "buildings.gpkg")
    boundaries.to_file(tmp_path / "wards.gpkg")
    # 2 m of water over the informal block, dry elsewhere (100 m cells).
    depth = np.zeros((12, 40), dtype="float32")
    depth[:, :6] = 2.0
    with rasterio.open(
        tmp_path / "flood.tif",
        "w",
        driver="GTiff",
        width=40,
        height=12,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(X0 - 50, Y0 + 1150, 100, 100),
    ) as dst:
        dst.write(depth, 1)
    (tmp_path / "area.toml").write_text(
        '[area]\nname = "town"\ncrs = "EPSG:32737"\n[layers]\nbuildings = "buildings.gpkg"\n'
        '[[hazard]]\nid = "now"\nfile = "flood.tif"\n'
        '[[boundaries]]\nid = "wards"\nfile = "wards.gpkg"\nname_field = "name"\n'
    )
    area = load_area(tmp_path)
    areas = precarity_step(area, {})["precarity_areas"].set_index("name")
    assert areas.loc["Informal", "buildings_share_high"] == 1.0
    assert areas.loc["Planned", "buildings_share_high"] == 0.0
    assert areas.loc["Informal", "rank"] == 1
    # The exposure step's per-building classes win when built (here: everything "low" in scenario "now").
    b = area.buildings()
    exposed = gpd.GeoDataFrame(
        {"building_id": b["building_id"], "hazard_class": "low", "scenario": "now"}, geometry=b.geometry, crs=b.crs
    )
    areas = precarity_step(area, {"exposure_buildings": exposed})["precarity_areas"].set_index("name")
    assert areas["buildings_share_low"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("h3_resolution = 16", "precarity.h3_resolution"),
        ("threshold = 0", "precarity.threshold"),
        ("classes = 1", "precarity.classes"),
        ("weights = { shade = 1 }", "precarity.weights"),
    ],
)
def test_bad_precarity_settings_name_key_and_file(town, tmp_path, setting, key):
    from layers.area import load_area
    from layers.errors import AreaConfigError
    from layers.precarity.step import precarity_step

    town[0].to_file(tmp_path / "buildings.gpkg")
    (tmp_path / "area.toml").write_text(f'[layers]\nbuildings = "buildings.gpkg"\n[precarity]\n{setting}\n')
    with pytest.raises(AreaConfigError, match=key) as err:
        precarity_step(load_area(tmp_path), {})
    assert "area.toml" in str(err.value)


def test_community_boundaries_from_stored_reports():
    """Reports as geoapp stores them (extra fields in an ``attributes`` dict): published polygons only, named."""
    from layers.precarity.inputs import community_boundaries, needs_reports

    reports = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c"],
            "category": ["community_boundary", "community_boundary", "need_food"],
            "status": ["published", "rejected", "published"],
            "attributes": [{"name": "Mtaa wa Kati"}, {"name": "x"}, {}],
        },
        geometry=[box(0, 0, 1, 1), box(0, 0, 2, 2), Point(0.5, 0.5)],
        crs=4326,
    )
    out = community_boundaries(reports)
    assert out["id"].tolist() == ["a"]
    assert out["name"].tolist() == ["Mtaa wa Kati"]
    assert "attributes" not in out
    assert needs_reports(reports)["id"].tolist() == ["c"]
    assert community_boundaries(reports[reports.category == "need_food"]) is None
