"""Recreate this folder's data files from ../shared/data/jakarta (the InaSAFE sample data).

Values are copied unchanged; only the containers change, to keep the
repository lean: ASCII grids become DEFLATE-compressed GeoTIFFs, shapefiles
become GeoPackages. Run: python data/jakarta/prepare.py [SHARED_JAKARTA_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyogrio
import rasterio

HERE = Path(__file__).resolve().parent
RASTERS = {
    "Flood_Current_Depth_Jakarta_geographic.asc": "flood_current.tif",
    "Flood_Design_Depth_Jakarta_geographic.asc": "flood_design.tif",
    "Population_Jakarta_geographic.asc": "population.tif",
}
VECTORS = {
    "jakarta_building.gpkg": "buildings.gpkg",
    "jakarta_roads.shp": "roads.gpkg",
    "rw_jakarta.shp": "rw.gpkg",
    "kelurahan_jakarta.shp": "kelurahan.gpkg",
}


def main(src: Path) -> None:
    for name, out in RASTERS.items():
        with rasterio.open(src / name) as ds:
            data = ds.read(1)
            profile = {
                "driver": "GTiff",
                "width": ds.width,
                "height": ds.height,
                "count": 1,
                "dtype": "float32",
                "crs": "EPSG:4326",
                "transform": ds.transform,
                "nodata": ds.nodata,
                "compress": "deflate",
                "predictor": 3,
                "zlevel": 9,
                "tiled": True,
                "blockxsize": 256,
                "blockysize": 256,
            }
        with rasterio.open(HERE / out, "w", **profile) as dst:
            dst.write(data.astype("float32"), 1)
    for name, out in VECTORS.items():
        gdf = pyogrio.read_dataframe(src / name)
        (HERE / out).unlink(missing_ok=True)
        pyogrio.write_dataframe(gdf, HERE / out, layer=Path(out).stem, driver="GPKG")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data" / "jakarta")
