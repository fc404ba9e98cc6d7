"""Exposure: hand-checked answers on a tiny city, real Jakarta and InaSAFE fixtures, scenarios, bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

from layers.errors import InvalidInputError, OutsideExtentError
from layers.hazard.exposure import exposure, exposure_from_files
from layers.hazard.needs import minimum_needs
from layers.hazard.population import read_census, read_population
from layers.hazard.scenarios import scenario_diff
from layers.hazard.sources import open_hazard
from tests.helpers import write_raster

UTM = "EPSG:32748"
CLASSES = ["low", "medium", "high"]


def _depth(high: bool = True) -> np.ndarray:
    """10×10 cells of 10 m over (0..100)²: west half 1 m (medium), NE corner 2 m (high), a 0.3 m strip (low)."""
    d = np.zeros((10, 10))
    d[:, :5] = 1.0
    if high:
        d[0:2, 8:10] = 2.0
    d[5:10, 5] = 0.3
    return d


@pytest.fixture
def city(tmp_path):
    t = from_origin(0, 100, 10, 10)
    hazard = open_hazard(write_raster(tmp_path / "h.tif", _depth(), transform=t))
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [1, 2, 3, 4, 5],
            "building_type": ["residential", "residential", "school", "residential", "hospital"],
        },
        geometry=[
            box(10, 10, 20, 20),
            box(44, 60, 54, 70),
            box(85, 85, 95, 95),
            box(70, 30, 75, 35),
            box(52, 10, 58, 20),
        ],
        crs=UTM,
    )
    roads = gpd.GeoDataFrame(
        {"road_id": [1, 2], "road_class": ["primary", "footway"]},
        geometry=[LineString([(0, 55), (100, 55)]), LineString([(55, 0), (55, 40)])],
        crs=UTM,
    )
    facilities = gpd.GeoDataFrame(
        {"facility_id": [1, 2, 3], "category": ["school", "hospital", "clinic"], "name": ["SD 1", "RS", "Klinik"]},
        geometry=[Point(15, 15), Point(90, 90), Point(70, 70)],
        crs=UTM,
    )
    pop = read_population(write_raster(tmp_path / "p.tif", np.full((10, 10), 10.0), transform=t))
    units = gpd.GeoDataFrame(
        {"area_id": [1, 2], "name": ["West", "East"]}, geometry=[box(0, 0, 50, 100), box(50, 0, 100, 100)], crs=UTM
    )
    return {
        "hazard": hazard,
        "buildings": buildings,
        "roads": roads,
        "facilities": facilities,
        "population": pop,
        "boundaries": units,
    }


@pytest.fixture
def city_result(city):
    return exposure(
        city["hazard"],
        buildings=city["buildings"],
        roads=city["roads"],
        facilities=city["facilities"],
        population=city["population"],
        boundaries=city["boundaries"],
        displacement={"high": 1.0, "medium": 0.3},
        crs=UTM,
    )


def test_summary_by_hand(city_result):
    """Every figure of the tiny city, worked out by hand."""
    s = city_result.summary()
    assert s["classes"] == CLASSES
    p = s["population"]
    assert (p["total"], p["affected"]) == (1000.0, 590.0)
    assert p["by_class"] == {"low": 50.0, "medium": 500.0, "high": 40.0}
    assert p["displaced"] == 190.0  # 40 × 1.0 + 500 × 0.3
    assert p["needs"] == {
        "rice_kg": 532,
        "drinking_water_l": 3325,
        "clean_water_l": 12730,
        "family_kits": 38,
        "toilets": 10,
    }
    b = s["buildings"]
    assert (b["total"], b["affected"]) == (5, 4)
    assert b["by_class"] == {"low": 1, "medium": 2, "high": 1}
    assert b["by_type"]["residential"] == {"low": 0, "medium": 2, "high": 0}
    assert b["by_type"]["hospital"] == {"low": 1, "medium": 0, "high": 0}
    r = s["roads"]
    assert (r["total_km"], r["affected_km"]) == (0.14, 0.09)
    assert r["by_class_km"] == {"low": 0.04, "medium": 0.05, "high": 0.0}
    assert r["by_road_class_km"]["footway"]["low"] == 0.04
    f = s["facilities"]
    assert (f["total"], f["affected"]) == (3, 2)
    assert [x["name"] for x in f["at_risk"]] == ["RS", "SD 1"]  # most severe first
    assert f["by_category"]["clinic"] == {"low": 0, "medium": 0, "high": 0}


def test_building_layer_by_hand(city_result):
    b = city_result.buildings
    assert list(b.columns) == [
        "building_id",
        "building_type",
        "hazard_class",
        "depth_max_m",
        "flooded_share",
        "geometry",
    ]
    assert b["hazard_class"].tolist()[:3] == ["medium", "medium", "high"]
    assert b["hazard_class"].isna().tolist()[3]
    assert b["depth_max_m"].tolist() == pytest.approx([1.0, 1.0, 2.0, 0.0, 0.3])
    assert b["flooded_share"].tolist() == pytest.approx([1.0, 0.6, 1.0, 0.0, 1.0])


def test_roads_are_cut_by_class(city_result):
    r = city_result.roads.sort_values(["road_id", "hazard_class"])
    assert r["length_m"].sum() == pytest.approx(140.0)
    road1 = r[r["road_id"] == 1]
    assert road1.set_index(road1["hazard_class"].fillna("none"))["length_m"].to_dict() == pytest.approx(
        {"medium": 50.0, "none": 50.0}
    )


def test_units_by_hand(city_result):
    a = city_result.areas.set_index("name")
    assert a.loc["West", ["pop_total", "pop_medium", "pop_high", "displaced"]].tolist() == pytest.approx(
        [500, 500, 0, 150]
    )
    assert a.loc["East", ["pop_total", "pop_low", "pop_high", "displaced"]].tolist() == pytest.approx([500, 50, 40, 40])
    assert a.loc["West", ["buildings_total", "buildings_medium"]].tolist() == [2, 2]
    assert a.loc["East", ["buildings_total", "buildings_low", "buildings_high"]].tolist() == [3, 1, 1]
    assert a.loc["West", "roads_medium_km"] == pytest.approx(0.05)
    assert a.loc["East", ["roads_km", "roads_low_km"]].tolist() == pytest.approx([0.09, 0.04])
    assert a.loc["East", "facilities_at_risk"] == "hospital: 1"
    assert a.loc["West", ["needs_rice_kg", "needs_toilets"]].tolist() == [420, 8]  # 150 displaced × 2.8 kg, × 0.05
    assert city_result.summary()["by_area"][0]["name"] == "West"


def test_layers_carry_scenario_and_boundary(city_result):
    layers = city_result.layers(scenario="now", boundary="wards")
    assert set(layers) == {"exposure_buildings", "exposure_roads", "exposure_facilities", "exposure_areas"}
    assert (layers["exposure_roads"]["scenario"] == "now").all()
    assert (layers["exposure_areas"]["boundary"] == "wards").all()


def test_scenario_difference(city, tmp_path):
    """Without the 2 m corner, the 40 people and the school there are no longer affected."""
    h2 = open_hazard(write_raster(tmp_path / "h2.tif", _depth(high=False), transform=from_origin(0, 100, 10, 10)))
    kw = {
        "buildings": city["buildings"],
        "population": city["population"],
        "boundaries": city["boundaries"],
        "crs": UTM,
    }
    base, other = exposure(city["hazard"], **kw), exposure(h2, **kw)
    d = scenario_diff(base, other, city["boundaries"]).set_index("name")
    assert d.loc["East", "pop_no_longer_affected"] == 40.0
    assert d["pop_newly_affected"].sum() == 0.0
    assert d.loc["East", "buildings_no_longer_affected"] == 1
    assert d.loc["East", "pop_affected_change"] == -40.0


def test_default_displacement_and_sphere_needs(city):
    s = exposure(city["hazard"], population=city["population"], needs="sphere", crs=UTM).summary()
    assert s["population"]["displaced"] == 40.0  # everyone in the most severe class
    assert s["population"]["needs"]["drinking_water_l"] == 840
    assert set(s) == {"kind", "units", "classes", "population"}  # keys for inputs not given are omitted


def test_minimum_needs_round_up():
    assert minimum_needs(1, profile="bnpb") == {
        "rice_kg": 3,
        "drinking_water_l": 18,
        "clean_water_l": 67,
        "family_kits": 1,
        "toilets": 1,
    }
    assert minimum_needs(0) == dict.fromkeys(
        ["rice_kg", "drinking_water_l", "clean_water_l", "family_kits", "toilets"], 0
    )
    with pytest.raises(InvalidInputError, match="unknown"):
        minimum_needs(1, profile="unicef")


def test_bad_input(city, tmp_path):
    far = city["buildings"].translate(50_000, 0)
    with pytest.raises(OutsideExtentError, match="buildings layer does not overlap"):
        exposure(city["hazard"], buildings=far, crs=UTM)
    with pytest.warns(UserWarning, match="buildings layer is empty"):
        s = exposure(city["hazard"], buildings=city["buildings"].iloc[:0], crs=UTM).summary()
    assert s["buildings"]["total"] == 0
    assert s["buildings"]["by_class"] == {"low": 0, "medium": 0, "high": 0}
    with pytest.raises(InvalidInputError, match="not hazard classes"):
        exposure(city["hazard"], buildings=city["buildings"], displacement={"extreme": 1.0}, crs=UTM)
    with pytest.raises(InvalidInputError, match="nothing to assess"):
        exposure(city["hazard"])
    with pytest.raises(InvalidInputError, match="gap between classes"):
        exposure_from_files(hazard=str(city["hazard"].path), classes="low:0.1-0.5,high:0.7-")
    nocrs = city["buildings"].set_crs(None, allow_override=True)
    with pytest.raises(InvalidInputError, match="has no CRS"):
        exposure(city["hazard"], buildings=nocrs, crs=UTM)


# -- real data ----------------------------------------------------------------------------------


def _ascii_grid(path) -> np.ndarray:
    """An ESRI ASCII grid parsed with numpy only (independent of GDAL), nodata as NaN."""
    header = {}
    with open(path) as fh:
        for line in fh:
            key, *rest = line.split()
            if not key[0].isalpha():
                break
            header[key.lower()] = float(rest[0])
    grid = np.loadtxt(path, skiprows=len(header), max_rows=int(header["nrows"]), dtype=np.float64)
    grid[grid == header["nodata_value"]] = np.nan
    return grid


@pytest.mark.parametrize(
    ("scenario", "asc"),
    [
        ("current", "Flood_Current_Depth_Jakarta_geographic.asc"),
        ("design", "Flood_Design_Depth_Jakarta_geographic.asc"),
    ],
)
def test_jakarta_affected_population(sample_area_dir, shared_data, scenario, asc):
    """Affected people per class equal a float64 sum over the original ASCII grids (same grid: no resampling)."""
    from layers.area import load_area

    area = load_area(sample_area_dir)
    pop = read_population(area.population.path, scale=area.population.scale)
    s = exposure(open_hazard(area.hazard(scenario)), population=pop, crs=area.crs).summary()["population"]
    depth = _ascii_grid(shared_data / "jakarta" / asc)
    people = np.nan_to_num(_ascii_grid(shared_data / "jakarta" / "Population_Jakarta_geographic.asc")) * 0.025
    expected = {
        "low": people[(depth >= 0.1) & (depth < 0.7)].sum(),
        "medium": people[(depth >= 0.7) & (depth < 1.5)].sum(),
        "high": people[depth >= 1.5].sum(),
    }
    assert s["method"] == "identical grid"
    assert s["total"] == pytest.approx(people.sum(), rel=1e-9)
    assert s["total"] == pytest.approx(8.9e6, rel=0.01)
    for c, v in expected.items():
        assert s["by_class"][c] == pytest.approx(v, rel=1e-6, abs=0.01)
    assert s["affected"] == pytest.approx(sum(expected.values()), rel=1e-6)


def test_inasafe_20x20_population_grid(shared_data):
    """pop_binary_raster_20_20 (200 people) × continuous_flood_20_20: 60 low, 80 medium, 40 high (numpy check)."""
    d = shared_data / "inasafe_fixtures"
    s = exposure_from_files(
        hazard=str(d / "continuous_flood_20_20.asc"), population=str(d / "pop_binary_raster_20_20.asc")
    ).summary()
    depth, pop = _ascii_grid(d / "continuous_flood_20_20.asc"), _ascii_grid(d / "pop_binary_raster_20_20.asc")
    assert s["population"]["total"] == pop.sum() == 200
    assert s["population"]["by_class"] == {"low": 60.0, "medium": 80.0, "high": 40.0}
    assert s["population"]["by_class"]["medium"] == pop[(depth >= 0.7) & (depth < 1.5)].sum()


def test_inasafe_flood_zones_on_buildings(shared_data):
    """181 buildings × 31 zones (FLOODPRONE YES/yes/NO/no): wet buildings = those sharing area with a yes-zone."""
    d = shared_data / "inasafe_fixtures"
    res = exposure_from_files(
        hazard=str(d / "flood_multipart_polygons.shp"),
        hazard_field="FLOODPRONE",
        classes="wet:yes",
        buildings=str(d / "buildings.shp"),
    )
    zones = gpd.read_file(d / "flood_multipart_polygons.shp")
    wet = zones[zones["FLOODPRONE"].str.lower() == "yes"].to_crs(res.crs)
    b = gpd.read_file(d / "buildings.shp").to_crs(res.crs)
    inter = gpd.overlay(b.reset_index(), wet[["geometry"]], how="intersection")
    expected = inter.loc[inter.area > 0, "index"].nunique()
    s = res.summary()["buildings"]
    assert s["total"] == 181
    assert s["affected"] == expected
    assert 0 < expected < 181


def test_inasafe_census_on_flood_zones(shared_data):
    """Census wards × yes-zones, area-weighted, equals a geopandas overlay done here; the empty ward is left out."""
    d = shared_data / "inasafe_fixtures"
    with pytest.warns(UserWarning, match="37,964 people cannot be placed"):
        s = exposure_from_files(
            hazard=str(d / "flood_multipart_polygons.shp"),
            hazard_field="FLOODPRONE",
            classes="wet:yes",
            population=str(d / "census.geojson"),
            population_field="population",
        ).summary()["population"]
    census = read_census(d / "census.geojson", field="population")
    census = census[~census.geometry.is_empty]
    crs = census.estimate_utm_crs()
    census = census.to_crs(crs).assign(ward_area=lambda g: g.area)
    zones = gpd.read_file(d / "flood_multipart_polygons.shp")
    wet = zones[zones["FLOODPRONE"].str.lower() == "yes"].to_crs(crs).dissolve()
    pieces = gpd.overlay(census, wet[["geometry"]], how="intersection")
    expected = (pieces["people"] * pieces.area / pieces["ward_area"]).sum()
    assert s["total"] == 10000 + 53794 + 45058
    assert s["by_class"]["wet"] == pytest.approx(expected, rel=1e-6)
    assert s["method"] == "area-weighted"


def test_population_text_field_from_files(shared_data):
    d = shared_data / "inasafe_fixtures"
    with pytest.raises(InvalidInputError, match="holds text"):
        exposure_from_files(
            hazard=str(d / "continuous_flood_20_20.asc"), population=str(d / "census.geojson"), population_field="type"
        )


def test_inasafe_flood_zones_on_roads(shared_data):
    """185 roads × yes-zones: km in the wet class equal the length of the roads clipped by the dissolved zones."""
    d = shared_data / "inasafe_fixtures"
    res = exposure_from_files(
        hazard=str(d / "flood_multipart_polygons.shp"),
        hazard_field="FLOODPRONE",
        classes="wet:yes",
        roads=str(d / "roads.shp"),
    )
    zones = gpd.read_file(d / "flood_multipart_polygons.shp")
    wet = zones[zones["FLOODPRONE"].str.lower() == "yes"].to_crs(res.crs).union_all()
    roads = gpd.read_file(d / "roads.shp").to_crs(res.crs)
    s = res.summary()["roads"]
    assert s["total_km"] == pytest.approx(roads.length.sum() / 1000, abs=1e-3)
    assert s["by_class_km"]["wet"] == pytest.approx(roads.intersection(wet).length.sum() / 1000, abs=1e-3)


def test_jakarta_2007_flood_zones(sample_area_dir, shared_data):
    """Observed 2007 flood (1,009 RW polygons, FLOODPRONE) × Jakarta buildings and population grid."""
    import shapely

    from layers.area import load_area

    area = load_area(sample_area_dir)
    hazard = open_hazard(shared_data / "jakarta" / "Jakarta_RW_2007flood.shp", classes="wet:yes", field="FLOODPRONE")
    pop = read_population(area.population.path, scale=area.population.scale)
    res = exposure(hazard, buildings=area.buildings(), population=pop, crs=area.crs)
    s = res.summary()
    zones = gpd.read_file(shared_data / "jakarta" / "Jakarta_RW_2007flood.shp")
    wet = zones[zones["FLOODPRONE"].str.lower() == "yes"]
    wet = wet.set_geometry(shapely.make_valid(wet.geometry.to_numpy()))  # the raw file has invalid rings
    # People: cell centres inside the wet zones (shapely.contains_xy on their union, in EPSG:4326).
    t = pop.transform
    rows, cols = np.nonzero(pop.people > 0)
    inside = shapely.contains_xy(wet.union_all(), t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e)
    assert s["population"]["method"] == "cell centres in zones"
    assert s["population"]["by_class"]["wet"] == pytest.approx(pop.people[rows, cols][inside].sum(), rel=1e-9)
    # Buildings: sharing area with a wet zone.
    b = area.buildings()
    overlap = gpd.overlay(b[["building_id", "geometry"]], wet.to_crs(area.crs)[["geometry"]], how="intersection")
    assert s["buildings"]["affected"] == overlap.loc[overlap.area > 0, "building_id"].nunique()
    assert 0 < s["buildings"]["affected"] < 7689


def test_road_on_a_cell_edge_counts_once(city):
    """A road along x = 50 (the edge between 1 m cells and dry cells) is 100 m, all of it in 'medium'."""
    road = gpd.GeoDataFrame(
        {"road_id": [7], "road_class": ["path"]}, geometry=[LineString([(50, 0), (50, 100)])], crs=UTM
    )
    s = exposure(city["hazard"], roads=road, crs=UTM).summary()["roads"]
    assert s["total_km"] == 0.1
    assert s["by_class_km"] == {"low": 0.0, "medium": 0.1, "high": 0.0}
