"""A fetched picture made safe to serve: accepted only as PNG, JPEG, GIF or WebP by its first
bytes (never by a header), decoded by Pillow within a pixel limit, and re-encoded as squares.

Re-encoding is the defence: the served bytes are Pillow's own, so metadata (EXIF, GPS,
comments) is gone, and a polyglot (a PNG that is also HTML or a script) comes out a plain PNG.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import AvatarRefused

#: The square sizes stored for each picture, in pixels.
SIZES = (48, 96, 192)
#: Pictures with more pixels than this are refused before they are decoded (a small file can
#: declare a huge image: a decompression bomb). 4096 x 4096.
MAX_PIXELS = 4096 * 4096
#: The largest picture file read (the issue's 2 MiB cap; the fetcher cuts the body there).
MAX_BYTES = 2 * 1024 * 1024

Kind = Literal["PNG", "JPEG", "GIF", "WEBP"]
MIME = {"webp": "image/webp", "png": "image/png"}


def sniff(data: bytes) -> Kind:
    """The format by magic bytes; ``AvatarRefused("format")`` for anything else (SVG, HTML)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    raise AvatarRefused("format", "The picture is not a PNG, JPEG, GIF or WebP image.")


@dataclass(frozen=True)
class Normalised:
    """One picture re-encoded at each of ``SIZES``; ``key`` names it (from its largest size)."""

    key: str
    ext: str
    variants: dict[int, bytes]

    @property
    def mime(self) -> str:
        return MIME[self.ext]


def content_key(data: bytes) -> str:
    """The name of a picture's content: 32 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:32]


def etag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes) -> Image.Image:
    """The first frame of an accepted picture, decoded, orientation applied."""
    if len(data) > MAX_BYTES:
        raise AvatarRefused("too_large", "The picture file is larger than 2 MiB.")
    kind = sniff(data)
    try:
        # Only the sniffed format's decoder may read it: no other plugin gets a guess.
        picture = Image.open(io.BytesIO(data), formats=[kind])
        width, height = picture.size
        if width * height > MAX_PIXELS or width < 1 or height < 1:
            raise AvatarRefused("pixels", "The picture has too many pixels.")
        picture.seek(0)
        picture.load()
        return ImageOps.exif_transpose(picture)
    except Image.DecompressionBombError as exc:
        raise AvatarRefused("pixels", "The picture has too many pixels.") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise AvatarRefused("undecodable", "The picture could not be decoded.") from exc


def normalise(data: bytes, ext: str = "webp") -> Normalised:
    """``data`` decoded and re-encoded at each of ``SIZES``, centre-cropped to a square."""
    picture = decode(data).convert("RGBA")
    variants = {size: encode(square(picture, size), ext) for size in SIZES}
    return Normalised(content_key(variants[SIZES[-1]]), ext, variants)


def square(picture: Image.Image, size: int) -> Image.Image:
    return ImageOps.fit(picture, (size, size), Image.Resampling.LANCZOS)


def encode(picture: Image.Image, ext: str) -> bytes:
    out = io.BytesIO()
    if ext == "webp":
        picture.save(out, "WEBP", quality=82, method=4)
    else:
        picture.save(out, "PNG", optimize=True)
    return out.getvalue()
