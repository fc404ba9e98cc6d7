"""PyQGIS checks run by the system Python (``/usr/bin/python3``, where Debian's python3-qgis lives).

The test suite's venv cannot import qgis, so tests/qgis/test_qgis.py runs this file as a
subprocess with ``QT_QPA_PLATFORM=offscreen``: it reads a JSON job from argv[1], opens each
source in QGIS and prints one JSON line of what QGIS saw (counts, renderers, styles, pixels).
"""

from __future__ import annotations

import json
import sys
import time


def gpkg(job: dict) -> dict:
    from qgis.core import QgsVectorLayer

    out = {}
    for name in job["layers"]:
        layer = QgsVectorLayer(f"{job['path']}|layername={name}", name, "ogr")
        renderer = layer.renderer()
        info = {"valid": layer.isValid(), "count": layer.featureCount(), "renderer": renderer.type()}
        if renderer.type() == "RuleRenderer":
            rules = renderer.rootRule().children()
            info["rules"] = [r.label() for r in rules]
            info["active"] = [r.label() for r in rules if r.active()]
            info["children"] = [len(r.children()) for r in rules]
        elif renderer.type() == "categorizedSymbol":
            info["attribute"] = renderer.classAttribute()
        n, _ids, names, _desc, _err = layer.listStylesInDatabase()
        info["styles"] = list(names)[:n] if n > 0 else []
        out[name] = info
    return out


def oapif(job: dict) -> dict:
    from qgis.core import QgsVectorLayer

    started = time.perf_counter()
    uri = f"url='{job['url']}' typename='{job['collection']}' restrictToRequestBBOX='0'"
    layer = QgsVectorLayer(uri, job["collection"], "OAPIF")
    count = sum(1 for _ in layer.getFeatures()) if layer.isValid() else -1
    fields = {f.name(): f.typeName() for f in layer.fields()} if layer.isValid() else {}
    return {"valid": layer.isValid(), "count": count, "seconds": time.perf_counter() - started, "fields": fields}


def _render(layer, extent, size: int = 512):
    """The layer drawn over ``extent`` (EPSG:3857) on white: a set of the non-white pixels (every 2nd)."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsMapRendererCustomPainterJob, QgsMapSettings, QgsRectangle
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor, QImage, QPainter

    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setExtent(QgsRectangle(*extent))
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor(255, 255, 255))
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    job = QgsMapRendererCustomPainterJob(settings, painter)
    job.start()
    job.waitForFinished()
    painter.end()
    return {
        (x, y)
        for x in range(0, size, 2)
        for y in range(0, size, 2)
        if image.pixelColor(x, y).red() < 250 or image.pixelColor(x, y).blue() < 250
    }


def mvt(job: dict) -> dict:
    """An XYZ vector tile layer of the template, drawn; and where it draws against the same layer from the GPKG."""
    from qgis.core import QgsDataSourceUri, QgsVectorLayer, QgsVectorTileBasicRenderer, QgsVectorTileLayer

    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", job["template"])
    uri.setParam("zmin", "0")
    uri.setParam("zmax", str(job.get("zmax", 16)))
    layer = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), "mvt")
    out: dict = {"valid": layer.isValid()}
    if not layer.isValid():
        return out
    renderer = QgsVectorTileBasicRenderer()  # what QGIS's "Add layer" gives a vector tile source without a style
    renderer.setStyles(QgsVectorTileBasicRenderer.simpleStyleWithRandomColors())
    layer.setRenderer(renderer)
    drawn = _render(layer, job["extent"])
    out["drawn_pixels"] = len(drawn)
    if "gpkg" in job:
        ref = QgsVectorLayer(f"{job['gpkg']}|layername={job['layer']}", job["layer"], "ogr")
        ref_drawn = _render(ref, job["extent"])
        out["reference_pixels"] = len(ref_drawn)
        out["shared_pixels"] = len(drawn & ref_drawn)
    return out


def main() -> None:
    from qgis.core import QgsApplication

    job = json.loads(sys.argv[1])
    app = QgsApplication([], False)
    app.initQgis()
    try:
        from qgis.core import Qgis

        result: dict = {"qgis": Qgis.QGIS_VERSION}
        for kind in ("gpkg", "oapif", "mvt"):
            if kind in job:
                result[kind] = globals()[kind](job[kind])
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        app.exitQgis()


if __name__ == "__main__":
    main()
