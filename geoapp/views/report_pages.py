"""Browser pages of field reports: `/report` (volunteer form, works offline), `/moderate` (queue), `/login`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf

from .. import auth, db
from ..reportdata import report_config, reports_extent

bp = Blueprint("report_pages", __name__)
I18N = Path(__file__).resolve().parent.parent / "i18n"
PAGE_LANGUAGES = {"en": "English", "fr": "Français", "sw": "Kiswahili"}


@bp.record_once
def _setup(state) -> None:
    db.init_app(state.app)
    auth.init_app(state.app)


@cache
def _strings(lang: str) -> dict[str, str]:
    """The report pages' strings in ``lang``, falling back to English key by key."""
    base = json.loads((I18N / "report_en.json").read_text(encoding="utf-8"))
    path = I18N / f"report_{lang}.json"
    if lang != "en" and path.exists():
        base.update(json.loads(path.read_text(encoding="utf-8")))
    return base


def _lang() -> str:
    asked = request.args.get("lang", "")
    if asked in PAGE_LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in PAGE_LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(list(PAGE_LANGUAGES), default="en") or "en"


def _page(template: str, **context):
    lang = _lang()
    strings = _strings(lang)

    def t(key: str, **values) -> str:
        text = strings.get(key, key)
        return text.format(**values) if values else text

    user = auth.current_user()
    return render_template(
        template, t=t, page_lang=lang, page_languages=PAGE_LANGUAGES, strings=strings,
        csrf_token=generate_csrf(), user=user, **context,
    )  # fmt: skip


@bp.get("/report")
def report_form():
    cfg = report_config()
    categories = [
        {"name": c.name, "label": _strings(_lang()).get(f"cat_{c.name}", c.label), "blur_m": c.blur_m}
        for c in cfg.categories.values() if c.geometry == "point"
    ]  # fmt: skip
    return _page("report_form.html", categories=categories, center=_center())


def _center() -> list[float]:
    """Lon/lat the optional map opens at when the phone has no position yet: the area's middle."""
    extent = reports_extent()
    if extent is None:
        return [0.0, 0.0]
    p = extent.centroid
    return [round(p.x, 6), round(p.y, 6)]


@bp.get("/report-sw.js")
def report_service_worker():
    """The form's service worker, served from the root so its scope covers /report."""
    resp = current_app.send_static_file("report_sw.js")
    resp.headers["Cache-Control"] = "no-cache"
    resp.mimetype = "text/javascript"
    return resp


@bp.get("/moderate")
def moderate():
    user = auth.current_user()
    if user is None:
        return redirect(url_for("report_pages.login", next="/moderate"))
    if not auth.can(user, "review"):
        abort(403)
    cats = {c.name: c.label for c in report_config().categories.values()}
    return _page("moderate_queue.html", categories=cats)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    nxt = request.values.get("next", "/moderate")
    if urlsplit(nxt).netloc or not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/moderate"  # never redirect off-site
    if request.method == "POST":
        user = auth.check_login(db.session(), request.form.get("name", ""), request.form.get("password", ""))
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            return redirect(nxt)
        error = _strings(_lang())["login_failed"]
    status = 401 if error else 200
    return _page("login_form.html", error=error, next=nxt), status


@bp.post("/logout")
def logout():
    session.pop("user_id", None)
    return redirect(url_for("report_pages.report_form"))
