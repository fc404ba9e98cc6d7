"""Checking an uploaded scenario (layers.hazard.upload) and the scenario list (layers.hazard.uploaded).

The area is a corner of the Jakarta sample (buildings only are read for its extent); rasters and zones
are written here with known values, so each count is checked against numpy or shapely on the same data.
"""

from __future__ import annotations

import threading
import tomllib
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from layers.area import load_area
from layers.errors import (
    InvalidInputError,
    MissingCRSError,
    OutsideExtentError,
    TooLargeError,
    UnreadableFileError,
    WrongFileTypeError,
)
from layers.hazard import upload, uploaded
from tests.helpers import UTM, write_raster
from tests.robustness.badfiles import corner, write_area


@pytest.fixture(scope="module")
def area_dir(tmp_path_factory):
    return write_area(tmp_path_factory.mktemp("upload") / "area")


@pytest.fixture
def area(area_dir, tmp_path):
    """A fresh copy of the area folder per test (uploads write into it)."""
    import shutil

    folder = tmp_path / "area"
    shutil.copytree(area_dir, folder)
    return load_area(folder)


def bounds() -> tuple[float, float, float, float]:
    """The rectangle of the area's buildings in UTM (what an upload must overlap)."""
    minx, miny, maxx, maxy = corner("buildings").to_crs(UTM).total_bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def depth_raster(path, values, *, x_shift=0.0, crs=UTM, cell=50.0):
    minx, _, _, maxy = bounds()
    return write_raster(path, values, transform=from_origin(minx + x_shift, maxy, cell, cell), crs=crs)


def check(area, path, **kw):
    kw.setdefault("filename", path.name)
    return upload.check_upload(path, area=area, **kw)


def test_raster_counts_cells_per_class_and_the_share_of_the_area(area, tmp_path):
    rng = np.random.default_rng(5)
    values = rng.uniform(0, 3, (80, 80)).astype(np.float32)
    values[0, 0] = -9999.0  # nodata
    got = check(area, depth_raster(tmp_path / "d.tif", values))
    valid = values[values != -9999.0]
    assert got.per_class == {
        "low": int(((valid >= 0.1) & (valid < 0.7)).sum()),
        "medium": int(((valid >= 0.7) & (valid < 1.5)).sum()),
        "high": int((valid >= 1.5).sum()),
    }
    assert got.value_range == (pytest.approx(float(valid.min())), pytest.approx(float(valid.max())))
    # 80 x 50 m covers 4 km from the area's west and north edges; the share is of the buildings' rectangle
    from layers.hazard.upload import area_extent

    extent = area_extent(area)
    minx, _, _, maxy = bounds()
    grid = shapely.box(minx, maxy - 4000, minx + 4000, maxy)
    assert got.overlap_share == pytest.approx(grid.intersection(extent).area / extent.area)
    assert got.summary()["type"] == "raster"


def test_raster_in_another_crs_is_placed_by_reprojection(area, tmp_path):
    w, s, e, n = transform_bounds(UTM, "EPSG:4326", *bounds())
    w, s, e, n = w - 0.01, s - 0.01, e + 0.01, n + 0.01
    transform = from_origin(w, n, (e - w) / 60, (n - s) / 60)
    path = write_raster(tmp_path / "wgs.tif", np.full((60, 60), 1.0), transform=transform, crs="EPSG:4326")
    got = check(area, path)
    assert got.crs == "EPSG:4326"
    assert got.per_class == {"low": 0, "medium": 3600, "high": 0}
    assert got.overlap_share == pytest.approx(1.0)


