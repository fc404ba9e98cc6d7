"""A second area for the several-areas tests: a crop of the Jakarta sample, with an ``[access]`` table.

Its inputs are the sample's files cut to a small box; its build is the
Jakarta build cut to the same box (cheaper than a second build, and every
layer of a real build is there). Test modules import from here.
"""

from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely import box

from tests.helpers import SAMPLE_AREA

BOX = (106.83, -6.20, 106.86, -6.17)  # lon/lat: central Jakarta, ~900 buildings
NAME = "menteng"
TITLE = "Menteng, Jakarta"
# One layer per level, besides the defaults (evacuation_buildings and unreachable are partner by default).
ACCESS = {"buildings": "public", "roads": "partner", "evacuation_buildings": "partner", "shelters": "private"}
AREA_TOML = f"""[area]
name = "{NAME}"
title = "{TITLE}"
crs = "EPSG:32748"

[layers]
buildings = "buildings.gpkg"
roads = "roads.gpkg"

[[hazard]]
id = "current"
title = "Current flood"
file = "flood.tif"
classes = "low:0.1-0.7,medium:0.7-1.5,high:1.5-"

[[boundaries]]
id = "rw"
title = "RW"
file = "rw.gpkg"
name_field = ["KEL_NAME", "RW"]
id_field = "OBJECTID"

[access]
default = "public"
roads = "partner"
shelters = "private"
"""


def _mask() -> gpd.GeoSeries:
    return gpd.GeoSeries([box(*BOX)], crs=4326)


def make_area_folder(out: Path) -> Path:
    """The second area's folder (inputs and area.toml, no build)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("buildings", "roads", "rw"):
        pyogrio.write_dataframe(gpd.read_file(SAMPLE_AREA / f"{name}.gpkg", mask=_mask()), out / f"{name}.gpkg")
    shutil.copy(SAMPLE_AREA / "flood_current.tif", out / "flood.tif")
    (out / "area.toml").write_text(AREA_TOML)
    return out


def crop_build(built: Path, out: Path) -> Path:
    """The Jakarta build cut to :data:`BOX`, every data layer and the metadata table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.gpkg")
    tmp.unlink(missing_ok=True)
    for name, geom in pyogrio.list_layers(built):
        if name == "layer_styles":
            continue
        if geom is None:
            frame = pyogrio.read_dataframe(built, layer=name, read_geometry=False)
        elif pyogrio.read_info(built, layer=name)["crs"] is None:  # e.g. an empty layer: nothing to cut
            frame = pyogrio.read_dataframe(built, layer=name)
        else:
            frame = gpd.read_file(built, layer=name, mask=_mask())
        with warnings.catch_warnings():  # an empty layer of the build has no CRS to write
            warnings.simplefilter("ignore", UserWarning)
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
    tmp.replace(out)
    return out


def zip_folder(folder: Path, out: Path, *, inside: str | None = "area") -> Path:
    """A zip of an area folder, its files under ``inside/`` (or at the top level)."""
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file() and "build" not in f.relative_to(folder).parts:
                rel = f.relative_to(folder).as_posix()
                zf.write(f, f"{inside}/{rel}" if inside else rel)
    return out
