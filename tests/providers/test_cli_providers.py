"""``flask social-auth providers``: each configured provider and the callback URL to register."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from .signin_app import signin_app

PROVIDERS = {
    "github": {"client_id": "c", "client_secret": "s"},
    "corp": {
        "provider": "oidc",
        "client_id": "c",
        "client_secret": "s",
        "server_metadata_url": "https://login.example/.well-known/openid-configuration",
    },
    "twitter": {"client_id": "c", "client_secret": "s"},
}


def run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["social-auth", "providers", *args])


def test_providers_lists_adapters_and_callback_urls_as_json(tmp_path: Path):
    app = signin_app(tmp_path, PROVIDERS, SOCIAL_AUTH_DEV_PROVIDER=True)
    result = run(app, "--json", "--base-url", "https://blog.example/")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)["providers"]}
    assert rows["corp"] == {
        "name": "corp",
        "adapter": "oidc",
        "title": "OpenID Connect",
        "protocol": "oidc",
        "deprecated": False,
        "callback_url": "https://blog.example/auth/callback/corp",
    }
    assert rows["twitter"]["deprecated"] is True
    assert rows["dev"]["callback_url"] == "https://blog.example/auth/callback/dev"
    assert rows["github"]["adapter"] == "github"


def test_providers_uses_server_name_and_the_url_prefix(tmp_path: Path):
    app = signin_app(
        tmp_path,
        PROVIDERS,
        SERVER_NAME="blog.example",
        PREFERRED_URL_SCHEME="https",
        SOCIAL_AUTH_URL_PREFIX="/accounts",
    )
    result = run(app)
    assert result.exit_code == 0, result.output
    assert "https://blog.example/accounts/callback/github" in result.output
    assert "(deprecated)" in result.output.splitlines()[2]


def test_the_callbacks_come_from_the_site_address_with_its_path(tmp_path: Path):
    app = signin_app(tmp_path, PROVIDERS, SOCIAL_AUTH_SITE_URL="https://example.org/blog/")
    result = run(app)
    assert result.exit_code == 0, result.output
    assert "https://example.org/blog/auth/callback/corp" in result.output


def test_a_debug_app_without_an_address_prints_paths_and_says_how_to_get_urls(tmp_path: Path):
    app = signin_app(tmp_path, PROVIDERS, SOCIAL_AUTH_SITE_URL=None, DEBUG=True)
    app.debug = True
    result = run(app)
    assert result.exit_code == 0
    assert "/auth/callback/corp" in result.output and "SOCIAL_AUTH_SITE_URL" in result.output


def test_a_bad_base_url_is_a_clear_error(tmp_path: Path):
    result = run(signin_app(tmp_path, PROVIDERS), "--base-url", "blog.example")
    assert result.exit_code == 1 and "not an address" in result.output
