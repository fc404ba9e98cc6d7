"""Browser pages of field reports: `/report` (volunteer form, works offline), `/moderate` (queue), `/login`."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf

from geoapp.reports.query import report_config, reports_extent
from layers.reports.layer import extent_center

from .. import auth, db
from ..i18n import LANGUAGES, current_language
from ..i18n import strings as i18n_strings

bp = Blueprint("report_pages", __name__)
PAGE_LANGUAGES = LANGUAGES  # every page in every language (a test checks every key)


def _page(template: str, **context):
    lang = current_language(PAGE_LANGUAGES)
    strings = i18n_strings(lang, "report")

    def t(key: str, **values) -> str:
        text = strings.get(key, key)
        return text.format(**values) if values else text

    user = auth.current_user()
    return render_template(
        template,
        t=t,
        page_lang=lang,
        page_languages=PAGE_LANGUAGES,
        strings=strings,
        csrf_token=generate_csrf(),
        user=user,
        **context,
    )


@bp.get("/report")
def report_form():
    cfg = report_config()
    categories = [
        {
            "name": c.name,
            "label": i18n_strings(current_language(PAGE_LANGUAGES), "report").get(f"cat_{c.name}", c.label),
            "blur_m": c.blur_m,
        }
        for c in cfg.categories.values()
        if c.geometry == "point"
    ]
    return _page("report_form.html", categories=categories, center=_center())


def _center() -> list[float]:
    """Lon/lat the optional map opens at when the phone has no position yet: the area's middle."""
    return extent_center(reports_extent())


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
            auth.start_session(db.session(), user)
            return redirect(nxt)
        error = i18n_strings(current_language(PAGE_LANGUAGES), "report")["login_failed"]
    status = 401 if error else 200
    return _page("login_form.html", error=error, next=nxt), status


@bp.post("/logout")
def logout():
    auth.end_session(db.session())
    return redirect(url_for("report_pages.report_form"))
