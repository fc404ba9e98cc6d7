"""Hazard overlays: class colours per cell, transparent elsewhere, bounds in EPSG:4326, legend in metres."""

import io

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from shapely.geometry import box

from layers.errors import InvalidInputError
from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, parse_classes
from layers.publish.render import hazard_overlay, legend, overlay_bounds
from layers.publish.styles import depth_colours
from tests.helpers import write_raster

FLOOD = parse_classes(DEFAULT_FLOOD_CLASSES)


def _raster(path, values, *, crs="EPSG:3857", origin=(11_890_000.0, -690_000.0), size=100.0, nodata=-9999.0):
    return write_raster(path, values, transform=from_origin(*origin, size, size), crs=crs, nodata=nodata)


def _indices(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P"
    return np.asarray(image)


def test_cells_take_their_class_palette_entry_and_the_rest_is_transparent(tmp_path):
    """On a Web Mercator grid every cell maps to one pixel: 0 = transparent, i+1 = class i."""
    values = [[0.05, 0.3, 1.0, 2.0], [-9999, 0.69, 0.75, 15.7]]
    ov = hazard_overlay(_raster(tmp_path / "d.tif", values), FLOOD)
    idx = _indices(ov.png)
    assert idx.tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]
    image = Image.open(io.BytesIO(ov.png))
    alpha = image.info["transparency"]
    assert alpha[0] == 0
    assert all(a > 0 for a in alpha[1:4])
    palette = image.getpalette()[3:12]
    assert palette == [int(c[i : i + 2], 16) for c in depth_colours(3) for i in (1, 3, 5)]


def test_bounds_are_the_raster_extent_in_degrees(tmp_path):
    path = _raster(tmp_path / "d.tif", np.ones((3, 5)))
    ov = hazard_overlay(path, FLOOD)
    expected = transform_bounds("EPSG:3857", "EPSG:4326", 11_890_000.0, -690_300.0, 11_890_500.0, -690_000.0)
    assert ov.bounds == pytest.approx(expected, abs=1e-9)
    assert overlay_bounds(path) == pytest.approx(ov.bounds, abs=1e-12)
    (s, w), (n, e) = ov.leaflet_bounds()
    assert (w, s, e, n) == ov.bounds


def test_projected_utm_raster_is_warped_and_keeps_its_share_of_classes(tmp_path):
    """A UTM grid (like the Sobek forecasts) lands where it is, with about the same share of each class."""
    values = np.zeros((60, 60), dtype=np.float32)
    values[:, 20:40] = 1.0  # a medium band, a third of the grid
    path = _raster(tmp_path / "utm.tif", values, crs="EPSG:32748", origin=(700_000.0, 9_310_000.0), size=50.0)
    ov = hazard_overlay(path, FLOOD)
    with rasterio.open(path) as src:
        geo = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    assert ov.bounds == pytest.approx(geo, abs=2e-4)
    idx = _indices(ov.png)
    share = (idx == 2).sum() / (idx > 0).sum() if (idx > 0).any() else 0
    assert set(np.unique(idx)) <= {0, 2}
    assert (idx == 2).mean() == pytest.approx(1 / 3, abs=0.03)
    assert share == 1.0


def test_max_size_caps_the_image(tmp_path):
    ov = hazard_overlay(_raster(tmp_path / "big.tif", np.full((300, 200), 2.0)), FLOOD, max_size=50)
    assert max(ov.width, ov.height) == 50
    assert Image.open(io.BytesIO(ov.png)).size == (ov.width, ov.height)


def test_vector_zones_classified_by_a_text_field(tmp_path):
    zones = gpd.GeoDataFrame(
        {"FLOODPRONE": ["YES", "no", "yes"]},
        geometry=[
            box(106.80, -6.20, 106.81, -6.19),
            box(106.81, -6.20, 106.82, -6.19),
            box(106.82, -6.20, 106.83, -6.19),
        ],
        crs="EPSG:4326",
    )
    zones.to_file(tmp_path / "zones.gpkg")
    ov = hazard_overlay(tmp_path / "zones.gpkg", parse_classes("wet:yes"), field="FLOODPRONE", max_size=300)
    idx = _indices(ov.png)
    # Only the two "yes" zones are drawn: the middle third of the image stays transparent.
    w = idx.shape[1]
    assert idx[:, : w // 3 - 2].min() == 1
    assert idx[:, w // 3 + 2 : 2 * w // 3 - 2].max() == 0
    assert ov.legend == [{"name": "wet", "label": "yes", "colour": depth_colours(1)[0], "min": None, "max": None}]
    with pytest.raises(InvalidInputError, match="no field 'DEPTH'"):
        hazard_overlay(tmp_path / "zones.gpkg", FLOOD, field="DEPTH")


def test_legend_labels_in_metres():
    assert [e["label"] for e in legend(FLOOD)] == ["0.1–0.7 m", "0.7–1.5 m", "≥ 1.5 m"]
    assert [e["name"] for e in legend(FLOOD)] == ["low", "medium", "high"]
    assert legend(parse_classes("dry:-0.1"), units="m")[0]["label"] == "< 0.1 m"


def test_errors_name_the_file(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        hazard_overlay(tmp_path / "missing.tif", FLOOD)
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(InvalidInputError, match="junk.tif"):
        hazard_overlay(tmp_path / "junk.tif", FLOOD)
    with rasterio.open(
        tmp_path / "nocrs.tif",
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        transform=from_origin(0, 2, 1, 1),
    ) as dst:
        dst.write(np.ones((2, 2), dtype=np.float32), 1)
    with pytest.raises(InvalidInputError, match="no CRS"):
        hazard_overlay(tmp_path / "nocrs.tif", FLOOD)


def test_jakarta_overlay_matches_the_source_grid(sample_area_dir):
    """The current-flood overlay covers the HKV grid and colours about the same share of cells per class."""
    from layers.area import load_area

    spec = load_area(sample_area_dir).hazard("current")
    ov = hazard_overlay(spec.path, spec.classes)
    with rasterio.open(spec.path) as src:
        depth = src.read(1, masked=True).filled(np.nan)
        b = src.bounds
    assert ov.bounds == pytest.approx((b.left, b.bottom, b.right, b.top), abs=1e-3)
    src_share = np.bincount(spec.classes.classify(depth).ravel() + 1, minlength=4) / depth.size
    png_share = np.bincount(_indices(ov.png).ravel(), minlength=4) / (ov.width * ov.height)
    assert png_share == pytest.approx(src_share, abs=0.01)
    assert len(ov.png) < 200_000
