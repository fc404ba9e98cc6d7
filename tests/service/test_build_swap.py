"""Caches of the build follow a swapped-in file in every process: the file's (inode, mtime_ns, size) is checked
per request, so a new build renamed over the old one is seen even when both have the same mtime and size."""

from __future__ import annotations

import os
import shutil

from geoapp.filestamp import file_stamp, stamp_text
from tests.service.conftest import make_app


def test_a_build_swapped_in_within_the_same_second_is_seen(tmp_path, sqlite_db, built_area):
    from geoapp.views.tiles import map_data

    out = tmp_path / "build" / "area.gpkg"
    out.parent.mkdir()
    shutil.copy(built_area, out)
    app = make_app(tmp_path, sqlite_db, BUILD=str(out))
    with app.test_request_context():
        first = map_data()
        assert map_data() is first  # cached while the file is the same
    before = out.stat()
    new = out.with_name(".area.new.gpkg")
    shutil.copy(built_area, new)
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime, same size: only the inode differs
    os.replace(new, out)
    after = out.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert file_stamp(out) == (after.st_ino, after.st_mtime_ns, after.st_size)
    assert after.st_ino != before.st_ino
    assert file_stamp(new) is None
    with app.test_request_context():
        assert map_data() is not first
    assert stamp_text(out) == f"{after.st_ino}-{after.st_mtime_ns}-{after.st_size}"
    assert app.test_client().get("/dashboard").status_code == 200
