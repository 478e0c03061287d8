"""``flask social-auth akismet verify`` against a local Akismet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from tools.akismet_fake import VALID_KEY, FakeAkismet, down


@pytest.fixture
def app_with(blogs: Callable[..., Flask]) -> Callable[..., Flask]:
    def make(tmp_path: Path, **config: object) -> Flask:
        return blogs(tmp_path, SOCIAL_AUTH_SITE_URL="https://blog.example", **config)

    return make


def verify(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["social-auth", "akismet", "verify", *args])
    return result.exit_code, result.output


def test_a_valid_key_is_confirmed_for_the_site_address(
    tmp_path: Path, akismet: FakeAkismet, app_with: Callable[..., Flask]
):
    app = app_with(tmp_path, SOCIAL_AUTH_AKISMET_KEY=VALID_KEY,
                   SOCIAL_AUTH_AKISMET_URL=akismet.url)
    code, output = verify(app)
    assert (code, output.strip()) == (0, "The Akismet key is valid for https://blog.example/.")
    [sent] = akismet.calls("verify-key")
    assert sent == {"api_key": VALID_KEY, "blog": "https://blog.example/"}
    code, output = verify(app, "--json")
    assert code == 0 and json.loads(output)["valid"] is True


def test_a_wrong_key_fails_with_status_1(
    tmp_path: Path, akismet: FakeAkismet, app_with: Callable[..., Flask]
):
    app = app_with(tmp_path, SOCIAL_AUTH_AKISMET_KEY="wrong", SOCIAL_AUTH_AKISMET_URL=akismet.url)
    code, output = verify(app, "--json")
    assert code == 1 and json.loads(output)["error"]["code"] == "invalid_key"


def test_no_answer_and_no_key_are_clear_failures(
    tmp_path: Path, app_with: Callable[..., Flask]
):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    app = app_with(tmp_path / "a", SOCIAL_AUTH_AKISMET_KEY=VALID_KEY,
                   SOCIAL_AUTH_AKISMET_URL=down())
    code, output = verify(app)
    assert code == 1 and "Akismet did not answer (unreachable)" in output
    code, output = verify(app_with(tmp_path / "b"))
    assert code == 1 and "SOCIAL_AUTH_AKISMET_KEY is not set" in output
