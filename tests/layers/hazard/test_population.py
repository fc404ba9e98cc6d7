"""Population rasters (counts, densities, scale), ellipsoidal cell areas, sum-preserving alignment, census."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from layers.errors import InvalidInputError
from layers.hazard.population import (
    cell_areas_m2,
    census_on_hazard,
    people_on_hazard,
    read_census,
    read_population,
    units_on_grid,
)
from layers.hazard.sources import open_hazard
from tests.helpers import write_raster

UTM = "EPSG:32748"


def test_geographic_cell_areas_sum_to_the_ellipsoid():
    """A global 1° grid's cells add up to the WGS 84 ellipsoid's surface, 510,065,621.7 km²."""
    areas = cell_areas_m2(from_origin(-180, 90, 1, 1), (180, 360), "EPSG:4326")
    assert areas.shape == (180, 1)
    assert areas.sum() * 360 / 1e6 == pytest.approx(510_065_621.7, rel=1e-9)
    assert areas[0, 0] < areas[89, 0]  # polar rows are smaller than equatorial ones


def test_projected_cell_areas():
    assert cell_areas_m2(from_origin(0, 0, 50, 50), (3, 2), UTM).ravel().tolist() == [2500.0] * 3


def test_units_and_scale(tmp_path):
    """count × scale; per_km2 and per_ha × cell area; nodata is 0 people."""
    path = write_raster(tmp_path / "p.tif", [[100.0, -9999.0], [50.0, 10.0]], transform=from_origin(0, 200, 100, 100))
    assert read_population(path).total == 160.0
    assert read_population(path, scale=0.025).total == pytest.approx(4.0)
    assert read_population(path, units="per_km2").total == pytest.approx(160 * 0.01)  # 1 ha cells = 0.01 km²
    assert read_population(path, units="per_ha").total == pytest.approx(160.0)
    with pytest.raises(InvalidInputError, match="units 'people'"):
        read_population(path, units="people")
    with pytest.raises(InvalidInputError, match="scale -1"):
        read_population(path, scale=-1)


def test_geographic_density(tmp_path):
    """A per_km2 grid at the equator: people = density × ellipsoidal cell area."""
    path = write_raster(tmp_path / "g.tif", [[1000.0]], transform=from_origin(0, 0.005, 0.01, 0.01), crs="EPSG:4326")
    pop = read_population(path, units="per_km2")
    # 0.01° × 0.01° at the equator on WGS 84 ≈ 1.2308 km² (111.32 km × 110.57 km per degree).
    assert pop.total == pytest.approx(1000 * 1.11319 * 1.10574, rel=1e-3)


def test_negative_cells_warn(tmp_path):
    path = write_raster(tmp_path / "n.tif", [[5.0, -3.0]])
    with pytest.warns(UserWarning, match="1 negative cells"):
        assert read_population(path).total == 5.0


@pytest.fixture
def hazard_10m(tmp_path):
    """10×10 cells of 10 m over (0..100, 0..100); the west half 1 m deep."""
    depth = np.zeros((10, 10))
    depth[:, :5] = 1.0
    return open_hazard(write_raster(tmp_path / "h.tif", depth, transform=from_origin(0, 100, 10, 10)))


def test_identical_grid(hazard_10m, tmp_path):
    pop = read_population(
        write_raster(tmp_path / "p.tif", np.full((10, 10), 2.0), transform=from_origin(0, 100, 10, 10))
    )
    pts, method = people_on_hazard(pop, hazard_10m)
    assert method == "identical grid"
    assert pts["people"].sum() == 200.0
    assert pts.loc[pts["hazard_class"] == 1, "people"].sum() == 100.0


def test_coarser_population_is_split(hazard_10m, tmp_path):
    """A 50 m cell over a half-flooded area is split 5×5: exactly half its people are in the flood."""
    pop = read_population(write_raster(tmp_path / "p.tif", [[1000.0]], transform=from_origin(25, 75, 50, 50)))
    pts, method = people_on_hazard(pop, hazard_10m)
    assert method == "split 5x5"
    assert pts["people"].sum() == 1000.0
    # x from 25 to 75: sub-cells centred at 30, 40 (flooded), 50, 60, 70 (dry; x=50 is in the dry column).
    assert pts.loc[pts["hazard_class"] == 1, "people"].sum() == pytest.approx(400.0)


def test_finer_population_sums_into_cells(hazard_10m, tmp_path):
    """5 m cells: every person goes to the hazard cell holding its cell's centre; none lost outside."""
    values = np.ones((24, 24))  # 120 m square: 20 m sticks out east and south of the hazard
    pop = read_population(write_raster(tmp_path / "p.tif", values, transform=from_origin(0, 100, 5, 5)))
    pts, method = people_on_hazard(pop, hazard_10m)
    assert method == "cells into hazard cells"
    assert pts["people"].sum() == 576.0
    assert (
        pts.loc[pts["hazard_class"] == 1, "people"].sum() == 10 * 20
    )  # 10 columns × 20 rows of 5 m inside the west half


