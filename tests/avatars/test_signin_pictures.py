"""A sign-in fetches the provider's picture server-side, through real HTTP against a local
image server; pages then show only our copy. Every failure keeps the sign-in and the old picture."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from social_auth import get_state
from tests.fetch.conftest import OnlyThisServer
from tests.providers.conftest import make_fake, make_provider
from tests.providers.servers import FakeProvider, consent, payload
from tests.providers.signin_app import BASE, callback, client_for, sets_session, signin_app, start

IMMUTABLE = "public, max-age=31536000, immutable"


def github_with_picture(url: str) -> FakeProvider:
    fake = make_fake("github")
    fake.api["user"] = dict(payload("github_user.json"), avatar_url=url)
    return fake


def picture_app(tmp_path: Path, fake: FakeProvider, **config: Any) -> Flask:
    """The sign-in app; its safe fetcher may reach the local servers unless told otherwise."""
    config.setdefault("SOCIAL_AUTH_FETCH_ALLOW_PRIVATE", True)
    return signin_app(tmp_path, {"github": make_provider("github", fake).settings}, **config)


def sign_in(app: Flask, fake: FakeProvider) -> Any:
    client = client_for(app)
    started = start(client, "github")
    answer = callback(client, "github", consent(started.headers["Location"]))
    assert answer.status_code == 302 and sets_session(answer)
    answer.close()  # the picture is fetched once the answer is sent
    return client


def shown(client: Any) -> str:
    me = client.get("/auth/me", base_url=BASE).json
    return str(me["commenter"]["avatar_url"])


@pytest.mark.parametrize("name", ["png", "jpeg", "gif", "webp", "polyglot"])
def test_a_sign_in_keeps_a_copy_and_pages_show_only_it(tmp_path: Path, images: str, name: str):
    with github_with_picture(f"{images}/{name}").running() as fake:
        app = picture_app(tmp_path, fake)
        client = sign_in(app, fake)
    url = shown(client)
    assert url.startswith("/auth/avatars/") and url.endswith("-96.webp")
    answer = client.get(url, base_url=BASE)
    assert answer.status_code == 200 and answer.mimetype == "image/webp"
    assert answer.headers["Cache-Control"] == IMMUTABLE
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in answer.headers["Content-Security-Policy"]
    assert Image.open(io.BytesIO(answer.data)).size == (96, 96)
    again = client.get(url, base_url=BASE, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    page = client.get("/posts/1", base_url=BASE).get_data(as_text=True)
    assert url.replace("-96.", "-48.") in page and images not in page


@pytest.mark.parametrize("name", ["svg", "html", "bomb", "huge", "slow", "missing"])
def test_a_bad_picture_leaves_the_identicon_and_the_sign_in(tmp_path: Path, images: str,
                                                            name: str):
    with github_with_picture(f"{images}/{name}").running() as fake:
        app = picture_app(tmp_path, fake)
        client = sign_in(app, fake)
    url = shown(client)
    assert url.startswith("/auth/avatars/i/") and url.endswith("-96.png")
    answer = client.get(url, base_url=BASE)
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.headers["Cache-Control"] == IMMUTABLE


def test_a_later_failure_keeps_the_previous_picture(tmp_path: Path, images: str):
    with github_with_picture(f"{images}/png").running() as fake:
        app = picture_app(tmp_path, fake)
        first = shown(sign_in(app, fake))
        fake.api["user"]["avatar_url"] = f"{images}/svg"  # the provider's picture moved
        client = sign_in(app, fake)
    assert shown(client) == first
    assert client.get(first, base_url=BASE).status_code == 200


def test_a_fresh_picture_is_not_fetched_again(
    tmp_path: Path, images: str, image_server: tuple[Flask, str]
):
    with github_with_picture(f"{images}/png").running() as fake:
        app = picture_app(tmp_path, fake)
        sign_in(app, fake)
        sign_in(app, fake)
    assert image_server[0].config["hits"] == ["/png"]


@pytest.mark.parametrize("name", ["png", "to-loopback"])
def test_without_the_test_relaxation_loopback_pictures_are_refused(
    tmp_path: Path, images: str, name: str
):
    with github_with_picture(f"{images}/{name}").running() as fake:
        app = picture_app(tmp_path, fake, SOCIAL_AUTH_FETCH_ALLOW_PRIVATE=False)
        if name == "to-loopback":  # the first hop is let through; its redirect is judged
            avatars = get_state(app).avatars
            assert avatars is not None
            port = int(images.rsplit(":", 1)[1])
            get_state(app).avatars = dataclasses.replace(avatars, fetcher=OnlyThisServer(port))
        client = sign_in(app, fake)
    assert shown(client).startswith("/auth/avatars/i/")
    avatars = get_state(app).avatars
    assert avatars is not None
    source = avatars.store.source(1)
    assert source is not None and source.failure == "address"


def test_pictures_can_live_in_a_directory(tmp_path: Path, images: str):
    with github_with_picture(f"{images}/png").running() as fake:
        app = picture_app(tmp_path, fake, SOCIAL_AUTH_AVATAR_DIR=str(tmp_path / "pics"))
        client = sign_in(app, fake)
    url = shown(client)
    files = sorted(p.name for p in (tmp_path / "pics").rglob("*.webp"))
    assert len(files) == 3 and url.rsplit("/", 1)[1] in files
    assert client.get(url, base_url=BASE).status_code == 200


def test_unknown_pictures_and_sizes_are_404(tmp_path: Path):
    app = signin_app(tmp_path, {})
    client = client_for(app)
    for path in ("/auth/avatars/" + "0" * 32 + "-96.webp", "/auth/avatars/x.webp",
                 "/auth/avatars/i/" + "0" * 32 + "-500.png", "/auth/avatars/i/x.png"):
        answer = client.get(path, base_url=BASE)
        assert answer.status_code == 404, path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_picture_older_than_the_max_age_is_fetched_again_at_a_sign_in(
    tmp_path: Path, images: str, image_server: tuple[Flask, str]
):
    from datetime import timedelta

    from sqlalchemy import update

    from social_auth.store.avatars import AvatarSource
    from social_auth.store.models import utcnow

    with github_with_picture(f"{images}/png").running() as fake:
        app = picture_app(tmp_path, fake)
        sign_in(app, fake)
        with get_state(app).store.engine.begin() as conn:  # a week and a day later
            conn.execute(update(AvatarSource).values(fetched_at=utcnow() - timedelta(days=8)))
        sign_in(app, fake)
    assert image_server[0].config["hits"] == ["/png", "/png"]
