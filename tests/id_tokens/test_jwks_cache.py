"""How long an issuer's keys are trusted: as long as the key set's ``Cache-Control`` says, a
bounded default without one, never less than a floor nor more than a cap; once that time is up
a key the issuer withdrew stops verifying. The lifetimes are lowered by configuring a subclass
of the adapter, as a site could, so nothing here waits for minutes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from social_auth.errors import ProviderError
from social_auth.provider import JWKS_MAX_AGE_CAP, JWKS_MAX_AGE_DEFAULT, JWKS_MAX_AGE_FLOOR
from social_auth_providers.oidc import OpenIDConnect
from tests.id_tokens.test_id_token_checks import NONCE, oidc
from tests.providers.conftest import make_fake
from tests.providers.servers import FakeProvider, signing_key


class Uncached(OpenIDConnect):
    """Keys fresh for no time at all unless the key set says otherwise: every use refetches."""

    jwks_max_age_default = 0.0
    jwks_max_age_floor = 0.0


class TrustsMaxAge(OpenIDConnect):
    """A default and a floor of a day: only a key set's own max-age makes it refetch sooner."""

    jwks_max_age_default = 86400.0
    jwks_max_age_floor = 0.0


class CappedAtNothing(Uncached):
    jwks_max_age_cap = 0.0


@pytest.fixture
def issuer() -> Iterator[FakeProvider]:
    with make_fake("google").running() as fake:
        yield fake


def withdraw_k1_and_sign_with_it(issuer: FakeProvider) -> str:
    """The issuer stops publishing k1 (compromised, say) while a token signed with it exists."""
    issuer.keys[:] = [signing_key("k2")]
    return issuer.make_id_token(nonce=NONCE, key=signing_key("k1"))


def still_verifies(provider: Any, token: str) -> bool:
    try:
        provider.validate_id_token(token, NONCE)
    except ProviderError as exc:
        assert "signature" in exc.message
        return False
    return True


def test_the_shipped_lifetimes_are_an_hour_a_minute_and_a_day():
    assert (JWKS_MAX_AGE_DEFAULT, JWKS_MAX_AGE_FLOOR, JWKS_MAX_AGE_CAP) == (3600, 60, 86400)
    assert (OpenIDConnect.jwks_max_age_default, OpenIDConnect.jwks_max_age_cap) == (3600, 86400)


def test_a_withdrawn_key_stops_verifying_once_the_default_lifetime_is_up(issuer):
    provider = oidc(issuer, Uncached)
    assert still_verifies(provider, issuer.make_id_token(nonce=NONCE))
    assert not still_verifies(provider, withdraw_k1_and_sign_with_it(issuer))
    assert issuer.jwks_fetches == 2  # no unknown kid asked for it: the keys had expired


@pytest.mark.parametrize(
    ("headers", "verifies"),
    [
        ({"Cache-Control": "public, max-age=0, must-revalidate"}, False),
        ({"Cache-Control": "no-store"}, False),
        ({"Cache-Control": "no-cache"}, False),
        ({"Cache-Control": "max-age=600", "Age": "600"}, False),  # a cache held it 10 min
        ({"Cache-Control": "max-age=600", "Age": "599"}, True),
        ({"Cache-Control": "max-age=3600"}, True),
    ],
)
def test_the_key_sets_own_cache_control_decides_how_long_its_keys_verify(
    issuer, headers, verifies
):
    issuer.jwks_headers = headers
    provider = oidc(issuer, TrustsMaxAge)
    assert still_verifies(provider, issuer.make_id_token(nonce=NONCE))
    assert still_verifies(provider, withdraw_k1_and_sign_with_it(issuer)) is verifies
    assert issuer.jwks_fetches == (1 if verifies else 2)


def test_without_cache_control_the_default_keeps_the_keys(issuer):
    provider = oidc(issuer, TrustsMaxAge)
    assert still_verifies(provider, issuer.make_id_token(nonce=NONCE))
    assert still_verifies(provider, withdraw_k1_and_sign_with_it(issuer))
    assert issuer.jwks_fetches == 1


@pytest.mark.parametrize("control", ["no-store", "max-age=0"])
def test_the_floor_stops_an_issuer_that_forbids_caching_from_costing_a_fetch_per_sign_in(
    issuer, control
):
    issuer.jwks_headers = {"Cache-Control": control}
    provider = oidc(issuer)  # the shipped floor of a minute
    for _ in range(3):
        assert still_verifies(provider, issuer.make_id_token(nonce=NONCE))
    assert issuer.jwks_fetches == 1


def test_the_cap_bounds_a_max_age_of_a_year(issuer):
    issuer.jwks_headers = {"Cache-Control": "max-age=31536000"}
    provider = oidc(issuer, CappedAtNothing)
    assert still_verifies(provider, issuer.make_id_token(nonce=NONCE))
    assert not still_verifies(provider, withdraw_k1_and_sign_with_it(issuer))


def test_expired_keys_are_not_used_when_the_refetch_fails(issuer):
    provider = oidc(issuer, Uncached)
    token = issuer.make_id_token(nonce=NONCE)
    assert still_verifies(provider, token)
    issuer.faults["jwks"] = "500"
    with pytest.raises(ProviderError, match="HTTP 500") as info:
        provider.validate_id_token(token, NONCE)
    assert info.value.status == 502
    del issuer.faults["jwks"]
    assert still_verifies(provider, token)  # back as soon as the issuer is