def test_each_problem_names_its_field(area, tmp_path):
    ones = np.ones((20, 20))
    good = depth_raster(tmp_path / "good.tif", ones)
    with pytest.raises(InvalidInputError, match=r"^file: no file"):
        check(area, tmp_path / "absent.tif")
    with pytest.raises(MissingCRSError, match=r"^file: .*no coordinate reference system.*gdal_edit"):
        check(area, depth_raster(tmp_path / "nocrs.tif", ones, crs=None))
    with pytest.raises(OutsideExtentError, match=r"^file: .*does not overlap .*about \d+ km west"):
        check(area, depth_raster(tmp_path / "far.tif", ones, x_shift=-150_000))
    with pytest.raises(InvalidInputError, match=r"^classes: .*overlap"):
        check(area, good, classes="low:0.1-0.7,high:0.5-")
    with pytest.raises(InvalidInputError, match=r"^classes: no cell falls .* from 1 to 1 m"):
        check(area, good, classes="deep:2-5")
    with pytest.raises(InvalidInputError, match=r"^classes: .*text values"):
        check(area, good, classes="wet:yes")
    with pytest.raises(InvalidInputError, match=r"^displacement: "):
        check(area, good, displacement="severe:1.0")
    with pytest.raises(InvalidInputError, match=r"^field: a raster has no attribute"):
        check(area, good, field="DEPTH")
    with pytest.raises(TooLargeError, match=r"^file: .*400 cells; the limit is 100"):
        check(area, good, max_pixels=100)
    with pytest.raises(TooLargeError, match=r"^file: .* MB; the limit is"):
        check(area, good, max_bytes=100)
    with pytest.raises(WrongFileTypeError, match=r"^file: 'good.csv' is not a GeoTIFF"):
        check(area, good, filename="good.csv")
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\x00" + b"\x00" * 100)  # a TIFF header and nothing else
    with pytest.raises(UnreadableFileError, match=r"^file: junk.tif is not a GeoTIFF GDAL can read"):
        check(area, junk)
    nodata = depth_raster(tmp_path / "nodata.tif", np.full((5, 5), -9999.0))
    with pytest.raises(InvalidInputError, match=r"^file: every cell .* is nodata"):
        check(area, nodata)


def zones_frame():
    minx, miny, maxx, maxy = bounds()
    mid = (minx + maxx) / 2
    return gpd.GeoDataFrame(
        {"FLOODPRONE": ["Yes", "no", "yes"], "DEPTH": [0.3, 0.0, 2.0]},
        geometry=[
            shapely.box(minx, miny, mid, maxy),
            shapely.box(mid, miny, maxx, maxy),
            shapely.box(mid, miny, maxx, maxy),
        ],
        crs=UTM,
    )


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "zip"])
def test_zones_in_each_format(area, tmp_path, fmt):
    zones = zones_frame()
    if fmt == "zip":
        shp = tmp_path / "shp" / "zones.shp"
        shp.parent.mkdir()
        zones.to_file(shp)
        path = tmp_path / "zones.zip"
        with zipfile.ZipFile(path, "w") as z:
            for part in shp.parent.iterdir():
                z.write(part, part.name)
    else:
        path = tmp_path / f"zones.{fmt}"
        zones.to_crs("EPSG:4326").to_file(path)
    got = check(area, path, classes="wet:yes", field="FLOODPRONE")
    assert got.kind == "vector"
    assert got.per_class == {"wet": 2}  # "Yes" and "yes"; text matches ignore case
    numeric = check(area, path, field="DEPTH")
    assert numeric.per_class == {"low": 1, "medium": 0, "high": 1}
    assert numeric.value_range == (0.0, 2.0)
    # stored as a GeoPackage of the value, which load_area reads as vector zones
    stored = upload.store_upload(numeric, area.root, "z1")
    assert stored.as_posix() == "scenarios/z1.gpkg"
    back = gpd.read_file(area.root / stored)
    assert list(back[upload.ZONES_FIELD]) == [0.3, 0.0, 2.0]


def test_zone_problems(area, tmp_path):
    path = tmp_path / "zones.geojson"
    zones_frame().to_file(path)
    with pytest.raises(InvalidInputError, match=r"^field: zone polygons need 'field'.*FLOODPRONE"):
        check(area, path, classes="wet:yes")
    with pytest.raises(InvalidInputError, match=r"^field: .*no attribute 'KELAS'"):
        check(area, path, field="KELAS")
    with pytest.raises(InvalidInputError, match=r"^classes: .*numeric but 'FLOODPRONE' holds text"):
        check(area, path, field="FLOODPRONE")
    with pytest.raises(InvalidInputError, match=r"^classes: no zone has a value of 'wet:flooded'.*'yes'"):
        check(area, path, field="FLOODPRONE", classes="wet:flooded")
    lines = tmp_path / "lines.geojson"
    gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=UTM).to_file(lines)
    with pytest.raises(InvalidInputError, match=r"^file: "):
        check(area, lines, field="v")
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match=r"^file: |not a readable zip"):
        check(area, bad_zip, field="v")


