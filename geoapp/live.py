"""Published reports feed the analyses: when reports are published or retired, a debounced build job
reruns only the steps those reports change.

| report category | step rerun | what changes |
|---|---|---|
| ``shelter_site`` | evacuation | a shelter (capacity from its attributes) |
| ``evacuation_obstacle``, ``road_closed`` | evacuation | road edges closed for walking and driving |
| ``flooding_observed`` | observations | "reported wet, model dry" and the reverse, per scenario |
| ``need_*``, ``*damage*`` | precarity | ``reports_per_1000`` |

Decisions are collected on the database session and the jobs are submitted after it commits (the
moderation transaction holds the write lock; a job row written inside it would wait on itself). One
job per area and step is queued at a time (``dedupe_key``), ``LIVE_REBUILD_DELAY_S`` after the first
decision, so a moderator publishing fifty reports starts one rebuild, not fifty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

DEFAULTS = {"LIVE_REBUILD_DELAY_S": 5.0}  # LIVE_REBUILD: on unless TESTING
_PENDING = "geoapp.live.categories"


def steps_for(categories: Iterable[str]) -> list[str]:
    """Build steps a change in reports of ``categories`` reruns, in build order."""
    steps = set()
    for c in categories:
        if c in ("shelter_site", "evacuation_obstacle", "road_closed"):
            steps.add("evacuation")
        elif c == "flooding_observed":
            steps.add("observations")
        elif c.startswith("need_") or "damage" in c:
            steps.add("precarity")
    order = ("evacuation", "precarity", "observations")
    return [s for s in order if s in steps]


def changed(s: Session, category: str | None) -> None:
    """Note that a published report of ``category`` appeared, changed or was retired in this session."""
    if category:
        s.info.setdefault(_PENDING, set()).add(category)


def schedule(categories: Iterable[str]) -> list[str]:
    """Submit one debounced rebuild job per affected step of the served area; the job ids."""
    from pathlib import Path

    from geoapp import jobs
    from geoapp.area import build_path

    app = current_app
    # Off by default under TESTING, so other tests' decisions start no background build; on in a service.
    if not app.config.get("LIVE_REBUILD", not app.testing) or "geoapp.jobs" not in app.extensions:
        return []
    if not build_path().exists():
        return []  # nothing built yet: the first full build reads every published report anyway
    area = Path(app.config["AREA"]).name
    ids = []
    for step in steps_for(categories):
        ids.append(
            jobs.submit(
                "build",
                {"only": [step]},
                lock=f"build:{area}",
                dedupe_key=f"feed:{area}:{step}",
                delay_s=float(app.config.get("LIVE_REBUILD_DELAY_S", DEFAULTS["LIVE_REBUILD_DELAY_S"])),
            )
        )
    return ids


@event.listens_for(Session, "after_commit")
def _after_commit(s: Session) -> None:
    cats = s.info.pop(_PENDING, None)
    if not cats or not has_app_context():
        return
    try:
        schedule(cats)
    except Exception:  # a queue outage must not undo a moderator's committed decision
        log.exception("could not queue the rebuild for reports of %s", sorted(cats))


@event.listens_for(Session, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(_PENDING, None)


def layer_updated() -> dict[str, str]:
    """``{layer: ISO time}`` of the served build: when each layer's step last ran (``layer_updated:`` metadata)."""
    from geoapp.area import build_path
    from layers.build import UPDATED_PREFIX
    from layers.publish.geopackage import read_metadata

    path = build_path()
    if not path.exists():
        return {}
    return {k[len(UPDATED_PREFIX) :]: v for k, v in read_metadata(path).items() if k.startswith(UPDATED_PREFIX)}
