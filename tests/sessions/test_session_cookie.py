"""The commenter cookie: flags, rotation, revocation, expiry, tampering, and its cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import BadSignature
from sqlalchemy import event

from social_auth import get_state
from social_auth.session import SESSION_COOKIE, decode_session
from social_auth.testing import csrf_headers, make_commenter, session_cookie, sign_in_client
from tests.webapp import make_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def set_cookies(response_headers: list[str]) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response_headers}


def whoami(client: FlaskClient) -> str:
    return client.get("/whoami").get_data(as_text=True)


def guest_sign_in(client: FlaskClient, base_url: str = "http://localhost") -> list[str]:
    headers = csrf_headers(client, secure=base_url.startswith("https"))
    response = client.post(
        "/auth/guest",
        data={"name": "Ann", "email": "ann@example.com"},
        headers={**headers, "Accept": "application/json"},
        base_url=base_url,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers.getlist("Set-Cookie")


def test_the_session_cookie_is_httponly_lax_and_small_on_http(client: FlaskClient):
    cookie = set_cookies(guest_sign_in(client))[SESSION_COOKIE]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    assert len(cookie.split(";")[0]) < 1024


def test_on_https_the_cookie_is_secure_and_host_prefixed(client: FlaskClient):
    headers = guest_sign_in(client, base_url="https://localhost")
    cookie = set_cookies(headers)["__Host-" + SESSION_COOKIE]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Domain" not in cookie
    assert whoami_on(client, "https://localhost") != "anonymous"


def whoami_on(client: FlaskClient, base_url: str) -> str:
    return client.get("/whoami", base_url=base_url).get_data(as_text=True)


def test_sign_in_rotates_the_cookie(app: Flask, client: FlaskClient):
    planted_name, planted = session_cookie(app, make_commenter(app, display_name="Mallory"))
    client.set_cookie(planted_name, planted)
    headers = guest_sign_in(client)
    fresh = set_cookies(headers)[SESSION_COOKIE].split(";")[0].split("=", 1)[1]
    assert fresh != planted
    data = decode_session(app, fresh)
    assert data is not None
    with app.app_context():
        commenter = get_state().store.get(data.commenter_id)
    assert commenter is not None and commenter.display_name == "Ann"


def test_a_cookie_copied_before_sign_out_is_anonymous_after_it(app: Flask, client: FlaskClient):
    commenter = sign_in_client(client, display_name="Jane", provider="fakebook")
    copied = client.get_cookie(SESSION_COOKIE)
    assert copied is not None
    assert whoami(client) == commenter.public_id
    response = client.post("/auth/logout", headers=csrf_headers(client))
    assert response.status_code == 302
    assert whoami(client) == "anonymous"
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, copied.value)
    assert whoami(thief) == "anonymous"


def test_idle_sessions_expire(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    app = make_app(tmp_path, SOCIAL_AUTH_SESSION_IDLE=600, SOCIAL_AUTH_SESSION_LIFETIME=86400)
    client = app.test_client()
    clock = FakeClock(monkeypatch)
    commenter = sign_in_client(client, display_name="Idle")
    clock.advance(500)
    assert whoami(client) == commenter.public_id  # seen again: the idle window slides
    clock.advance(500)
    assert whoami(client) == commenter.public_id
    clock.advance(601)
    assert whoami(client) == "anonymous"


def test_sessions_end_after_their_absolute_lifetime(monkeypatch: pytest.MonkeyPatch, tmp_path):
    app = make_app(tmp_path, SOCIAL_AUTH_SESSION_IDLE=600, SOCIAL_AUTH_SESSION_LIFETIME=1500)
    client = app.test_client()
    clock = FakeClock(monkeypatch)
    commenter = sign_in_client(client)
    for _ in range(3):
        clock.advance(450)
        assert whoami(client) == commenter.public_id
    clock.advance(200)  # 1550 s after sign-in, though seen 200 s ago
    assert whoami(client) == "anonymous"


class FakeClock:
    """Moves ``time.time`` forward for the cookie's issue and last-seen checks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import time

        self.now = time.time()
        monkeypatch.setattr("social_auth.session.time.time", lambda: self.now)
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),
        lambda v: "x" + v,
        lambda v: "",
        lambda v: "not-a-cookie",
    ],
    ids=["signature", "payload", "empty", "garbage"],
)
def test_a_tampered_cookie_reads_as_anonymous(app: Flask, client: FlaskClient, mangle):
    sign_in_client(client)
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    client.set_cookie(SESSION_COOKIE, mangle(cookie.value))
    response = client.get("/whoami")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "anonymous"


