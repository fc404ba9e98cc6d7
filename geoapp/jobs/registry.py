"""The task kinds: ``@jobs.task("kind")`` registers a function; workers import ``TASK_MODULES`` to find them.

A module that defines tasks adds one line to ``TASK_MODULES``; every process that
runs jobs (a ``geoapp worker``, or a server running them in-process) imports them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .progress import Progress

    TaskFn = Callable[[dict, Progress], dict | None]

TASK_MODULES: list[str] = [
    "geoapp.jobs.tasks",
    "geoapp.views.layers_api",  # export
    "geoapp.feeds.tasks",
    "geoapp.messaging.tasks",
]

_TASKS: dict[str, TaskFn] = {}


def task(kind: str) -> Callable[[TaskFn], TaskFn]:
    """Register ``fn(payload, progress) -> dict`` as the task run for jobs of ``kind``."""

    def register(fn: TaskFn) -> TaskFn:
        _TASKS[kind] = fn
        return fn

    return register


def load_all() -> None:
    for name in TASK_MODULES:
        importlib.import_module(name)


def lookup(kind: str) -> TaskFn:
    if kind not in _TASKS:
        load_all()
    try:
        return _TASKS[kind]
    except KeyError:
        raise LookupError(f"no job task '{kind}' (known: {', '.join(sorted(_TASKS)) or 'none'})") from None


def kinds() -> list[str]:
    load_all()
    return sorted(_TASKS)
