"""OGC API – Features helpers: the published layer catalogue, CRS handling, OpenAPI document and HTML pages."""
