"""Thumbnails of uploaded images: decoded with Pillow under a pixel limit (a small file can claim a huge
picture: a decompression bomb), at most THUMB_SIZE on a side, turned upright, saved as a new JPEG so that none of
the original's metadata (EXIF: GPS position, camera, names) goes out with it."""

from __future__ import annotations

import io
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from edutrack import errors
from edutrack.i18n import _

THUMB_SIZE = (320, 320)
THUMB_TYPE = "image/jpeg"


def _unreadable() -> errors.ApiError:
    return errors.UnsupportedMediaType(_("The image cannot be read: it is damaged or not really an image."),
                                       code="image_unreadable")


def make_thumbnail(source: IO[bytes], max_pixels: int) -> bytes:
    """The thumbnail's JPEG bytes. Blocking (CPU): run it in a thread."""
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise errors.UnsupportedMediaType(
                    _("The image is too large: at most %(limit)s pixels.", limit=max_pixels), code="image_too_large")
            image.draft("RGB", THUMB_SIZE)  # JPEG: decode at 1/2 .. 1/8 scale, not at full size
            image.thumbnail(THUMB_SIZE)
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("RGBA", "LA", "P", "PA"):
                upright = upright.convert("RGBA")
                flat = Image.new("RGB", upright.size, (255, 255, 255))
                flat.paste(upright, mask=upright.getchannel("A"))
                upright = flat
            elif upright.mode != "RGB":
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, "JPEG", quality=82, optimize=True)  # a new image: no EXIF, ICC or comments
            return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise errors.UnsupportedMediaType(_("The image is too large: at most %(limit)s pixels.", limit=max_pixels),
                                          code="image_too_large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _unreadable() from None
