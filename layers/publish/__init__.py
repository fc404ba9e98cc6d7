"""What others see: GIS exports, styles, map tiles and overlays, OGC API feature queries, web maps, dashboard."""
