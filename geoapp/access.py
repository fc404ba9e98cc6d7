"""Who may see which layer: the one check every listing, download, OGC API page, tile, popup and map export calls.

A layer's level comes from the area's ``[access]`` table
(:class:`layers.settings.AccessSettings`): ``public`` (anyone), ``partner``
(partner tokens, planners, moderators, admins) or ``private`` (moderators and
admins). A caller's clearance comes from the rights of its role
(``view_partner``, ``view_private`` in :mod:`geoapp.auth`).

A layer the caller may not see does not exist for them: listings leave it out
and a request naming it answers 404, whoever asks, so its name leaks nothing.
Any answer that showed a non-public layer is ``Cache-Control: private, no-store``.
Anonymous answers hold public layers only, so they stay shareable by caches
(a cached one served to a signed-in caller shows less, never more).

Outside a request (the CLI, a background job its request already checked)
every layer is visible.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, has_request_context, request

from layers.errors import NotFoundError
from layers.settings import ACCESS_LEVELS

from . import auth
from .area import current_area

if TYPE_CHECKING:
    from layers.publish.dashboard import BuiltLayers
    from layers.publish.webmap import MapData

    from .models import User

CALLER = object()  # "the user of this request"
_SHOWN_PRIVATE = "geoapp.access.private"


def clearance(user: User | None) -> str:
    """The most restricted level ``user`` may see."""
    if auth.can(user, "view_private"):
        return "private"
    return "partner" if auth.can(user, "view_partner") else "public"


def level(layer: str) -> str:
    """A layer's access level in the request's area."""
    return current_area().access.level(layer)


def visible(layer: str, user: object = CALLER) -> bool:
    """May ``user`` (default: this request's caller) see ``layer`` of the request's area?"""
    if user is CALLER:
        if not has_request_context():
            return True
        user = _caller()
    needed = level(layer)
    ok = ACCESS_LEVELS.index(needed) <= ACCESS_LEVELS.index(clearance(user))  # type: ignore[arg-type]
    if ok and needed != "public" and has_request_context():
        request.environ[_SHOWN_PRIVATE] = True
    return ok


def visible_layers(names: Iterable[str], user: object = CALLER) -> list[str]:
    return [n for n in names if visible(n, user)]


def require_visible(layer: str, user: object = CALLER) -> None:
    """404 for a layer the caller may not see (the same answer as for no such layer)."""
    if not visible(layer, user):
        raise NotFoundError(f"no layer '{layer}' (see GET /api/layers for the layers you may see)")


def map_layer_visible(data: MapData, name: str, user: object = CALLER) -> bool:
    """A map layer shows a built layer (or an input): it is visible when its name and its source both are."""
    spec = data.layers.get(name)
    sources = [name]
    if spec is not None:
        source = data._find_source(spec)  # the built layer (or input) the tiles and popups come from
        if source and source != name:
            sources.append(source)
    return all(visible(s, user) for s in sources)


def hidden_map_layers(data: MapData, user: object = CALLER) -> list[str]:
    return [n for n in data.layers if not map_layer_visible(data, n, user)]


def built_view(built: BuiltLayers, user: object = CALLER) -> BuiltLayers:
    """The build's layers as the caller may see them (shares the read cache; hidden layers read as absent)."""
    view = copy.copy(built)
    view.names = {n for n in built.names if visible(n, user)}
    return view


def clearance_key(user: object = CALLER) -> str:
    """The caller's clearance, for keys of caches whose content depends on it."""
    if user is CALLER:
        user = _caller() if has_request_context() else None
    return clearance(user)  # type: ignore[arg-type]


def _caller() -> User | None:
    """The request's user; a request with no token and no session cookie is anonymous without reading the
    session (which would add ``Vary: Cookie`` to answers every cache may share)."""
    if not request.headers.get("Authorization") and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return None
    return auth.current_user()


def init_app(app: Flask) -> None:
    app.after_request(_cache_headers)


def _cache_headers(resp: Response) -> Response:
    if request.environ.get(_SHOWN_PRIVATE):
        resp.headers["Cache-Control"] = "private, no-store"
    return resp
