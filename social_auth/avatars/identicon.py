"""Identicons: a picture made here, for commenters (and guests) without one of their own.

A 5 x 5 grid mirrored left to right, its cells and colour taken from the SHA-256 of a seed;
nothing of the seed can be read back. PNG, cached per (seed, size) in this process.
"""

from __future__ import annotations

import functools
import hashlib
import io

from PIL import Image

#: Bumped when the drawing changes, so cached copies under the old URLs stay as they were.
VERSION = "1"
GRID = 5


def seed_of(public_id: str) -> str:
    """The identicon seed shown in URLs: 32 hex digits of a hash of the public id."""
    return hashlib.sha256(f"identicon:{VERSION}:{public_id}".encode()).hexdigest()[:32]


@functools.lru_cache(maxsize=2048)
def identicon(seed: str, size: int) -> bytes:
    """The PNG identicon of ``seed`` at ``size`` x ``size`` pixels."""
    digest = hashlib.sha256(seed.encode()).digest()
    colour = (digest[0] // 2 + 64, digest[1] // 2 + 64, digest[2] // 2 + 64)
    cells = Image.new("RGB", (GRID, GRID), (240, 240, 240))
    for row in range(GRID):
        for col in range((GRID + 1) // 2):
            if digest[3 + row * 3 + col] % 2:
                cells.putpixel((col, row), colour)
                cells.putpixel((GRID - 1 - col, row), colour)
    out = io.BytesIO()
    cells.resize((size, size), Image.Resampling.NEAREST).save(out, "PNG", optimize=True)
    return out.getvalue()
