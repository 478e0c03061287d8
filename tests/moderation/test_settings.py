"""The moderation settings are checked once, at init_app, with messages naming the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from social_auth import ConfigError, get_state
from tests.blog.test_blog import blog


@pytest.mark.parametrize(
    ("config", "named", "says"),
    [
        ({"SOCIAL_AUTH_AKISMET_KYE": "k"}, "SOCIAL_AUTH_AKISMET_KYE", "SOCIAL_AUTH_AKISMET_KEY"),
        ({"SOCIAL_AUTH_AKISMET_TIMEOUT": 0}, "SOCIAL_AUTH_AKISMET_TIMEOUT", "seconds"),
        ({"SOCIAL_AUTH_AKISMET_URL": "rest.akismet.com"}, "SOCIAL_AUTH_AKISMET_URL", "address"),
        ({"SOCIAL_AUTH_AKISMET_KEY": ""}, "SOCIAL_AUTH_AKISMET_KEY", "API key"),
        ({"SOCIAL_AUTH_HOLD_FIRST_GUEST_COMMENT": "no"}, "SOCIAL_AUTH_HOLD_FIRST_GUEST_COMMENT",
         "True or False"),
    ],
)
def test_a_bad_moderation_setting_is_a_config_error_naming_the_key(
    tmp_path: Path, config: dict[str, object], named: str, says: str
):
    with pytest.raises(ConfigError) as info:
        blog(tmp_path, **config)
    assert info.value.key == named and says in info.value.message


def test_the_defaults_check_nothing_and_hold_first_guest_comments(
    tmp_path: Path, blogs: Callable[..., Flask]
):
    moderator = get_state(blogs(tmp_path)).moderator
    assert moderator is not None
    settings = moderator.settings
    assert (settings.akismet_on, settings.akismet_url, settings.akismet_timeout) == (
        False, "https://rest.akismet.com", 3.0)
    assert settings.hold_first_guest_comment is True and settings.akismet_test is False
