"""Reading inputs into one schema in a metric CRS: vector files, OSM files, rasters, messy values."""