def test_a_cookie_signed_with_another_key_is_anonymous(app: Flask, tmp_path: Path):
    (tmp_path / "other").mkdir()
    other = make_app(tmp_path / "other", SECRET_KEY="another-secret-key-2")
    name, value = session_cookie(other, make_commenter(app))
    client = app.test_client()
    client.set_cookie(name, value)
    assert whoami(client) == "anonymous"


def test_a_rotated_secret_key_keeps_sessions_through_the_fallbacks(app: Flask):
    client = app.test_client()
    commenter = sign_in_client(client)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "the-new-secret-key"
    assert whoami(client) == commenter.public_id


def test_blocked_merged_and_erased_commenters_are_signed_out(app: Flask):
    store = get_state(app).store
    for action in (store.block, store.erase):
        client = app.test_client()
        commenter = sign_in_client(client)
        action(commenter)
        assert whoami(client) == "anonymous"
    client = app.test_client()
    source = sign_in_client(client)
    store.merge(source, make_commenter(app))
    assert whoami(client) == "anonymous"


def test_an_anonymous_page_view_decodes_nothing_and_queries_nothing(app: Flask):
    statements = count_statements(app)
    response = app.test_client().get("/whoami")
    assert response.get_data(as_text=True) == "anonymous"
    assert statements == []
    assert "Set-Cookie" not in response.headers


def test_a_signed_in_page_view_costs_one_query(app: Flask):
    client = app.test_client()
    sign_in_client(client, provider="fakebook")
    statements = count_statements(app)
    client.get("/whoami")
    queries = [s for s in statements if not s.startswith("PRAGMA data_version")]
    assert len(queries) == 1, statements


def test_on_sqlite_an_unchanged_database_costs_no_query_and_any_commit_one(app: Flask):
    client = app.test_client()
    commenter = sign_in_client(client, provider="fakebook")
    statements = count_statements(app)
    client.get("/whoami")
    statements.clear()
    assert client.get("/whoami").get_data(as_text=True) == commenter.public_id
    assert statements == ["PRAGMA data_version"]
    get_state(app).store.update_guest(commenter, "Renamed", None, None, None)
    statements.clear()
    assert client.get("/auth/me").json["commenter"]["display_name"] == "Renamed"  # type: ignore[index]
    assert len([s for s in statements if s.startswith("SELECT")]) == 1, statements


def count_statements(app: Flask) -> list[str]:
    seen: list[str] = []
    engine = get_state(app).store.engine
    if engine.dialect.name == "sqlite":
        # Counted at the driver: the store's hot paths hand SQL straight to sqlite3's cursor.
        event.listen(engine, "checkout", lambda dbapi, *_: dbapi.set_trace_callback(seen.append))
        event.listen(engine, "checkin", lambda dbapi, *_: dbapi and dbapi.set_trace_callback(None))
    else:
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_signing_in_over_a_stale_cookie_keeps_the_new_session(app: Flask):
    """A callback that first reads an outdated cookie, then signs in on its own response."""
    from flask import make_response

    from social_auth.session import current_commenter, sign_in

    newcomer = make_commenter(app, display_name="New")

    @app.get("/test-sign-in")
    def test_sign_in():
        assert not current_commenter.is_authenticated  # the stale cookie is queued for removal
        response = make_response("signed in")
        sign_in(response, newcomer, newcomer.identities[0])
        return response

    client = app.test_client()
    old = sign_in_client(client)
    get_state(app).store.bump_session_version(old)  # the browser's cookie is now stale
    client.get("/test-sign-in")
    assert whoami(client) == newcomer.public_id
    token = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302


def test_a_page_that_looked_at_the_commenter_varies_on_cookie_once(app: Flask):
    from flask import make_response

    from social_auth.session import current_commenter

    @app.get("/varied")
    def varied():
        response = make_response(str(bool(current_commenter)))
        response.headers["Vary"] = "Accept-Encoding, cookie"
        return response

    client = app.test_client()
    assert client.get("/whoami").headers.getlist("Vary") == ["Cookie"]
    assert client.get("/varied").headers.getlist("Vary") == ["Accept-Encoding, cookie"]
    sign_in_client(client, provider="fakebook")
    assert client.get("/whoami").headers.getlist("Vary") == ["Cookie"]


