"""Adapters come from the ``social_auth.providers`` entry points; one adapter can back several
configured instances, each with its own settings and connection pool."""

from __future__ import annotations

import pytest
from flask import Flask

from social_auth import ConfigError, SocialAuth
from social_auth.extension import get_state
from social_auth_providers.dev import Dev
from social_auth_providers.github import GitHub
from social_auth_providers.oidc import OpenIDConnect


def app_with(tmp_path, providers, **config) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        SECRET_KEY="registry-tests-secret-key",
        SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SOCIAL_AUTH_PROVIDERS=providers,
        SOCIAL_AUTH_SITE_URL="http://localhost",
        **config,
    )
    return app


def oidc_settings(host: str) -> dict[str, str]:
    return {
        "provider": "oidc",
        "client_id": "blog",
        "client_secret": "s",
        "server_metadata_url": f"https://{host}/.well-known/openid-configuration",
    }


def test_entry_points_give_several_instances_of_one_adapter_and_the_dev_provider(tmp_path):
    app = app_with(
        tmp_path,
        {
            "corp": oidc_settings("login.corp.example"),
            "partner": oidc_settings("id.partner.example"),
            "github": {"client_id": "a", "client_secret": "b", "timeout": 2.5},
        },
        SOCIAL_AUTH_DEV_PROVIDER=True,
    )
    SocialAuth(app)
    providers = get_state(app).providers
    assert set(providers) == {"corp", "partner", "github", "dev"}
    corp, partner = providers["corp"], providers["partner"]
    assert isinstance(corp, OpenIDConnect) and isinstance(partner, OpenIDConnect)
    assert corp.expected_issuer() == "https://login.corp.example"
    assert partner.expected_issuer() == "https://id.partner.example"
    assert corp.http is not partner.http
    assert isinstance(providers["github"], GitHub) and providers["github"].timeout == 2.5
    assert isinstance(providers["dev"], Dev)
    get_state(app).store.engine.dispose()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"client_id": "a", "client_secret": "b", "graph_version": "v25.0"}, "unknown setting"),
        ({"client_id": "a", "client_secret": "b", "timeout": 0}, "timeout"),
        ({"client_id": "a", "client_secret": "b", "timeout": "5"}, "timeout"),
    ],
)
def test_adapter_settings_are_checked_at_init(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=message):
        SocialAuth(app_with(tmp_path, {"github": settings}, SOCIAL_AUTH_DEV_PROVIDER=False))


def test_an_oidc_instance_needs_its_metadata_url(tmp_path):
    corp = {"provider": "oidc", "client_id": "a", "client_secret": "b"}
    with pytest.raises(ConfigError, match="server_metadata_url"):
        SocialAuth(app_with(tmp_path, {"corp": corp}, SOCIAL_AUTH_DEV_PROVIDER=False))
