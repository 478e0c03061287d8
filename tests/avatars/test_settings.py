"""The avatar and health keys are read once, checked, and known to the unknown-key check."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from social_auth import get_state
from social_auth.errors import ConfigError
from tests.providers.signin_app import signin_app


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("SOCIAL_AUTH_AVATAR_FORMAT", "gif", "'webp' or 'png'"),
    ("SOCIAL_AUTH_AVATARS", "yes", "True or False"),
    ("SOCIAL_AUTH_AVATAR_MAX_AGE", -1, "positive"),
    ("SOCIAL_AUTH_GRAVATAR_URL", "ftp://x/", "http(s) URL"),
    ("SOCIAL_AUTH_HEALTH_FLUSH", "soon", "seconds"),
    ("SOCIAL_AUTH_GRAVATR", True, "did you mean SOCIAL_AUTH_GRAVATAR?"),
])
def test_a_bad_value_names_its_key(tmp_path: Path, key: str, value: Any, problem: str):
    with pytest.raises(ConfigError) as refused:
        signin_app(tmp_path, {}, **{key: value})
    assert refused.value.key == key and problem in refused.value.message


def test_good_values_are_read(tmp_path: Path):
    app = signin_app(tmp_path, {}, SOCIAL_AUTH_AVATAR_MAX_AGE=3600,
                     SOCIAL_AUTH_AVATAR_FORMAT="png", SOCIAL_AUTH_GRAVATAR=True,
                     SOCIAL_AUTH_GRAVATAR_URL="https://gravatar.example/avatar")
    avatars = get_state(app).avatars
    assert avatars is not None
    settings = avatars.settings
    assert settings.avatar_max_age == timedelta(hours=1) and settings.avatar_format == "png"
    assert settings.gravatar and settings.gravatar_url == "https://gravatar.example/avatar/"
