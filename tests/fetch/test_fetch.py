"""The safe fetcher against a real server on 127.0.0.1 (the address rule lifted, as tests
do with ``SOCIAL_AUTH_FETCH_ALLOW_PRIVATE``): answers, redirects, the size cap, the one
deadline, and TLS checked against the name while the connection goes to the checked address."""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path

import pytest

from social_auth import get_state
from social_auth.errors import ConfigError, FetchRefused
from social_auth.fetch import SafeFetcher, fetcher_from_config
from tests.providers.proxy import LocalCA
from tests.providers.servers import Trickle, http_answer, serve
from tests.webapp import make_app

from .conftest import Names
from .servers import HUGE_BYTES, Site

LOCAL = SafeFetcher(allow_private=True)


def test_an_answer_comes_back_with_lower_cased_headers(site):
    _, base = site
    fetched = LOCAL.get(f"{base}/ok")
    assert fetched.ok and fetched.status == 200
    assert json.loads(fetched.body) == {"hello": "world"}
    assert fetched.headers["x-thing"] == "yes"
    assert fetched.headers["content-type"] == "application/json"
    # Repeated headers (two Link headers) are joined, none lost.
    assert fetched.headers["link"].count("rel=") == 2
    assert fetched.url == f"{base}/ok"


def test_an_error_status_is_returned_for_the_caller_to_judge(site):
    _, base = site
    fetched = LOCAL.get(f"{base}/missing")
    assert fetched.status == 404 and not fetched.ok and fetched.body == b"not here"


def test_redirects_are_followed_and_the_final_url_is_kept(site):
    local, base = site
    fetched = LOCAL.get(f"{base}/chain/3")
    assert json.loads(fetched.body) == {"end": True}
    assert fetched.url == f"{base}/chain/0"
    assert [path for path, _ in local.seen] == ["/chain/3", "/chain/2", "/chain/1", "/chain/0"]


def test_more_redirects_than_allowed_are_refused(site):
    local, base = site
    with pytest.raises(FetchRefused) as refused:
        LOCAL.get(f"{base}/chain/4")
    assert refused.value.reason == "redirects" and refused.value.status == 502
    assert len(local.seen) == 4  # the first request and three redirects, no fifth


def test_a_post_sends_a_form_and_never_follows_a_redirect(site):
    local, base = site
    echoed = LOCAL.post(f"{base}/echo", data={"a": "1", "b": "two words"})
    assert json.loads(echoed.body) == {
        "form": {"a": "1", "b": "two words"},
        "type": "application/x-www-form-urlencoded",
    }
    moved = LOCAL.post(f"{base}/moved", data={"secret": "s"})
    assert moved.status == 307
    assert [path for path, _ in local.seen][-1] == "/moved"


def test_an_answer_past_the_size_cap_is_cut_off(site):
    local, base = site
    with pytest.raises(FetchRefused) as refused:
        LOCAL.get(f"{base}/huge")
    assert refused.value.reason == "too_large" and refused.value.status == 502
    # Refused as it passed the cap (1 MiB), far from the 50 MB the server would have sent
    # (what it sent beyond is what the loopback socket buffers took before the hang-up).
    assert local.huge_sent < HUGE_BYTES // 2


def test_a_smaller_cap_per_call_applies(site):
    _, base = site
    with pytest.raises(FetchRefused) as refused:
        LOCAL.get(f"{base}/ok", max_bytes=5)
    assert refused.value.reason == "too_large"


def test_an_endlessly_slow_answer_is_cut_at_the_deadline():
    body = b'{"a": "' + b"x" * 200 + b'"}'
    trickle = Trickle(http_answer(body), fast=20, delay=0.05)
    with trickle.running() as url, pytest.raises(FetchRefused) as refused:
        LOCAL.get(f"{url}/slow", deadline=0.5)
    assert refused.value.reason == "too_slow" and refused.value.status == 504


def test_the_deadline_covers_all_the_redirects_together():
    # Each hop answers in well under the deadline; together they pass it.
    hop = b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"
    with Trickle(hop, fast=0, delay=0.004).running() as url:
        fetcher = SafeFetcher(allow_private=True, max_redirects=50)
        with pytest.raises(FetchRefused) as refused:
            fetcher.get(f"{url}/first", deadline=1.0)
    assert refused.value.reason == "too_slow"


def test_a_server_that_refuses_connections_is_unreachable():
    with serve(Site().app()) as url:
        pass  # stopped: nothing listens on that port any more
    with pytest.raises(FetchRefused) as refused:
        LOCAL.get(f"{url}/ok")
    assert refused.value.reason == "unreachable"


def test_the_connection_goes_to_the_checked_address_and_the_name_is_looked_up_once(site):
    local, base = site
    port = base.rsplit(":", 1)[1]
    # "rebind.test" exists only in the fetcher's table: had anything looked it up again (or
    # connected by name), the fetch would have failed.
    fetcher = Names({"rebind.test": [ipaddress.ip_address("127.0.0.1")]}, allow_private=True)
    fetched = fetcher.get(f"http://rebind.test:{port}/ok")
    assert fetched.ok
    assert fetcher.lookups == ["rebind.test"]
    assert local.seen[-1] == ("/ok", f"rebind.test:{port}")


def test_tls_is_checked_against_the_name_not_the_pinned_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ca = LocalCA(tmp_path)  # a certificate for localhost and 127.0.0.1
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.ca_file))
    with serve(Site().app(), ca.server_context()) as url:
        port = url.rsplit(":", 1)[1]
        assert SafeFetcher(allow_private=True).get(f"https://localhost:{port}/ok").ok
        # The same server and address under a name its certificate does not carry.
        fetcher = Names({"rebind.test": [ipaddress.ip_address("127.0.0.1")]}, allow_private=True)
        with pytest.raises(FetchRefused) as refused:
            fetcher.get(f"https://rebind.test:{port}/ok")
    assert refused.value.reason == "unreachable"


def test_the_setting_is_off_by_default_and_warns_when_on(caplog: pytest.LogCaptureFixture):
    assert fetcher_from_config({}).allow_private is False
    with caplog.at_level(logging.WARNING, logger="social_auth"):
        assert fetcher_from_config({"SOCIAL_AUTH_FETCH_ALLOW_PRIVATE": True}).allow_private
    assert "SOCIAL_AUTH_FETCH_ALLOW_PRIVATE is on" in caplog.text
    with pytest.raises(ConfigError):
        fetcher_from_config({"SOCIAL_AUTH_FETCH_ALLOW_PRIVATE": "yes"})


def test_the_app_state_carries_the_fetcher_the_config_asks_for(tmp_path: Path):
    strict = get_state(make_app(tmp_path))
    assert strict.fetcher.allow_private is False
    (tmp_path / "b").mkdir()
    relaxed = get_state(make_app(tmp_path / "b", SOCIAL_AUTH_FETCH_ALLOW_PRIVATE=True))
    assert relaxed.fetcher.allow_private is True
    strict.store.engine.dispose()
    relaxed.store.engine.dispose()


def test_a_get_carrying_a_token_can_refuse_to_follow_redirects(site):
    local, base = site
    fetched = LOCAL.get(f"{base}/chain/2", follow_redirects=False)
    assert fetched.status == 302 and fetched.headers["location"].endswith("/chain/1")
    assert [path for path, _ in local.seen] == ["/chain/2"]
