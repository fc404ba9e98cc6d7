"""The study area the app serves: its config and its built layers, loaded once per process."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from layers.area import Area, load_area


def init_app(app: Flask) -> None:
    app.extensions["geoapp.area"] = None


def current_area() -> Area:
    """The configured area, parsed on first use."""
    area = current_app.extensions.get("geoapp.area")
    if area is None or area.is_stale():  # re-read when area.toml or scenarios.toml changed (any worker)
        area = load_area(current_app.config["AREA"])
        current_app.extensions["geoapp.area"] = area
    return area


def build_path() -> Path:
    """The GeoPackage that `geoapp build` wrote for the current area."""
    configured = current_app.config.get("BUILD")
    return Path(configured) if configured else current_area().default_build_path
