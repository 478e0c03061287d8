"""A stored picture's life: refreshed and purged by the CLI, kept through a merge, gone with an
erase (rows and files); Gravatar only when the site turns it on, fetched by the server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from social_auth import get_state
from social_auth.store.avatars import AvatarImage, AvatarSource
from social_auth.testing import make_commenter
from tests.providers.signin_app import BASE, client_for, csrf, signin_app


def app_for(tmp_path: Path, **config: Any) -> Flask:
    return signin_app(tmp_path, {}, SOCIAL_AUTH_FETCH_ALLOW_PRIVATE=True, **config)


def cli(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["social-auth", *args, "--json"])
    return result.exit_code, json.loads(result.output) if result.output.strip() else None


def stored(app: Flask) -> tuple[int, int]:
    with get_state(app).store.session() as s:
        return (s.scalar(select(func.count()).select_from(AvatarImage)) or 0,
                s.scalar(select(func.count()).select_from(AvatarSource)) or 0)


def with_picture(app: Flask, url: str) -> Any:
    commenter = make_commenter(app, provider="github", avatar_url=url)
    code, out = cli(app, "avatars", "refresh", commenter.public_id)
    assert code == 0 and out["refreshed"] == {commenter.public_id: "fetched"}
    return get_state(app).store.require(commenter.public_id)


@pytest.mark.parametrize("directory", [False, True])
def test_an_erase_removes_the_stored_picture(tmp_path: Path, images: str, directory: bool):
    pics = tmp_path / "pics"
    app = app_for(tmp_path, **({"SOCIAL_AUTH_AVATAR_DIR": str(pics)} if directory else {}))
    commenter = with_picture(app, f"{images}/png")
    client = client_for(app)
    assert client.get(commenter.avatar_url, base_url=BASE).status_code == 200
    assert stored(app) == (3, 1) and (not directory or len(list(pics.rglob("*.webp"))) == 3)
    get_state(app).store.erase(commenter)
    assert client.get(commenter.avatar_url, base_url=BASE).status_code == 404
    assert stored(app) == (0, 0) and not list(pics.rglob("*.webp"))


def test_a_merge_keeps_the_picture_the_target_takes(tmp_path: Path, images: str):
    app = app_for(tmp_path)
    source = with_picture(app, f"{images}/png")
    target = make_commenter(app, provider="github")
    store = get_state(app).store
    store.merge(source, target, actor="admin")
    merged = store.require(target.public_id)
    assert merged.avatar_url == source.avatar_url
    assert client_for(app).get(merged.avatar_url, base_url=BASE).status_code == 200
    store.erase(merged)
    assert stored(app)[0] == 3  # the tombstone still names it (undo would bring it back)


def test_purge_removes_every_picture_and_pages_fall_back_to_identicons(tmp_path: Path,
                                                                      images: str):
    app = app_for(tmp_path)
    with_picture(app, f"{images}/png")
    with_picture(app, f"{images}/gif")
    code, out = cli(app, "avatars", "purge", "--yes")
    assert code == 0 and out == {"purged": 2}
    assert stored(app) == (0, 0)
    code, out = cli(app, "avatars", "refresh", "nobody-has-this-id")
    assert code == 1 and out["error"]["code"] == "not_found"


@pytest.mark.parametrize("enabled", [True, False])
def test_a_guest_gets_a_gravatar_only_when_the_site_turns_it_on(
    tmp_path: Path, images: str, image_server: tuple[Flask, str], enabled: bool
):
    digest = hashlib.sha256(b"ann@example.com").hexdigest()
    image_server[0].config["gravatars"] = {digest}
    app = app_for(tmp_path, SOCIAL_AUTH_GRAVATAR=enabled, SOCIAL_AUTH_GRAVATAR_URL=images + "/")
    client = client_for(app)
    answer = client.post("/auth/guest", base_url=BASE, data={
        "csrf_token": csrf(client), "name": "Ann", "email": "ann@example.com"})
    assert answer.status_code == 302
    answer.close()
    me = client.get("/auth/me", base_url=BASE).json
    assert me is not None
    if enabled:
        assert me["commenter"]["avatar_url"].endswith("-96.webp")
        assert image_server[0].config["hits"] == [f"/{digest}"]
    else:
        assert me["commenter"]["avatar_url"].startswith("/auth/avatars/i/")
        assert image_server[0].config["hits"] == []


def test_the_privacy_page_says_readers_contact_no_third_party(tmp_path: Path):
    page = client_for(app_for(tmp_path)).get("/auth/privacy", base_url=BASE)
    text = " ".join(page.get_data(as_text=True).split())
    assert "makes your browser contact no third party" in text
    assert "fetches your" not in text  # Gravatar is off by default
