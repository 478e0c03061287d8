"""Each adapter completes a sign-in against a local server speaking its documented endpoints,
and what it returns lands in the identity store."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from social_auth.provider import Profile
from social_auth.store import IdentityStore
from social_auth_providers.facebook import Facebook
from social_auth_providers.github import GitHub

from .conftest import make_fake, make_provider, sign_in

EXPECTED = {
    "wordpress": Profile(
        provider="wordpress",
        subject="12345678",
        display_name="Alex Example",
        email="alex@example.com",
        email_verified=True,
        username="alexexample",
        avatar_url="https://0.gravatar.com/avatar/ab12?s=96&d=identicon",
        profile_url="https://gravatar.com/alexexample",
    ),
    "x": Profile(
        provider="x",
        subject="2244994945",
        display_name="X Dev",
        email="dev@example.com",
        email_verified=True,
        username="XDevelopers",
        avatar_url="https://pbs.twimg.com/profile_images/1/abc_normal.jpg",
        profile_url="https://x.com/XDevelopers",
    ),
    "facebook": Profile(
        provider="facebook",
        subject="10221234567890123",
        display_name="Jane Doe",
        email="jane@example.com",
        email_verified=False,
        avatar_url="https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10221234567890123",
    ),
    "github": Profile(
        provider="github",
        subject="583231",
        display_name="The Octocat",
        email="octocat@github.com",
        email_verified=True,
        username="octocat",
        avatar_url="https://avatars.githubusercontent.com/u/583231?v=4",
        profile_url="https://github.com/octocat",
    ),
    "google": Profile(
        provider="google",
        subject="110169484474386276334",
        display_name="Jane Doe",
        email="jane@example.com",
        email_verified=True,
        avatar_url="https://lh3.googleusercontent.com/a/ACg8ocExample",
    ),
}


@pytest.mark.parametrize("adapter", sorted(EXPECTED))
def test_a_sign_in_completes_and_is_stored(adapter, settings, db: IdentityStore):
    with make_fake(adapter).running() as fake:
        result = sign_in(make_provider(adapter, fake), settings, draft="My comment")
    assert result.profile == EXPECTED[adapter]
    assert (result.next_path, result.draft, result.popup) == ("/posts/1", "My comment", False)
    commenter, identity, created = db.sign_in(result.profile)
    assert created and identity.subject == EXPECTED[adapter].subject
    assert commenter.display_name == EXPECTED[adapter].display_name


@pytest.mark.parametrize("adapter", ["x", "github", "google"])
def test_pkce_s256_is_sent_where_the_provider_accepts_it(adapter, settings):
    with make_fake(adapter).running() as fake:
        sign_in(make_provider(adapter, fake), settings)
    authorize = dict(fake.requests_seen)["authorize"]
    token = dict(fake.requests_seen)["token"]
    assert authorize["code_challenge_method"] == "S256"
    assert len(token["code_verifier"]) >= 43


def test_x_without_a_confirmed_email_gives_no_email(settings):
    fake = make_fake("x")
    user = {k: v for k, v in fake.api["users/me"]["data"].items() if k != "confirmed_email"}
    fake.api["users/me"] = {"data": user}
    with fake.running():
        profile = sign_in(make_provider("x", fake), settings).profile
    assert profile.email is None and not profile.email_verified


def test_github_ignores_unverified_or_secondary_emails(settings):
    fake = make_fake("github")
    fake.api["user/emails"] = [
        {"email": "primary@example.com", "primary": True, "verified": False, "visibility": None},
        {"email": "other@example.com", "primary": False, "verified": True, "visibility": None},
    ]
    with fake.running():
        profile = sign_in(make_provider("github", fake), settings).profile
    assert profile.email is None and not profile.email_verified


def test_github_without_the_emails_grant_still_signs_in(settings):
    fake = make_fake("github")
    del fake.api["user/emails"]  # answers 404
    with fake.running():
        profile = sign_in(make_provider("github", fake), settings).profile
    assert profile.subject == "583231" and profile.email is None


def test_wordpress_verified_account_flag_is_not_an_email_flag(settings):
    fake = make_fake("wordpress")
    fake.api["me"] = dict(fake.api["me"], verified=True, email_verified=False)
    with fake.running():
        profile = sign_in(make_provider("wordpress", fake), settings).profile
    assert profile.email == "alex@example.com" and not profile.email_verified


def test_facebook_graph_version_is_configurable_and_defaults_to_v25():
    default = Facebook("facebook", {"client_id": "a", "client_secret": "b"})
    pinned = Facebook(
        "facebook", {"client_id": "a", "client_secret": "b", "graph_version": "v24.0"}
    )
    assert default.endpoint("authorize_url") == "https://www.facebook.com/v25.0/dialog/oauth"
    assert pinned.endpoint("api_base_url") == "https://graph.facebook.com/v24.0/"


def test_facebook_silhouette_is_not_an_avatar(settings):
    fake = make_fake("facebook")
    original = fake.api["me"]

    def silhouette(req, token):
        body = original(req, token)
        body["picture"]["data"]["is_silhouette"] = True
        return body

    fake.api["me"] = silhouette
    with fake.running():
        profile = sign_in(make_provider("facebook", fake), settings).profile
    assert profile.avatar_url is None


def test_every_adapter_is_an_installed_entry_point():
    names = {ep.name for ep in entry_points(group="social_auth.providers")}
    assert names >= {"wordpress", "google", "twitter", "x", "facebook", "github", "oidc", "dev"}
    github = next(ep for ep in entry_points(group="social_auth.providers") if ep.name == "github")
    assert github.load() is GitHub


def test_one_transport_per_provider_instance_and_no_cookie_carried_between_visitors(settings):
    fake = make_fake("github")
    fake.set_cookie = "provider_session=visitor-a; Path=/"
    with fake.running():
        provider = make_provider("github", fake)
        first = provider.http
        sign_in(provider, settings)
        sign_in(provider, settings)
        assert provider.http is first
    calls = [(path, headers) for path, headers, _ in fake.headers_seen if path != "/authorize"]
    assert [path for path, _ in calls] == ["/token", "/api/user", "/api/user/emails"] * 2
    assert all("Cookie" not in headers for _, headers in calls)
