"""The FedCM and One Tap POST handlers with ID tokens signed by a local key set: a good token,
another audience, a nonce we never issued, an expired token, a replay, an unverified email,
and One Tap's g_csrf_token double submit (missing or mismatched)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from social_auth import ConfigError, SocialAuth, get_state
from social_auth.session import current_commenter
from social_auth.testing import csrf_headers, make_commenter
from social_auth_providers.google import Google
from social_auth_providers.oidc import OpenIDConnect
from tests.fedcm.idp import FedcmIdP
from tests.webapp import RecordingMailer

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def idp() -> Iterator[FedcmIdP]:
    with FedcmIdP().running() as running:
        yield running


def providers_of(idp: FedcmIdP) -> dict[str, Any]:
    metadata = f"{idp.base_url}/.well-known/openid-configuration"
    return {
        "corp": {"provider": "oidc", "client_id": idp.client_id, "client_secret": "s",
                 "server_metadata_url": metadata, "fedcm": {"config_url": idp.config_url}},
        "google": {"client_id": idp.client_id, "client_secret": "s", "issuer": idp.base_url,
                   "server_metadata_url": metadata, "one_tap": True},
    }


@pytest.fixture
def app(tmp_path: Path, idp: FedcmIdP) -> Flask:
    return host_app(tmp_path, providers_of(idp))


def host_app(tmp_path: Path, providers: dict[str, Any], **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="fedcm-handler-tests-key",
        SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'social_auth.sqlite3'}",
        SOCIAL_AUTH_PROVIDERS=providers,
        SOCIAL_AUTH_MAILER=RecordingMailer(),
        SOCIAL_AUTH_SITE_URL="http://localhost",
        **config,
    )
    ext = SocialAuth(app, providers=[OpenIDConnect, Google])
    with app.app_context():
        ext.store.upgrade_schema()

    @app.get("/whoami")
    def whoami() -> str:
        c = current_commenter
        return c.public_id if c.is_authenticated and c.public_id else "anonymous"

    @app.get("/page")
    def page() -> str:
        return render_template_string("<form>{{ social_auth_login() }}</form>")

    return app


def nonce_for(client: FlaskClient, name: str) -> str:
    answer = client.post(f"/auth/fedcm/{name}/nonce", headers={**csrf_headers(client), **JSON})
    assert answer.status_code == 200 and answer.json is not None
    return str(answer.json["nonce"])


def token(idp: FedcmIdP, nonce: str | None, **claims: Any) -> str:
    idp.id_token_claims = {"sub": "fed-1", "name": "Fran", "email": "fran@idp.example",
                           "email_verified": True, **claims}
    return idp.make_id_token(nonce=nonce)


def fedcm_post(client: FlaskClient, id_token: str, name: str = "corp") -> Any:
    return client.post(f"/auth/fedcm/{name}", json={"token": id_token},
                       headers={**csrf_headers(client), **JSON})


def test_a_good_token_signs_in_and_answers_me(app: Flask, idp: FedcmIdP):
    client = app.test_client()
    answer = fedcm_post(client, token(idp, nonce_for(client, "corp")))
    assert answer.status_code == 200 and answer.json is not None
    assert answer.json["authenticated"] is True
    assert answer.json["identities"][0]["subject"] == "fed-1"
    assert client.get("/whoami").get_data(as_text=True) != "anonymous"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "someone-else"}, "meant for another client"),
        ({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "https://elsewhere.example"}, "another issuer"),
    ],
)
def test_a_token_for_another_audience_issuer_or_time_is_refused(
    app: Flask, idp: FedcmIdP, claims: dict[str, Any], message: str
):
    client = app.test_client()
    answer = fedcm_post(client, token(idp, nonce_for(client, "corp"), **claims))
    assert answer.status_code == 400 and answer.json is not None
    assert answer.json["error"] == "fedcm_failed" and message in answer.json["message"]
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"


def test_a_nonce_we_never_issued_or_used_already_is_refused(app: Flask, idp: FedcmIdP):
    client = app.test_client()
    assert fedcm_post(client, token(idp, "made-up-nonce")).status_code == 400
    assert fedcm_post(client, token(idp, None)).status_code == 400
    good = token(idp, nonce_for(client, "corp"))
    assert fedcm_post(client, good).status_code == 200
    replay = fedcm_post(app.test_client(), good)
    assert replay.status_code == 400 and "used already" in replay.json["message"]


def test_a_nonce_of_another_provider_is_refused(app: Flask, idp: FedcmIdP):
    client = app.test_client()
    answer = fedcm_post(client, token(idp, nonce_for(client, "google")), name="corp")
    assert answer.status_code == 400


def test_the_fedcm_post_needs_the_csrf_token(app: Flask, idp: FedcmIdP):
    client = app.test_client()
    id_token = token(idp, nonce_for(client, "corp"))
    answer = client.post("/auth/fedcm/corp", json={"token": id_token}, headers=JSON)
    assert answer.status_code == 403
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"


def test_an_unverified_email_links_nothing_and_stays_unverified(tmp_path: Path, idp: FedcmIdP):
    # The site links by verified email: a verified one would join the owner; this may not.
    app = host_app(tmp_path, providers_of(idp), SOCIAL_AUTH_LINK_BY_VERIFIED_EMAIL=True)
    owner = make_commenter(app, display_name="Owner", provider="fakebook",
                           email="fran@idp.example", email_verified=True)
    client = app.test_client()
    answer = fedcm_post(client, token(idp, nonce_for(client, "corp"), email_verified=False))
    assert answer.status_code == 200 and answer.json is not None
    assert answer.json["commenter"]["id"] != owner.public_id
    identity = get_state(app).store.find_identity("corp", "fed-1")
    assert identity is not None and identity.email_verified is False


# -- One Tap's redirect mode --------------------------------------------------------------------


def one_tap(client: FlaskClient, id_token: str, cookie: str | None, field: str | None) -> Any:
    if cookie is not None:
        client.set_cookie("g_csrf_token", cookie)
    form = {"credential": id_token, "select_by": "user"}
    if field is not None:
        form["g_csrf_token"] = field
    return client.post("/auth/fedcm/google/onetap?next=/posts/x", data=form)


def test_one_tap_with_a_matching_g_csrf_token_signs_in_and_returns(app: Flask, idp: FedcmIdP):
    client = app.test_client()
    answer = one_tap(client, token(idp, nonce_for(client, "google")), "gcsrf-1", "gcsrf-1")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/posts/x")
    assert client.get("/whoami").get_data(as_text=True) != "anonymous"


@pytest.mark.parametrize(
    ("cookie", "field"), [(None, "gcsrf-1"), ("gcsrf-1", None), ("gcsrf-1", "gcsrf-2"), ("", "")]
)
def test_one_tap_without_a_matching_g_csrf_token_is_refused(
    app: Flask, idp: FedcmIdP, cookie: str | None, field: str | None
):
    client = app.test_client()
    answer = one_tap(client, token(idp, nonce_for(client, "google")), cookie, field)
    assert answer.status_code == 400
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"


@pytest.mark.parametrize(
    "claims", [{"aud": "someone-else"}, {"exp": int(time.time()) - 3600}, {"nonce": "x"}]
)
def test_one_tap_checks_the_id_token_like_fedcm(
    app: Flask, idp: FedcmIdP, claims: dict[str, Any]
):
    client = app.test_client()
    nonce = claims.pop("nonce", None) or nonce_for(client, "google")
    answer = one_tap(client, token(idp, nonce, **claims), "t", "t")
    assert answer.status_code == 400


def test_the_block_renders_g_id_onload_with_fedcm_and_a_nonce(app: Flask):
    body = app.test_client().get("/page").get_data(as_text=True)
    assert 'id="g_id_onload"' in body
    assert 'data-use_fedcm_for_prompt="true"' in body and 'data-use_fedcm_for_button="true"' in body
    assert 'data-callback="socialAuthOneTap"' in body and "data-nonce=" in body
    assert "data-sa-fedcm" in body


def test_fedcm_and_one_tap_settings_are_checked_at_start_up(tmp_path: Path):
    bad = {"corp": {"provider": "oidc", "client_id": "c", "client_secret": "s",
                    "server_metadata_url": "https://i.example/.well-known/openid-configuration",
                    "fedcm": {"config_url": "ftp://nope"}}}
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x" * 32, SOCIAL_AUTH_PROVIDERS=bad,
                      SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'a.sqlite3'}",
                      SOCIAL_AUTH_SITE_URL="http://localhost")
    with pytest.raises(ConfigError, match="fedcm"):
        SocialAuth(app, providers=[OpenIDConnect])


def test_a_verified_email_links_where_the_site_links_by_verified_email(
    tmp_path: Path, idp: FedcmIdP
):
    app = host_app(tmp_path, providers_of(idp), SOCIAL_AUTH_LINK_BY_VERIFIED_EMAIL=True)
    owner = make_commenter(app, display_name="Owner", provider="fakebook",
                           email="fran@idp.example", email_verified=True)
    client = app.test_client()
    answer = fedcm_post(client, token(idp, nonce_for(client, "corp"), sub="fed-2"))
    assert answer.status_code == 200 and answer.json is not None
    assert answer.json["commenter"]["id"] == owner.public_id
