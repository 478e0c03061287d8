"""Sign in with Bluesky by DID through the real routes, against an atproto-shaped host on
127.0.0.1 (PLC directory, PDS, authorization server): PAR with DPoP and the server's nonce,
our client assertion, ``sub`` and ``iss`` checked; and the hostile answers refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from joserfc.jwk import ECKey

from social_auth.errors import ConfigError
from social_auth.handles.cache import DiscoveryCache

from .atproto_server import DID, AtprotoHost
from .conftest import POST, come_back, consent, handle_app, identities, press
from .dns_server import txt_server

CLIENT_KEY = ECKey.generate_key("P-256", parameters={"kid": "blog-1"})


def bluesky_app(
    tmp_path: Path, host: AtprotoHost, nameserver: str | None = None, **more: Any
) -> Flask:
    options: dict[str, Any] = {
        **more,
        "plc_url": host.plc_url,
        "private_key": CLIENT_KEY.as_dict(private=True),
    }
    if nameserver:
        options["nameservers"] = [nameserver]
    return handle_app(tmp_path, SOCIAL_AUTH_HANDLES={"bluesky": options})


@pytest.fixture
def host() -> Iterator[AtprotoHost]:
    with AtprotoHost(client_key=CLIENT_KEY).running() as running:
        yield running


def sign_in(client, typed: str = DID):
    started = press(client, typed)
    assert started.status_code == 302, started.get_data(as_text=True)
    return come_back(client, consent(started.headers["Location"]))


def test_a_did_signs_in_with_par_dpop_and_our_client_assertion(tmp_path, host):
    client = bluesky_app(tmp_path, host).test_client()
    finished = sign_in(client)
    assert finished.status_code == 302 and finished.headers["Location"].endswith(POST)
    [identity] = identities(client)
    assert identity["provider"] == "bluesky" and identity["subject"] == DID
    assert identity["display_name"] == "Alice Sky" and identity["username"] == "alice.test"
    assert host.par_calls == 2  # the first without the nonce it did not know yet
    assert "My draft" in client.get(POST).get_data(as_text=True)


def test_a_token_for_another_did_is_refused_and_nothing_kept(tmp_path):
    with AtprotoHost(
        client_key=CLIENT_KEY, sub_override="did:plc:zzzzzzzzzzzzzzzzzzzzzzzz"
    ).running() as bad:
        client = bluesky_app(tmp_path, bad).test_client()
        finished = sign_in(client)
    assert finished.status_code == 502
    assert "another account" in finished.get_data(as_text=True)
    assert identities(client) == []


def test_an_issuer_other_than_the_pds_names_is_refused(tmp_path):
    with AtprotoHost(
        client_key=CLIENT_KEY, issuer_override="https://evil.example"
    ).running() as bad:
        answer = press(bluesky_app(tmp_path, bad).test_client(), DID)
    assert answer.status_code == 502
    assert "names another issuer" in answer.get_data(as_text=True)


def test_the_pds_asked_is_the_one_the_did_document_names(tmp_path, host):
    # The document names another PDS (here one that does not answer): that one is asked,
    # never the host that served the document, so nothing is started there.
    with AtprotoHost(client_key=CLIENT_KEY, pds_override="http://127.0.0.1:1").running() as bad:
        answer = press(bluesky_app(tmp_path, bad).test_client(), DID, draft="kept")
    assert answer.status_code in (502, 504)
    assert "kept" in answer.get_data(as_text=True)
    assert bad.par_calls == 0


def test_a_dpop_nonce_loop_is_refused(tmp_path):
    with AtprotoHost(client_key=CLIENT_KEY, nonce_loop=True).running() as looping:
        answer = press(bluesky_app(tmp_path, looping).test_client(), DID)
    assert answer.status_code == 502
    assert "new DPoP nonce" in answer.get_data(as_text=True)
    assert looping.par_calls == 2


def test_our_client_metadata_and_keys_are_served(tmp_path, host):
    client = bluesky_app(tmp_path, host).test_client()
    doc = client.get("/auth/handles/bluesky/client-metadata.json").json
    assert doc["client_id"] == "http://localhost/auth/handles/bluesky/client-metadata.json"
    assert doc["redirect_uris"] == ["http://localhost/auth/callback/bluesky"]
    assert doc["token_endpoint_auth_method"] == "private_key_jwt"
    assert doc["dpop_bound_access_tokens"] is True
    keys = client.get("/auth/handles/bluesky/jwks.json").json["keys"]
    assert keys[0]["kid"] == "blog-1" and "d" not in keys[0]


def test_a_handle_is_resolved_by_its_dns_record_and_confirmed_by_the_did(tmp_path, host):
    with txt_server({"_atproto.alice.test": f"did={DID}"}) as nameserver:
        client = bluesky_app(tmp_path, host, nameserver).test_client()
        finished = sign_in(client, "@alice.test")
    assert finished.status_code == 302
    assert identities(client)[0]["subject"] == DID
    asked = host.par_forms[-1]
    assert asked["login_hint"] == "alice.test"


def test_a_handle_the_did_document_does_not_claim_is_refused(tmp_path, host):
    # mallory.test's DNS names Alice's DID, but Alice's document claims only alice.test.
    with txt_server({"_atproto.mallory.test": f"did={DID}"}) as nameserver:
        client = bluesky_app(tmp_path, host, nameserver).test_client()
        answer = press(client, "@mallory.test")
    assert answer.status_code == 400
    assert "not confirmed by its Bluesky account" in answer.get_data(as_text=True)
    assert host.par_calls == 0


def test_a_second_sign_in_of_the_same_did_uses_the_cached_discovery(tmp_path, host):
    app = bluesky_app(tmp_path, host)
    sign_in(app.test_client())
    after_first = host.discovery_calls
    assert sign_in(app.test_client()).status_code == 302
    assert host.discovery_calls == after_first  # neither the PLC nor the PDS asked again
    assert host.par_calls == 3  # the second PAR knew the nonce already


def test_cached_discoveries_expire_and_are_bounded():
    now = [0.0]
    cache = DiscoveryCache(ttl=300, max_entries=2, clock=lambda: now[0])
    cache.put("a", {"did": "1"})
    now[0] = 299.0
    assert cache.get("a") == {"did": "1"}
    now[0] = 300.0
    assert cache.get("a") is None
    for key in ("b", "c", "d"):
        cache.put(key, {})
    assert len(cache) == 2 and cache.get("b") is None


def test_without_a_client_key_debug_signs_in_as_the_localhost_development_client(tmp_path, host):
    app = handle_app(
        tmp_path,
        DEBUG=True,
        SOCIAL_AUTH_DEV_PROVIDER=False,
        SOCIAL_AUTH_HANDLES={"bluesky": {"plc_url": host.plc_url}},
    )
    client = app.test_client()
    assert sign_in(client).status_code == 302
    client_id = host.par_forms[-1]["client_id"]
    assert client_id.startswith("http://localhost?redirect_uri=")
    assert client.get("/auth/handles/bluesky/client-metadata.json").status_code == 404


def test_without_a_client_key_outside_debug_the_config_is_refused(tmp_path, host):
    with pytest.raises(ConfigError):
        handle_app(tmp_path, SOCIAL_AUTH_HANDLES={"bluesky": {"plc_url": host.plc_url}})


@pytest.mark.parametrize("confirmed", [True, False])
def test_the_email_comes_from_the_pds_verified_only_when_it_says_so(tmp_path, confirmed):
    with AtprotoHost(client_key=CLIENT_KEY, email_confirmed=confirmed).running() as host:
        client = bluesky_app(tmp_path, host, email=True).test_client()
        assert sign_in(client).status_code == 302
        assert host.par_forms[-1]["scope"] == "atproto transition:email"
    [identity] = identities(client)
    assert identity["email"] == "alice@example.com"
    assert identity["email_verified"] is confirmed
