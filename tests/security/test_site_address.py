"""Finding 1 of security round 2: every absolute URL comes from the site's own address.

An anonymous attacker asked for a sign-in link of a verified victim with a forged ``Host`` (or,
behind the ``ProxyFix(x_host=1)`` the README recommends, a forged ``X-Forwarded-Host``): the
genuine mail's link pointed at the attacker's host, and one click handed the token over. Here the
example blog runs as ``examples.blog.wsgi`` deploys it (behind one proxy, mail through a real SMTP
server) on a real socket, and the forged headers change nothing the extension makes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask

from examples.blog.wsgi import app_from_environment
from social_auth import ConfigError, SocialAuth, get_state
from social_auth.store import Commenter
from tests.providers.servers import serve_site
from tests.smtp import Inbox, smtp_server
from tests.webapp import Fakebook

__all__ = ["smtp_server"]  # the fixture, used by name

SITE = "https://blog.example"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
URL = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture
def deployed(tmp_path: Path, smtp_server: tuple[int, Inbox]) -> Iterator[tuple[Flask, str]]:
    port, _ = smtp_server
    environment = {
        "BLOG_SECRET_KEY": "site-address-tests-secret-key",
        "BLOG_SITE_URL": SITE,
        "BLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'blog.sqlite3'}",
        "BLOG_REDIS_URL": "",
        "BLOG_DEV_PROVIDER": "1",
        "BLOG_PROXIES": "1",
        "BLOG_SMTP_HOST": "127.0.0.1",
        "BLOG_SMTP_PORT": str(port),
    }
    with serve_site(lambda _address: app_from_environment(environment)) as served:
        yield served


def verified_commenter(app: Flask, email: str) -> Commenter:
    store = get_state(app).store
    commenter = store.create_guest("Victoria", email, None, None)
    return store.mark_email_verified(commenter, email)


def forged_browser(base: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    browser.headers.update(FORGED)
    token = browser.get(f"{base}/auth/me", timeout=5).json()["csrf_token"]
    return browser, token


def test_a_mailed_sign_in_link_ignores_a_forged_host_and_forwarded_host(
    deployed: tuple[Flask, str], smtp_server: tuple[int, Inbox]
):
    app, base = deployed
    verified_commenter(app, "victoria@example.org")
    attacker, token = forged_browser(base)
    answer = attacker.post(
        f"{base}/auth/email/start",
        data={"email": "victoria@example.org", "csrf_token": token},
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    (mail,) = smtp_server[1].wait_for(1)
    text = f"{mail['Subject']}\n{mail.get_payload(decode=True).decode()}"  # type: ignore[union-attr]
    links = URL.findall(text)
    assert links and all(link.startswith(f"{SITE}/") for link in links), links
    assert "evil" not in text


def test_the_oauth_redirect_uri_ignores_a_forged_host(deployed: tuple[Flask, str]):
    _app, base = deployed
    attacker, _token = forged_browser(base)
    started = attacker.get(f"{base}/auth/login/dev?next=/", allow_redirects=False, timeout=5)
    assert started.status_code == 302
    location = started.headers["Location"]
    assert location.startswith(f"{SITE}/auth/dev/authorize?"), location
    (redirect_uri,) = parse_qs(urlsplit(location).query)["redirect_uri"]
    assert redirect_uri == f"{SITE}/auth/callback/dev"


def test_the_popup_posts_only_to_the_site_origin_whatever_the_host_says(
    deployed: tuple[Flask, str],
):
    _app, base = deployed
    attacker, _token = forged_browser(base)
    started = attacker.get(f"{base}/auth/login/dev?next=/&popup=1", allow_redirects=False)
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    cancelled = attacker.get(
        f"{base}/auth/callback/dev", params={"state": state, "error": "access_denied"}
    )
    assert '"status": "cancelled"' in cancelled.text
    assert f'"origins": ["{SITE}"]' in cancelled.text and "evil" not in cancelled.text


# -- the address is required outside debug ------------------------------------------------------


def bare_app(tmp_path: Path, **config: Any) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        {
            "SECRET_KEY": "site-address-tests-secret-key",
            "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SOCIAL_AUTH_PROVIDERS": {"fakebook": {}},
            **config,
        }
    )
    return app


def test_without_a_site_address_init_app_refuses_and_names_the_key(tmp_path: Path):
    with pytest.raises(ConfigError) as refused:
        SocialAuth(bare_app(tmp_path), providers=[Fakebook])
    assert refused.value.key == "SOCIAL_AUTH_SITE_URL"


def test_server_name_can_serve_as_the_site_address(tmp_path: Path):
    app = bare_app(
        tmp_path,
        SERVER_NAME="blog.example:8443",
        PREFERRED_URL_SCHEME="https",
        APPLICATION_ROOT="/notes/",
    )
    SocialAuth(app, providers=[Fakebook])
    assert get_state(app).settings.site_url == "https://blog.example:8443/notes"


def test_a_debug_app_may_use_the_request_address_and_is_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    app = bare_app(tmp_path, DEBUG=True, SOCIAL_AUTH_DEV_PROVIDER=False)
    with caplog.at_level(logging.WARNING, logger="social_auth"):
        SocialAuth(app, providers=[Fakebook])
    assert "SOCIAL_AUTH_SITE_URL is not set" in caplog.text
    started = app.test_client().get("/auth/login/fakebook", base_url="http://127.0.0.1:5000")
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fauth%2Fcallback%2Ffakebook" in (
        started.headers["Location"]
    )


@pytest.mark.parametrize(
    "value",
    ["blog.example", "ftp://blog.example", "https://", "https://u:p@blog.example",
     "https://blog.example/?x=1", "https://blog.example/#top", "https://blog.example:port", 42],
)
def test_a_malformed_site_address_is_refused(tmp_path: Path, value: Any):
    with pytest.raises(ConfigError) as refused:
        SocialAuth(bare_app(tmp_path, SOCIAL_AUTH_SITE_URL=value), providers=[Fakebook])
    assert refused.value.key == "SOCIAL_AUTH_SITE_URL"


def test_a_site_address_with_a_path_prefixes_every_callback(tmp_path: Path):
    app = bare_app(tmp_path, SOCIAL_AUTH_SITE_URL="https://example.org/blog/")
    SocialAuth(app, providers=[Fakebook])
    started = app.test_client().get("/auth/login/fakebook", base_url="http://evil.example")
    assert "redirect_uri=https%3A%2F%2Fexample.org%2Fblog%2Fauth%2Fcallback%2Ffakebook" in (
        started.headers["Location"]
    )


# -- finding 5: the signing keys ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fallbacks", "problem"),
    [
        ("old-key-that-is-long-enough", "must be a list"),
        ([""], "at least 16 bytes"),
        (["o"], "at least 16 bytes"),
        ([b"short"], "at least 16 bytes"),
        ([None], "must be a string or bytes"),
    ],
)
def test_bad_secret_key_fallbacks_are_refused_at_init(
    tmp_path: Path, fallbacks: Any, problem: str
):
    app = bare_app(tmp_path, SOCIAL_AUTH_SITE_URL=SITE, SECRET_KEY_FALLBACKS=fallbacks)
    with pytest.raises(ConfigError, match=problem) as refused:
        SocialAuth(app, providers=[Fakebook])
    assert refused.value.key.startswith("SECRET_KEY_FALLBACKS")


def test_a_short_secret_key_is_refused_at_init(tmp_path: Path):
    app = bare_app(tmp_path, SOCIAL_AUTH_SITE_URL=SITE, SECRET_KEY="short-key")
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        SocialAuth(app, providers=[Fakebook])


def test_a_cookie_forged_with_a_one_character_fallback_is_never_accepted(tmp_path: Path):
    """A string of fallbacks used to be spread into one-character keys ("o", "l", "d", …): a
    session cookie signed with one of them signed anyone in. Now the app refuses the setting,
    and a key list changed at run time to such a value answers a clear error, not a session."""
    from itsdangerous import URLSafeSerializer

    from social_auth.session import SESSION_COOKIE, SESSION_SALT
    from social_auth.testing import make_commenter

    app = bare_app(tmp_path, SOCIAL_AUTH_SITE_URL=SITE)
    ext = SocialAuth(app, providers=[Fakebook])
    with app.app_context():
        ext.store.upgrade_schema()
    victim = make_commenter(app, provider="fakebook")
    forged = URLSafeSerializer("o", salt=SESSION_SALT).dumps(
        [victim.id, victim.session_version, 2_000_000_000, 2_000_000_000, None]
    )
    app.config["SECRET_KEY_FALLBACKS"] = "old"
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, forged)
    answer = client.get("/auth/me", headers={"Accept": "application/json"})
    assert answer.status_code == 400 and answer.json is not None
    assert answer.json["error"] == "config_error" and not answer.json.get("authenticated")
