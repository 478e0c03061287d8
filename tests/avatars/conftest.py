from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.providers.servers import serve

from .servers import image_app


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    """The local image server's address."""
    with serve(image_app()) as url:
        yield url
