"""Report photos: re-encoded without EXIF/GPS, within size limits, JPEG/PNG only."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from layers.errors import InvalidInputError, TooLargeError
from layers.reports.photos import clean_photo


def _jpeg_with_gps() -> bytes:
    im = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "S", 2: (6.0, 12.0, 0.0), 3: "E", 4: (106.0, 49.0, 0.0)}  # GPS IFD
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_photo_is_reencoded_without_exif_or_gps():
    data = _jpeg_with_gps()
    assert b"PhoneMaker" in data
    clean, ctype = clean_photo(data, max_bytes=1_000_000)
    assert ctype == "image/jpeg"
    assert b"PhoneMaker" not in clean
    assert b"Exif" not in clean
    assert Image.open(io.BytesIO(clean)).size == (64, 48)
    with pytest.raises(TooLargeError, match="limit"):
        clean_photo(data, max_bytes=100)
    with pytest.raises(InvalidInputError, match="JPEG or PNG"):
        clean_photo(b"GIF89a not really", max_bytes=1000)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    with pytest.raises(InvalidInputError, match="not GIF"):
        clean_photo(gif.getvalue(), max_bytes=10_000)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels (all Pillow reads before deciding)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [10_000, 20_000])
def test_huge_pixel_counts_are_too_large_not_a_crash(side):
    """A 100 or 400-megapixel PNG (Pillow's warning and its bomb error zones) is refused as too large."""
    with pytest.raises(TooLargeError, match="megapixels"):
        clean_photo(_png_header_only(side, side), max_bytes=1_000_000)
