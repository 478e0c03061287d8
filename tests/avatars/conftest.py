from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.providers.servers import serve

from .servers import image_app


@pytest.fixture(scope="module")
def image_server() -> Iterator[tuple[Flask, str]]:
    app = image_app()
    with serve(app) as url:
        yield app, url


@pytest.fixture
def images(image_server: tuple[Flask, str]) -> str:
    """The local image server's address (its request log emptied)."""
    image_server[0].config["hits"].clear()
    return image_server[1]
