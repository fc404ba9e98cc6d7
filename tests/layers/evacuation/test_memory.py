"""release_memory: freed heap pages go back to the system between the stages of a big run."""

import platform

import pytest

from layers.evacuation.memory import _libc, release_memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_trim_is_found_and_runs():
    assert _libc() is not None
    assert hasattr(_libc(), "malloc_trim")
    assert release_memory() is None
