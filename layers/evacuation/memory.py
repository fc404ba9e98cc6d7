"""Handing freed memory back to the operating system between the stages of a big one-off run."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache


@cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


def release_memory() -> None:
    """Collect garbage, then ask glibc to return its free heap pages (``malloc_trim``).

    Millions of shapely geometries and pandas strings freed by one stage leave their pages in the
    process heap, where the next stage's large arrays (allocated elsewhere) cannot reuse them: the
    peak is then the sum of both stages. Trimming brings the resident size back down (a 1.44M-building
    run: 2.8 GB to 1.9 GB before writing). No-op without glibc (macOS, Windows, musl without it)."""
    gc.collect()
    lib = _libc()
    if lib is not None:
        lib.malloc_trim(0)
