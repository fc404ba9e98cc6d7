"""Tasks for the job tests: each records when it ran, so tests check overlap and order against the clock."""

from __future__ import annotations

import json
import os
import time

from geoapp import jobs
from layers.errors import InvalidInputError


@jobs.task("test.record")
def record(payload: dict, progress: jobs.Progress) -> dict:
    """Sleep ``payload["sleep"]`` s; append ``{"start", "end", "pid", "tag"}`` to the JSON-lines ``payload["log"]``."""
    start = time.time()
    progress(0.5, "sleeping")
    time.sleep(float(payload.get("sleep", 0)))
    end = time.time()
    if payload.get("log"):
        with open(payload["log"], "a") as f:
            f.write(json.dumps({"start": start, "end": end, "pid": os.getpid(), "tag": payload.get("tag")}) + "\n")
    return {"tag": payload.get("tag"), "sum": sum(payload.get("numbers", []))}


@jobs.task("test.fail")
def fail(payload: dict, progress: jobs.Progress) -> dict:
    raise InvalidInputError(f"field 'x' is {payload.get('x')!r}; give a number")


def read_log(path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@jobs.task("test.held")
def held_task(payload: dict, progress: jobs.Progress) -> dict:
    """``test.record`` inside ``runner.held(payload["name"])``: an inner lock, as the build takes per output file."""
    from geoapp.jobs.runner import held

    with held(payload["name"]):
        return record(payload, progress)
