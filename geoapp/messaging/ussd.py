"""The USSD menu (Africa's Talking): category, then neighbourhood (a paged list, or a typed name), then
depth for a flood; the report is stored when the session ends. ``8`` subscribes to a neighbourhood's alerts.

Africa's Talking sends the whole path of choices each time (``text`` = ``"1*0*3*2"``), so the menu keeps no
state: each answer is computed from the path. ``CON`` continues the session, ``END`` closes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from geoapp.area import current_area
from geoapp.messaging import inbound, places
from geoapp.messaging.models import Contact, Inbound
from geoapp.messaging.texts import text
from geoapp.models import utcnow
from geoapp.reports.store import write_transaction
from layers.reports.messages import ParsedMessage, Place

PAGE = 7
MENU = (
    "flooding_observed",
    "evacuation_obstacle",
    "blocked_drain",
    "damaged_building",
    "need_water",
    "need_food",
    "need_medical",
)
JOIN = "8"
DEPTHS = {"1": 0.1, "2": 0.5, "3": 1.0, "4": 1.3, "5": 0.0}


@dataclass(frozen=True)
class _Unit:
    set: str
    id: str
    name: str


def _units() -> list[_Unit]:
    """The neighbourhoods offered: the boundary set ``MESSAGES_USSD_BOUNDARY`` (default: the area's set with the
    fewest units, so the list stays short), sorted by name."""
    cache = current_app.extensions.setdefault("geoapp.messages.ussd_units", {})
    area = current_area()
    if area.name not in cache:
        wanted = current_app.config.get("MESSAGES_USSD_BOUNDARY")
        specs = [b for b in area.boundaries if wanted in (None, b.id)]
        if not specs:
            cache[area.name] = []
        else:
            layers = {b.id: area.boundary_layer(b.id) for b in specs}
            bset = min(layers, key=lambda k: len(layers[k]))
            frame = layers[bset].dropna(subset=["name"]).sort_values("name")
            cache[area.name] = [
                _Unit(bset, str(i), str(n)) for i, n in zip(frame["area_id"], frame["name"], strict=True)
            ]
    return cache[area.name]


def _place(unit: _Unit) -> Place:
    """A unit as a place: its centroid and accuracy, as the grammar gives them."""
    p = places.parser()
    entry = next(e for e in p.gazetteer.entries if e.boundary_set == unit.set and e.boundary_id == unit.id)
    return p._place([entry], "boundary")


def answer(*, session_id: str, phone: str, path: str) -> str:
    """The ``CON ...``/``END ...`` answer to one step of a session."""
    parts = [p.strip() for p in path.split("*")] if path else []
    with write_transaction() as s:
        contact = inbound.contact_for(s, phone, gateway="africastalking", channel="ussd")
        lang = contact.language
    if not parts:
        options = [f"{i} {inbound.category_word(lang, c).title()}" for i, c in enumerate(MENU, 1)]
        options.append(f"{JOIN} {text(lang, 'ussd_join')}")
        return "CON " + text(lang, "ussd_menu", options="\n".join(options))
    choice = parts[0]
    if choice != JOIN and not (_digits(choice) and 1 <= int(choice) <= len(MENU)):
        return text(lang, "ussd_bad")
    unit, rest = _pick_unit(parts[1:])
    if unit is None:
        if rest == "bad":
            return text(lang, "ussd_bad")
        return "CON " + _page(lang, int(rest))
    if choice == JOIN:
        return _finish_join(session_id, phone, lang, unit)
    category = MENU[int(choice) - 1]
    depth = None
    if category == "flooding_observed":
        if not rest:
            return "CON " + text(lang, "ussd_depth")
        if rest not in DEPTHS:
            return text(lang, "ussd_bad")
        depth = DEPTHS[rest] or None
    return _finish_report(session_id, phone, lang, category, depth, unit)


def _digits(part: str) -> bool:
    """A keypad number: ASCII digits only ("²" passes isdigit but not int) and short (int refuses 5,000 digits)."""
    return part.isascii() and part.isdigit() and len(part) <= 6


def _pick_unit(parts: list[str]) -> tuple[object, str]:
    """Walk the neighbourhood pages: ``0`` is the next page, ``n`` picks, a name is looked up.

    Returns ``(unit, the next input or "")`` once one is chosen, else ``(None, page number or "bad")``."""
    units = _units()
    page = 0
    for i, part in enumerate(parts):
        if part == "0":
            page += 1
            continue
        if _digits(part):
            k = page * PAGE + int(part) - 1
            if not (1 <= int(part) <= PAGE) or k >= len(units):
                return None, "bad"
            return units[k], parts[i + 1] if i + 1 < len(parts) else ""
        found, _ = places.parser().resolve_boundary(part)
        if found is None:
            return None, "bad"
        return found, parts[i + 1] if i + 1 < len(parts) else ""
    return None, str(page)


def _page(lang: str, page: int) -> str:
    units = _units()
    start = page * PAGE
    lines = [f"{i} {u.name[:22]}" for i, u in enumerate(units[start : start + PAGE], 1)]
    if start + PAGE < len(units):
        lines.append(text(lang, "ussd_more"))
    return text(lang, "ussd_where", options="\n".join(lines))


def _as_place(unit) -> Place:
    return unit if isinstance(unit, Place) else _place(unit)


def _finish_report(session_id, phone, lang, category, depth, unit) -> str:
    key = inbound.message_key("africastalking-ussd", session_id)
    place = _as_place(unit)
    with write_transaction() as s:
        seen = s.scalar(select(Inbound).where(Inbound.message_key == key))
        if seen is not None:  # the gateway asked again for the last step: the same answer, nothing new stored
            return text(lang, "ussd_done", ref=seen.ref)
        contact = inbound.contact_for(s, phone, gateway="africastalking", channel="ussd")
        ref = inbound.new_ref(s)
        parsed = ParsedMessage("report", lang, category, depth, place)
        words = f"USSD: {inbound.category_word(lang, category)} {'' if depth is None else f'{depth:g} m '}{place.name}"
        report_id = inbound.store_message_report(s, parsed, body=words, channel="ussd", key=key, ref=ref)
        s.add(
            Inbound(
                message_key=key,
                gateway="africastalking",
                channel="ussd",
                contact_id=contact.id,
                kind="report",
                parse="full",
                language=lang,
                ref=ref,
                report_id=report_id,
                reply=None,
                received_at=utcnow(),
            )
        )
    return text(lang, "ussd_done", ref=ref)


def _finish_join(session_id, phone, lang, unit) -> str:
    place = _as_place(unit)
    with write_transaction() as s:
        contact: Contact = inbound.contact_for(s, phone, gateway="africastalking", channel="ussd")
        inbound.subscribe(s, contact, place)
    return "END " + text(lang, "subscribed", where=place.name)
