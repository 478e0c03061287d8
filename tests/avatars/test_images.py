"""What ``avatars.image`` accepts, by content only, and what it makes of it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from social_auth.avatars.image import MAX_BYTES, SIZES, normalise, sniff
from social_auth.errors import AvatarRefused

from .images import HTML, SVG, bomb, picture, polyglot


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "GIF", "WEBP"])
@pytest.mark.parametrize("ext", ["webp", "png"])
def test_each_accepted_format_becomes_squares_of_each_size(kind: str, ext: str):
    data = picture(kind)
    assert sniff(data) == kind
    result = normalise(data, ext)
    assert sorted(result.variants) == list(SIZES) and len(result.key) == 32
    for size, encoded in result.variants.items():
        decoded = Image.open(io.BytesIO(encoded))
        assert decoded.format == ext.upper() and decoded.size == (size, size)


@pytest.mark.parametrize(("data", "reason"), [
    (SVG, "format"),
    (HTML, "format"),
    (b"", "format"),
    (b"GIF89a" + b"\x00" * 20, "undecodable"),
    (picture("PNG")[:60], "undecodable"),
    (bomb(), "pixels"),
    (bomb(5000), "pixels"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_BYTES, "too_large"),
])
def test_what_is_not_a_small_picture_is_refused(data: bytes, reason: str):
    with pytest.raises(AvatarRefused) as refused:
        normalise(data)
    assert refused.value.reason == reason


def test_a_png_html_polyglot_comes_out_a_plain_picture():
    result = normalise(polyglot())
    for encoded in result.variants.values():
        assert b"<script" not in encoded and b"html" not in encoded.lower()
        assert encoded.startswith(b"RIFF") and encoded[8:12] == b"WEBP"


def test_metadata_is_not_kept():
    data = picture("JPEG", exif=True)
    assert b"SecretCameraMaker" in data
    for encoded in normalise(data, "png").variants.values():
        assert b"SecretCameraMaker" not in encoded
        assert not Image.open(io.BytesIO(encoded)).getexif()


def test_the_same_picture_gets_the_same_key_and_another_picture_another():
    assert normalise(picture("PNG")).key == normalise(picture("PNG")).key
    assert normalise(picture("PNG")).key != normalise(picture("PNG", red=90)).key
