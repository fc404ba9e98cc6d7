"""The scheduled pull: a ``feed_pull`` job pulls a feed, then queues the next pull ``interval_s`` later."""

from __future__ import annotations

from flask import current_app

from geoapp import jobs

DEFAULT_INTERVAL_S = 600.0


def schedule_pull(name: str, *, delay_s: float | None = None) -> str:
    """Queue the next pull of feed ``name`` (one queued pull per feed at a time); the job id."""
    from .pull import feed

    interval = float(feed(name).get("interval_s", DEFAULT_INTERVAL_S))
    return jobs.submit(
        "feed_pull",
        {"feed": name},
        lock=f"feed:{name}",
        dedupe_key=f"feedpull:{name}",
        delay_s=interval if delay_s is None else delay_s,
    )


@jobs.task("feed_pull")
def run_pull(payload: dict, progress: jobs.Progress) -> dict:
    from .pull import pull

    progress(0.0, f"pulling {payload['feed']}")
    try:
        return pull(payload["feed"])
    finally:
        # The next pull; not when jobs run synchronously (tests), where it would run at once, forever.
        if payload.get("repeat", True) and not current_app.config.get("JOBS_SYNC"):
            schedule_pull(payload["feed"])
