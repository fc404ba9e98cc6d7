"""The message parser of the request's area, built once per area (its gazetteer reads the area's layers)."""

from __future__ import annotations

import json
import threading
from contextlib import AbstractContextManager, nullcontext

from flask import current_app

from geoapp import area as areas
from layers.reports.messages import Keywords, MessageParser, area_gazetteer

_LOCK = threading.Lock()


def area_name() -> str:
    """The request's (or job's) area name; the default area's when areas are not URL-aware."""
    fn = getattr(areas, "current_name", None)
    return fn() if fn is not None else areas.current_area().name


def using_area(name: str | None) -> AbstractContextManager:
    """Work on the area ``name`` (a job's area); the current one when None."""
    fn = getattr(areas, "using", None)
    return fn(name) if name and fn is not None else nullcontext()


# Gazetteers are read-only: one per area file and keyword set serves every app of the process.
_GAZETTEERS: dict[tuple, object] = {}


def parser() -> MessageParser:
    cache = current_app.extensions.setdefault("geoapp.messages.parsers", {})
    name = area_name()
    with _LOCK:
        if name not in cache:
            overrides = current_app.config.get("MESSAGES_KEYWORDS")
            keywords = Keywords.from_config(overrides)
            area = areas.current_area()
            key = (str(area.toml_path), area.toml_path.stat().st_mtime_ns, json.dumps(overrides, sort_keys=True))
            if key not in _GAZETTEERS:
                _GAZETTEERS[key] = area_gazetteer(area, keywords)
            cache[name] = MessageParser(_GAZETTEERS[key], keywords)  # type: ignore[arg-type]
        return cache[name]


def keywords() -> Keywords:
    return parser().keywords
