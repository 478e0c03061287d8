"""Pictures for the avatar tests, made with Pillow, and hostile files that are not pictures."""

from __future__ import annotations

import io
import zlib

from PIL import Image

SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def picture(kind: str, size: tuple[int, int] = (300, 200), *, exif: bool = False,
            red: int = 200) -> bytes:
    """A red-and-blue picture in ``kind`` (PNG, JPEG, GIF or WEBP)."""
    image = Image.new("RGB", size, (red, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCameraMaker"  # Make
        data[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
        image.save(out, kind, exif=data)
    else:
        image.save(out, kind)
    return out.getvalue()


def polyglot() -> bytes:
    """A valid PNG that is also an HTML page with a script (after the IEND chunk)."""
    return picture("PNG") + HTML


def bomb(side: int = 20000) -> bytes:
    """A small PNG declaring ``side`` x ``side`` pixels: a decompression bomb. Built by hand
    (one IDAT of zeros compressed), so the test never holds the pixels itself."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data).to_bytes(4, "big")
        return len(data).to_bytes(4, "big") + kind + data + crc

    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))
