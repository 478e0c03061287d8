"""Attacks on the commenter's session cookie: stolen copies replayed after sign-out, block, merge
or erase; fixation; tampering and cross-purpose tokens; timeouts; key rotation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer

from social_auth import get_state
from social_auth.session import CSRF_COOKIE, SESSION_COOKIE, SESSION_SALT, decode_session
from social_auth.store.email_links import EmailLinks
from social_auth.testing import csrf_headers, make_commenter, session_cookie, sign_in_client
from tests.webapp import make_app


def whoami(client: FlaskClient, base_url: str = "http://localhost") -> str:
    return client.get("/whoami", base_url=base_url).get_data(as_text=True)


def stolen_copy(client: FlaskClient, app: Flask) -> FlaskClient:
    """A second browser holding a copy of ``client``'s session cookie (an attacker's)."""
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, cookie.value)
    return thief


def set_cookie_headers(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def guest(client: FlaskClient, email: str = "ann@example.com", base_url: str = "http://localhost"):  # type: ignore[no-untyped-def]
    headers = csrf_headers(client, secure=base_url.startswith("https"))
    return client.post(
        "/auth/guest",
        data={"name": "Ann", "email": email},
        headers={**headers, "Accept": "application/json"},
        base_url=base_url,
    )


# -- flags -------------------------------------------------------------------------------------


def test_session_and_csrf_cookies_are_httponly_lax_host_only_on_http(app: Flask):
    cookies = set_cookie_headers(guest(app.test_client()))
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        header = cookies[name]
        assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
        assert "Domain=" not in header


def test_on_https_cookies_are_secure_and_host_prefixed_so_subdomains_cannot_plant_them(app):
    cookies = set_cookie_headers(guest(app.test_client(), base_url="https://localhost"))
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        header = cookies["__Host-" + name]
        assert "Secure" in header and "HttpOnly" in header and "Domain=" not in header
    assert SESSION_COOKIE not in cookies  # never an unprefixed copy on https


def test_on_https_an_unprefixed_cookie_planted_over_http_is_ignored(app: Flask):
    client = app.test_client()
    sign_in_client(client)  # sets the plain-http cookie name
    assert whoami(client, "https://localhost") == "anonymous"


# -- replay of a stolen cookie ------------------------------------------------------------------


def test_stolen_cookie_replayed_after_sign_out_is_anonymous(app: Flask):
    client = app.test_client()
    sign_in_client(client)
    thief = stolen_copy(client, app)
    response = client.post(
        "/auth/logout", headers={**csrf_headers(client), "Accept": "application/json"}
    )
    assert response.status_code == 200 and response.json["authenticated"] is False  # type: ignore[index]
    assert whoami(thief) == "anonymous"


@pytest.mark.parametrize("action", ["block", "erase", "merge"])
def test_stolen_cookie_replayed_after_block_erase_or_merge_is_anonymous(app: Flask, action: str):
    store = get_state(app).store
    client = app.test_client()
    commenter = sign_in_client(client)
    thief = stolen_copy(client, app)
    assert whoami(thief) == commenter.public_id
    if action == "merge":
        store.merge(commenter, make_commenter(app))
    else:
        getattr(store, action)(commenter)
    assert whoami(thief) == "anonymous" and whoami(client) == "anonymous"


def test_stolen_cookie_stays_dead_after_an_unblock(app: Flask):
    store = get_state(app).store
    client = app.test_client()
    commenter = sign_in_client(client)
    store.block(commenter)
    assert whoami(client) == "anonymous"
    store.unblock(store.get(commenter.id))  # type: ignore[arg-type]
    assert whoami(client) == "anonymous"


# -- fixation ----------------------------------------------------------------------------------


def test_fixation_a_planted_session_cookie_is_replaced_at_sign_in(app: Flask):
    attacker = app.test_client()
    guest(attacker, "attacker@example.com")
    planted = attacker.get_cookie(SESSION_COOKIE).value  # type: ignore[union-attr]
    victim = app.test_client()
    victim.set_cookie(SESSION_COOKIE, planted)
    headers = csrf_headers(victim)
    email = "victim@example.com"
    # The victim proves their own address by magic link in the planted browser.
    response = victim.post(
        "/auth/email/start",
        data={"email": email},
        headers={**headers, "Accept": "application/json"},
    )
    assert response.status_code == 200
    to, _, body = get_state(app).mailer.sent[-1]
    assert to == email
    token = re.search(r"[?&]token=([\w-]+)", body).group(1)  # type: ignore[union-attr]
    # New details started a new session (and CSRF secret) in this browser: a fresh token.
    done = victim.post(
        "/auth/email/verify", data={"token": token}, headers=csrf_headers(victim)
    )
    assert done.status_code == 302
    assert victim.get("/auth/me").json["commenter"]["email_verified"] is True  # type: ignore[index]
    assert victim.get_cookie(SESSION_COOKIE).value != planted  # type: ignore[union-attr]
    # The attacker's copy no longer reaches whoever the victim became.
    assert whoami(attacker) == "anonymous"


def test_fixation_a_planted_guest_cookie_does_not_reveal_the_victims_details(app: Flask):
    attacker = app.test_client()
    guest(attacker, "attacker@example.com")
    victim = stolen_copy(attacker, app)
    response = guest(victim, "victim@example.com")
    assert response.status_code == 200
    me = attacker.get("/auth/me").json
    assert "victim@example.com" not in str(me)


def test_fixation_csrf_secret_is_rotated_at_sign_in(app: Flask):
    # The attacker planted a CSRF cookie they know (and so a token for it) before sign-in.
    client = app.test_client()
    planted = {**csrf_headers(client), "Accept": "application/json"}
    response = client.post(
        "/auth/guest", data={"name": "Ann", "email": "ann@example.com"}, headers=planted
    )
    assert response.status_code == 200
    response = client.post("/auth/logout", headers=planted)
    assert response.status_code == 403
    assert whoami(client) != "anonymous"


# -- tampering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        "wrong-key",
        "no-signature",
        "bool-id",
        "other-salt",
        "flask-session",
        "csrf-token",
        "magic-link",
    ],
)
def test_forged_or_cross_purpose_cookie_reads_as_anonymous(app: Flask, forge: str):
    victim = make_commenter(app)
    client = app.test_client()
    key = app.config["SECRET_KEY"]
    payload = [victim.id, victim.session_version, 2_000_000_000, 2_000_000_000, None]
    if forge == "wrong-key":
        value = URLSafeSerializer("guessed", salt=SESSION_SALT).dumps(payload)
    elif forge == "no-signature":
        value = URLSafeSerializer(key, salt=SESSION_SALT).dumps(payload).rsplit(".", 1)[0]
    elif forge == "bool-id":
        value = URLSafeSerializer(key, salt=SESSION_SALT).dumps([True, *payload[1:]])
    elif forge == "other-salt":
        value = URLSafeSerializer(key, salt="social-auth.draft").dumps(payload)
    elif forge == "flask-session":

        @app.get("/host-session")
        def host_session() -> str:
            session["user"] = [victim.id, victim.session_version]
            return "ok"

        host = app.test_client()
        host.get("/host-session")
        value = host.get_cookie("session").value  # type: ignore[union-attr]
    elif forge == "csrf-token":
        value = URLSafeSerializer(key, salt="social-auth.csrf").dumps(str(victim.id))
    else:
        value = EmailLinks(get_state(app).store).issue(
            email="v@example.com", commenter=victim, browser_hash=None
        )
    client.set_cookie(SESSION_COOKIE, value)
    assert whoami(client) == "anonymous"


def test_a_cookie_for_one_commenter_cannot_be_edited_into_another(app: Flask):
    mine, theirs = make_commenter(app), make_commenter(app)
    _, value = session_cookie(app, mine)
    body, signature = value.rsplit(".", 1)
    _, other = session_cookie(app, theirs)
    other_body = other.rsplit(".", 1)[0]
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, f"{other_body}.{signature}")
    assert whoami(client) == "anonymous"
    client.set_cookie(SESSION_COOKIE, f"{body}.{signature}")
    assert whoami(client) == mine.public_id


# -- timeouts ----------------------------------------------------------------------------------


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import time

        self.now = time.time()
        monkeypatch.setattr("social_auth.session.time.time", lambda: self.now)
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: self.now)


def test_stolen_cookie_dies_after_the_idle_timeout(tmp_path: Path, monkeypatch):
    app = make_app(tmp_path, SOCIAL_AUTH_SESSION_IDLE=600, SOCIAL_AUTH_SESSION_LIFETIME=86400)
    clock = Clock(monkeypatch)
    client = app.test_client()
    commenter = sign_in_client(client)
    clock.now += 599
    assert whoami(client) == commenter.public_id
    thief = stolen_copy(client, app)
    clock.now += 601  # the owner's copy slid; the stolen one did not (it is the same value)
    assert whoami(thief) == "anonymous"


def test_a_kept_alive_cookie_still_dies_at_the_absolute_lifetime(tmp_path: Path, monkeypatch):
    app = make_app(tmp_path, SOCIAL_AUTH_SESSION_IDLE=600, SOCIAL_AUTH_SESSION_LIFETIME=2000)
    clock = Clock(monkeypatch)
    client = app.test_client()
    commenter = sign_in_client(client)
    for _ in range(4):
        clock.now += 450
        assert whoami(client) == commenter.public_id
    clock.now += 250
    assert whoami(client) == "anonymous"


def test_a_cookie_whose_times_were_edited_is_still_refused(tmp_path: Path, monkeypatch):
    app = make_app(tmp_path, SOCIAL_AUTH_SESSION_IDLE=600, SOCIAL_AUTH_SESSION_LIFETIME=2000)
    commenter = make_commenter(app)
    far_future = [commenter.id, commenter.session_version, 4_000_000_000, 4_000_000_000, None]
    forged = URLSafeSerializer("not-the-key", salt=SESSION_SALT).dumps(far_future)
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, forged)
    assert whoami(client) == "anonymous"


# -- key rotation ------------------------------------------------------------------------------


def test_key_rotation_old_cookies_live_through_fallbacks_and_die_when_dropped(app: Flask):
    client = app.test_client()
    commenter = sign_in_client(client)
    old_key = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="rotated-secret-key-2", SECRET_KEY_FALLBACKS=[old_key])
    assert whoami(client) == commenter.public_id
    fresh = app.test_client()
    guest(fresh, "new@example.com")
    new_value = fresh.get_cookie(SESSION_COOKIE).value  # type: ignore[union-attr]
    # New cookies are signed with the new key alone.
    assert URLSafeSerializer("rotated-secret-key-2", salt=SESSION_SALT).loads(new_value)
    with app.app_context():
        assert decode_session(app, new_value) is not None
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert whoami(client) == "anonymous"
    assert whoami(fresh) != "anonymous"


def test_key_rotation_csrf_tokens_signed_with_a_dropped_key_are_refused(app: Flask):
    client = app.test_client()
    headers = csrf_headers(client)
    app.config["SECRET_KEY"] = "rotated-secret-key-2"
    response = client.post("/auth/logout", headers={**headers, "Accept": "application/json"})
    assert response.status_code == 403
