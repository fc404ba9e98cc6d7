"""Hazards and who and what they touch.

``classes`` (class specs), ``sources`` (hazard rasters and zones), ``touched`` (all-touched grid cells),
``sampling`` (class, depth and flooded share per geometry), ``population`` (people on the hazard),
``exposed`` (each layer's exposure), ``exposure`` (the analysis), ``by_area`` (figures per unit),
``summary`` (the JSON), ``needs`` (minimum needs), ``scenarios`` (differences), ``step`` (the build step).
"""
