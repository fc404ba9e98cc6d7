"""A file's version, cheap enough to check on every request: caches of a build re-read it when it changes.

A build is swapped in with one rename (``os.replace``): the path then names a new
inode, so ``(inode, mtime_ns, size)`` differs even when two builds finish within
the same second. Every server process checks it per request, so none serves an
old build after another process (or a worker on another machine) swapped it.
"""

from __future__ import annotations

import os
from pathlib import Path


def file_stamp(path: str | Path) -> tuple[int, int, int] | None:
    """``(inode, mtime_ns, size)`` of ``path``, None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def stamp_text(path: str | Path) -> str:
    """The stamp as text for file names and cache keys (``"0"`` when absent)."""
    stamp = file_stamp(path)
    return "-".join(map(str, stamp)) if stamp else "0"
