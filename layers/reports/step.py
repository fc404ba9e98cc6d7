"""The field-observation build step: published flood reports the hazard scenarios disagree with."""

from __future__ import annotations

from layers.area import Area
from layers.build import Layers
from layers.errors import MissingInputError
from layers.reports.observations import observation_mismatches
from layers.settings import DRY_REPORT_MIN_DEPTH_M


def observations_step(area: Area, built: Layers) -> Layers:
    """``observation_mismatches``: per scenario, "reported wet, model dry" and "reported dry, model deep"
    (:func:`layers.reports.observations.observation_mismatches`) from the ``field_reports`` layer."""
    reports = built.get("field_reports")  # None (a build without reports): an empty layer, nothing disagrees
    if not area.hazards:
        raise MissingInputError("the area has no [[hazard]] scenario to compare reports with")
    crs = area.crs
    layer = observation_mismatches(
        None if reports is None else reports.to_crs(crs), area.hazards, deep_m=DRY_REPORT_MIN_DEPTH_M
    )
    if layer.crs is None:  # no reports: an empty layer, still in the working CRS
        layer = layer.set_crs(crs)
    return {"observation_mismatches": layer}