def test_add_scenario_lists_it_and_load_area_merges_it(area, tmp_path):
    values = np.full((40, 40), 1.0, dtype=np.float32)
    entry, checked = upload.add_scenario(
        area,
        depth_raster(tmp_path / "d.tif", values),
        filename="d.tif",
        title='Flood, 5 Dec "observed"',
        added_by="p1",
        displacement="high:1,medium:0.5",
    )
    assert entry["title"] == 'Flood, 5 Dec "observed"'
    assert entry["id"].startswith("flood-5-dec-observed-")
    assert (area.root / entry["file"]).read_bytes() == (tmp_path / "d.tif").read_bytes()
    listed = tomllib.loads((area.root / "scenarios.toml").read_text())["scenario"]
    assert [e["id"] for e in listed] == [entry["id"]]
    assert listed[0]["displacement"] == "medium:0.5,high:1"
    reloaded = load_area(area.root)
    assert [h.id for h in reloaded.hazards] == ["current", entry["id"]]
    spec = reloaded.hazard(entry["id"])
    assert spec.title == 'Flood, 5 Dec "observed"'
    assert spec.displacement["medium"] == 0.5
    assert area.is_stale()
    assert not reloaded.is_stale()
    # renamed, then retired: the area follows; the file stays
    uploaded.update_entry(area.root, entry["id"], title="Renamed")
    assert load_area(area.root).hazard(entry["id"]).title == "Renamed"
    uploaded.update_entry(area.root, entry["id"], status=uploaded.RETIRED)
    assert [h.id for h in load_area(area.root).hazards] == ["current"]
    assert (area.root / entry["file"]).exists()
    with pytest.raises(InvalidInputError, match="^title: "):
        upload.add_scenario(area, tmp_path / "d.tif", filename="d.tif", title=" \n ")


def test_concurrent_writers_lose_nothing(area):
    def add(i):
        uploaded.add_entry(area.root, {"id": f"s{i}", "title": f"S {i}", "file": "flood_current.tif"})

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e["id"] for e in uploaded.read_entries(area.root)) == sorted(f"s{i}" for i in range(12))
    assert not [
        p for p in area.root.iterdir() if p.name.startswith(".scenarios.toml.") and not p.name.endswith(".lock")
    ]


def test_titles_with_any_character_round_trip(area):
    title = 'Banjir "Jakarta" \\ 5 Des — π ✓ '
    uploaded.add_entry(area.root, {"id": "x", "title": uploaded.check_title(title), "file": "flood_current.tif"})
    assert uploaded.read_entries(area.root)[0]["title"] == title.strip()


def test_strips_give_the_counts_of_the_whole_grid(area, tmp_path, monkeypatch):
    """Values are read a strip of rows at a time: tiny strips (several per row band) count the same."""
    values = np.random.default_rng(9).uniform(0, 3, (70, 90)).astype(np.float32)
    values[5:9, :] = -9999.0
    path = depth_raster(tmp_path / "d.tif", values)
    whole = check(area, path)
    monkeypatch.setattr(upload, "STRIP_CELLS", 100)  # one row per strip
    stripped = check(area, path)
    assert stripped.per_class == whole.per_class
    assert stripped.value_range == whole.value_range
    assert sum(whole.per_class.values()) == int(((values >= 0.1) & (values != -9999.0)).sum())


def test_kind_gives_default_units_and_classes(area, tmp_path):
    """A shakemap uploaded with kind=earthquake is classed by MMI without a class spec; unknown kinds are refused."""
    from layers.hazard.kinds import get_kind

    mmi = np.tile(np.linspace(5.0, 8.9, 30, dtype=np.float32), (30, 1))
    path = depth_raster(tmp_path / "mmi.tif", mmi)
    got = check(area, path, kind="earthquake")
    scheme = get_kind("earthquake").scheme(None, units="mmi")
    assert got.units == "mmi"
    assert got.hazard_kind == "earthquake"
    cls = scheme.classify(mmi.ravel())
    assert got.per_class == {n: int((cls == i).sum()) for i, n in enumerate(scheme.names)}
    with pytest.raises(InvalidInputError, match=r"^kind: .*unknown"):
        check(area, path, kind="meteor")
