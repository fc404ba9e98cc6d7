"""The geoprocessing core of geoapp: pure functions over GeoDataFrames, rasters and graphs.

Never imports Flask or geoapp. Loaders return one column schema
(:mod:`layers.io.schema`) in a metric working CRS; analyses are keyed by stable ids.
"""

__version__ = "0.3.0"