def test_reprojected_population(hazard_10m, tmp_path):
    """A population grid in EPSG:4326 over a UTM hazard keeps its total."""
    pop = read_population(
        write_raster(
            tmp_path / "p.tif", np.full((3, 3), 7.0), transform=from_origin(104.99, -9.0, 0.001, 0.001), crs="EPSG:4326"
        )
    )
    pts, method = people_on_hazard(pop, hazard_10m)
    assert pts["people"].sum() == pytest.approx(63.0)
    assert method.startswith(("split", "cells"))


def test_units_on_grid_matches_point_in_polygon(tmp_path):
    pop = read_population(write_raster(tmp_path / "p.tif", np.ones((4, 4)), transform=from_origin(0, 4, 1, 1)))
    pts, _ = people_on_hazard(pop, None)
    units = gpd.GeoDataFrame({"name": ["w", "e"]}, geometry=[box(0, 0, 2, 4), box(2, 0, 3, 4)], crs=UTM)
    got = units_on_grid(pts.attrs["grid"], units)
    assert np.bincount(got + 1).tolist() == [4, 8, 4]


def test_census_area_weighted(tmp_path):
    """A ward of 1000 people, 30 % inside a zone, puts 300 people in that class."""
    zones = gpd.GeoDataFrame({"wet": ["yes"]}, geometry=[box(0, 0, 30, 100)], crs=UTM)
    zones.to_file(tmp_path / "z.gpkg")
    census = gpd.GeoDataFrame({"pop": [1000, "12"]}, geometry=[box(0, 0, 100, 100), box(200, 0, 210, 10)], crs=UTM)
    census.to_file(tmp_path / "c.gpkg")
    wards = read_census(tmp_path / "c.gpkg", field="pop")
    hazard = open_hazard(tmp_path / "z.gpkg", classes="wet:yes", field="wet")
    pieces, method = census_on_hazard(wards, hazard, crs=UTM)
    assert method == "area-weighted"
    assert pieces["people"].sum() == pytest.approx(1012.0)
    assert pieces.loc[pieces["hazard_class"] == 0, "people"].sum() == pytest.approx(300.0)


def test_census_text_field_is_an_error(tmp_path):
    gpd.GeoDataFrame({"pop": ["many"]}, geometry=[box(0, 0, 1, 1)], crs=UTM).to_file(tmp_path / "c.gpkg")
    with pytest.raises(InvalidInputError, match="holds text.*'many'"):
        read_census(tmp_path / "c.gpkg", field="pop")
    with pytest.raises(InvalidInputError, match="no field 'people'"):
        read_census(tmp_path / "c.gpkg", field="people")


def test_jakarta_population_total(sample_area_dir):
    """The Jakarta density grid × 0.025 gives ≈ 8.9 M people (summed in float64)."""
    pop = read_population(sample_area_dir / "population.tif", scale=0.025)
    assert pop.total == pytest.approx(8.9e6, rel=0.01)
    with rasterio.open(sample_area_dir / "population.tif") as src:
        raw = src.read(1, masked=True).astype(np.float64)
    assert pop.total == pytest.approx(float(raw.sum()) * 0.025, rel=1e-12)


def test_infinite_cells_and_overflowing_scales_are_errors(sample_area_dir, tmp_path):
    """Real Jakarta population: a scale that overflows float64, and the grid with one infinite cell."""
    with pytest.raises(InvalidInputError, match="overflows"):
        read_population(sample_area_dir / "population.tif", scale=1e308)
    with rasterio.open(sample_area_dir / "population.tif") as src:
        values, transform, crs = src.read(1).astype("float32"), src.transform, src.crs
    values[10, 10] = np.inf
    with pytest.raises(InvalidInputError, match="1 infinite cells"):
        read_population(write_raster(tmp_path / "inf.tif", values, transform=transform, crs=crs))


def test_a_grid_without_people_is_a_warning(sample_area_dir, tmp_path):
    with rasterio.open(sample_area_dir / "population.tif") as src:
        shape, transform, crs = (src.height, src.width), src.transform, src.crs
    path = write_raster(tmp_path / "none.tif", np.full(shape, -9999.0), transform=transform, crs=crs)
    with pytest.warns(UserWarning, match="holds no people"):
        assert read_population(path).total == 0
