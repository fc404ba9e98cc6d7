"""Report photos: re-encoded without EXIF/GPS or text metadata, within size and pixel limits."""

from __future__ import annotations

import io
import warnings

from layers.errors import InvalidInputError, TooLargeError


def clean_photo(
    data: bytes, *, max_bytes: int, max_side: int = 1600, max_pixels: int = 40_000_000
) -> tuple[bytes, str]:
    """Re-encode a JPEG/PNG photo without EXIF/GPS or text metadata, at most ``max_side`` pixels wide.

    Returns ``(bytes, content_type)``. Raises TooLargeError over ``max_bytes``
    or ``max_pixels``, InvalidInputError for anything that is not a JPEG/PNG.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > max_bytes:
        raise TooLargeError(f"the photo is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, past its own pixel limit; ours below is lower and says so plainly.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise TooLargeError(
            f"the photo has too many pixels; the limit is {max_pixels // 1_000_000} megapixels"
        ) from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInputError("the photo must be a JPEG or PNG image") from exc
    if im.format not in ("JPEG", "PNG"):
        raise InvalidInputError(f"the photo must be a JPEG or PNG image, not {im.format}")
    if im.width * im.height > max_pixels:
        raise TooLargeError(
            f"the photo is {im.width}×{im.height} pixels; the limit is {max_pixels // 1_000_000} megapixels"
        )
    fmt = im.format
    try:
        upright = ImageOps.exif_transpose(im)  # keep the orientation the EXIF said, then drop EXIF
        upright.thumbnail((max_side, max_side))
        clean = Image.new(upright.mode, upright.size)
        clean.paste(upright)
    except OSError as exc:
        raise InvalidInputError(f"the photo cannot be decoded: {exc}") from exc
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue(), "image/jpeg"
    clean.save(out, "PNG", optimize=True)
    return out.getvalue(), "image/png"
