"""Interface strings in English, French, Swahili and Indonesian.

Strings live in one JSON file per language (``en.json`` is the reference:
every key exists there). The map's own strings (layer, column, category and
class names, the map script's messages) ship with the map in
``layers/publish/assets/i18n`` and are merged in here. The language is taken from ``?lang=``, then the
session, then the browser's Accept-Language, then English.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import request, session

from layers.hazard.kinds import NEUTRAL_KEYS, words_key
from layers.publish.standalone import JS_PREFIXES, map_strings

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "sw": "Kiswahili", "id": "Bahasa Indonesia"}
DEFAULT = "en"
_HERE = Path(__file__).resolve().parent


@cache
def strings(lang: str, family: str = "") -> dict[str, str]:
    """All strings of ``lang`` (with the map's), falling back to English key by key.

    ``family`` names a separate set of files (``report`` → ``report_en.json``...)
    for pages that ship their own strings.
    """
    prefix = f"{family}_" if family else ""
    base = {} if family else dict(map_strings(lang))
    base |= json.loads((_HERE / f"{prefix}{DEFAULT}.json").read_text(encoding="utf-8"))
    path = _HERE / f"{prefix}{lang}.json"
    if lang != DEFAULT and lang in LANGUAGES and path.exists():
        base.update(json.loads(path.read_text(encoding="utf-8")))
    return base


def current_language(available: dict[str, str] = LANGUAGES) -> str:
    """The language of this request among ``available`` (and remember an explicit ``?lang=`` choice)."""
    asked = request.args.get("lang", "")
    if asked in available:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in available:
        return remembered
    return request.accept_languages.best_match(list(available), default=DEFAULT) or DEFAULT


def gettext(key: str, **values) -> str:
    """The string ``key`` in the current language, ``{name}`` fields filled from ``values``; strings that
    said "flooded" for any hazard take their neutral variant in areas with other hazards."""
    table = strings(current_language())
    if key in NEUTRAL_KEYS:
        key = words_key(key, _kinds_here())
    text = table.get(key, key)
    return text.format(**values) if values else text


def strings_for_js() -> dict[str, str]:
    """The strings scripts need (keys starting ``js_``, ``layer_``, ``col_``, ``cat_``) in the current language."""
    return {k: v for k, v in strings(current_language()).items() if k.startswith(JS_PREFIXES)}


def _kinds_here() -> list[str]:
    """Hazard kinds of the request's area ([] without one: the flood words)."""
    from ..area import current_area

    try:
        return [h.hazard_kind for h in current_area().hazards]
    except (LookupError, RuntimeError, ValueError, OSError):  # no area (a bare app) or none readable: flood words
        return []


def kind_gettext(key: str, **values) -> str:
    """``key`` in the words of the current area's hazard kinds: an earthquake page never says "water"."""
    return gettext(words_key(key, _kinds_here()), **values)


def template_globals() -> dict:
    """``_()``, ``_k()`` (words of the area's hazard kinds), ``lang`` and ``languages`` for every template
    (registered by the riskmap blueprint)."""
    return {"_": gettext, "_k": kind_gettext, "lang": current_language(), "languages": LANGUAGES}