def test_an_in_memory_sqlite_store_keeps_one_database_for_the_session_reads(tmp_path: Path):
    app = make_app(tmp_path, SOCIAL_AUTH_DATABASE_URI="sqlite://")
    client = app.test_client()
    commenter = sign_in_client(client, provider="fakebook")
    assert whoami(client) == commenter.public_id
    get_state(app).store.block(commenter)
    assert whoami(client) == "anonymous"


@pytest.mark.parametrize(
    "payload",
    [[12345, 3, 1764370000, 1764370000, "github"], [1, 0, 5, 5, None], [7, 2, 9, 9, "é-ünï"],
     "a-csrf-secret-of-forty-three-characters-xyz"],
)
@pytest.mark.parametrize("keys", [["only"], ["old", "new"]])
def test_our_cookie_values_are_itsdangerous_values(payload: object, keys: list[str]):
    from itsdangerous import URLSafeSerializer
    from itsdangerous.encoding import base64_encode

    from social_auth.web.signing import CookieSerializer as _CookieSerializer

    ours, theirs = _CookieSerializer(keys, salt="s"), URLSafeSerializer(keys, salt="s")
    value = ours.dumps(payload)
    uncompressed = base64_encode(theirs.serializer.dumps(payload).encode())
    assert value == theirs.make_signer().sign(uncompressed).decode()
    assert theirs.loads(value) == payload
    assert ours.loads(theirs.dumps(payload)) == payload  # compressed by itsdangerous or not
    remembered = ours.dumps_remembered("s3cret")
    assert remembered == ours.dumps_remembered("s3cret") == ours.dumps("s3cret")
    with pytest.raises(BadSignature):
        URLSafeSerializer(["another"], salt="s").loads(value)
    with pytest.raises(BadSignature):
        URLSafeSerializer(keys, salt="other").loads(value)


def test_our_serializer_reads_itsdangerous_values_under_each_rotated_key():
    from itsdangerous import URLSafeSerializer

    from social_auth.web.signing import CookieSerializer

    ours = CookieSerializer([b"old-key-of-16-bytes", b"new-key-of-16-bytes"], salt="s")
    for key in (b"old-key-of-16-bytes", b"new-key-of-16-bytes"):
        assert ours.loads(URLSafeSerializer(key, salt="s").dumps([1, 2])) == [1, 2]
    newest = URLSafeSerializer(b"new-key-of-16-bytes", salt="s")
    assert newest.loads(ours.dumps([1, 2])) == [1, 2]
    with pytest.raises(BadSignature):
        URLSafeSerializer(b"old-key-of-16-bytes", salt="s").loads(ours.dumps([1, 2]))
    assert ours.loads(ours.dumps([3], salt="t"), salt="t") == [3]
    with pytest.raises(BadSignature):
        ours.loads(ours.dumps([3], salt="t"))


def test_host_routes_get_our_cookie_writes_only_when_they_look_at_the_commenter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    app = make_app(tmp_path, SOCIAL_AUTH_SESSION_IDLE=600, SOCIAL_AUTH_SESSION_LIFETIME=86400)

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    client = app.test_client()
    clock = FakeClock(monkeypatch)
    commenter = sign_in_client(client)
    clock.advance(500)  # the idle window is due to slide on the next page that looks
    untouched = client.get("/plain")
    assert untouched.headers.getlist("Set-Cookie") == []
    assert "Vary" not in untouched.headers
    looked = client.get("/whoami")
    assert looked.get_data(as_text=True) == commenter.public_id
    assert [c for c in looked.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE)]
    assert looked.headers.getlist("Vary") == ["Cookie"]
    get_state(app).store.bump_session_version(commenter)  # the cookie is now stale
    assert client.get("/plain").headers.getlist("Set-Cookie") == []
    stale = client.get("/whoami")
    assert stale.get_data(as_text=True) == "anonymous"
    assert any(c.startswith(f"{SESSION_COOKIE}=;") for c in stale.headers.getlist("Set-Cookie"))
