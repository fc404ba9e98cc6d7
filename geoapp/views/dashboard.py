"""The dashboard `/dashboard`: headline figures per scenario, neighbourhood ranking, participation."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..area import current_area

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
def index() -> str:
    return render_template("dashboard.html", title=current_area().title)
