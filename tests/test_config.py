"""``SocialAuth(app)`` validates the configuration once, with one error naming the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from social_auth import ConfigError, Provider, SocialAuth
from social_auth.extension import get_state


class Example(Provider):
    name = "example"
    title = "Example"


def make_app(tmp_path, **config: Any) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        SECRET_KEY="config-tests-s3cret-key",
        SOCIAL_AUTH_DEV_PROVIDER=False,
        SOCIAL_AUTH_SITE_URL="https://blog.example",
    )
    app.config.update(config)
    return app


def init(app: Flask) -> SocialAuth:
    return SocialAuth(app, providers=[Example])


def test_a_good_config_is_kept_in_app_extensions_not_on_the_extension(tmp_path):
    app = make_app(
        tmp_path,
        SOCIAL_AUTH_PROVIDERS={"example": {"client_id": "id", "client_secret": "secret"}},
        SOCIAL_AUTH_SESSION_IDLE=3600,
    )
    ext = init(app)
    state = get_state(app)
    assert not hasattr(ext, "app")
    assert state.settings.session_idle == timedelta(hours=1)
    assert state.settings.database_uri.startswith("sqlite:///")
    assert list(state.providers) == ["example"]
    with app.app_context():
        assert ext.store is state.store


def test_one_extension_serves_two_apps(tmp_path):
    ext = SocialAuth(providers=[Example])
    first, second = make_app(tmp_path / "a"), make_app(tmp_path / "b")
    ext.init_app(first)
    ext.init_app(second)
    assert get_state(first).store is not get_state(second).store


def test_missing_secret_key_is_named(tmp_path):
    app = make_app(tmp_path)
    app.config["SECRET_KEY"] = None
    with pytest.raises(ConfigError) as info:
        init(app)
    assert info.value.key == "SECRET_KEY"


def test_a_misspelt_key_is_refused_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match="did you mean SOCIAL_AUTH_GUEST_VERIFY_EMAIL") as info:
        init(make_app(tmp_path, SOCIAL_AUTH_GUEST_VERIFY_EMAILS=True))
    assert info.value.key == "SOCIAL_AUTH_GUEST_VERIFY_EMAILS"


def test_an_unknown_provider_is_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown provider 'myspace'") as info:
        init(make_app(tmp_path, SOCIAL_AUTH_PROVIDERS={"myspace": {"client_id": "x"}}))
    assert "myspace" in info.value.key


def test_a_named_instance_of_an_adapter_is_checked_against_that_adapter(tmp_path):
    with pytest.raises(ConfigError, match="needs 'client_secret'") as info:
        init(
            make_app(
                tmp_path,
                SOCIAL_AUTH_PROVIDERS={"corp": {"provider": "example", "client_id": "x"}},
            )
        )
    assert info.value.key == "SOCIAL_AUTH_PROVIDERS['corp']"


def test_a_provider_without_client_id_is_named(tmp_path):
    with pytest.raises(ConfigError, match="needs 'client_id'"):
        init(make_app(tmp_path, SOCIAL_AUTH_PROVIDERS={"example": {"client_secret": "x"}}))


def test_an_unknown_provider_setting_is_refused(tmp_path):
    settings = {"client_id": "x", "client_secret": "y", "scopes": "openid"}
    with pytest.raises(ConfigError, match="unknown setting"):
        init(make_app(tmp_path, SOCIAL_AUTH_PROVIDERS={"example": settings}))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("SOCIAL_AUTH_GUEST", "yes", "True or False"),
        ("SOCIAL_AUTH_SESSION_LIFETIME", "30 days", "timedelta"),
        ("SOCIAL_AUTH_SESSION_IDLE", -5, "positive"),
        ("SOCIAL_AUTH_MAIL_PORT", 70000, "port"),
        ("SOCIAL_AUTH_URL_PREFIX", "auth/", "must start with '/'"),
        ("SOCIAL_AUTH_TRUSTED_ORIGINS", ["https://blog.example/path"], "not an origin"),
        ("SOCIAL_AUTH_MAILER", "pigeon", "console"),
        ("SOCIAL_AUTH_PROVIDERS", [], "must be a dict"),
        ("SOCIAL_AUTH_ADMIN_CHECK", "nocolon", "module:function"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(tmp_path, key: str, value: Any, message: str):
    with pytest.raises(ConfigError, match=message) as info:
        init(make_app(tmp_path, **{key: value}))
    assert info.value.key == key


def test_dev_provider_defaults_to_debug_and_needs_the_dev_adapter(tmp_path):
    app = make_app(tmp_path)
    del app.config["SOCIAL_AUTH_DEV_PROVIDER"]
    app.debug = True
    with pytest.raises(ConfigError, match="no 'dev' adapter") as info:
        init(app)
    assert info.value.key == "SOCIAL_AUTH_DEV_PROVIDER"
