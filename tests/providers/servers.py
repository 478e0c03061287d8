"""Local stand-ins for the providers: real HTTP on 127.0.0.1, documented endpoints and payloads.

``FakeProvider`` is an OAuth 2.0 / OpenID Connect authorization server that checks what a
client must send (client authentication, redirect_uri, PKCE S256) and can be told to fail in
the ways real providers fail (``faults``). ``Trickle`` is a bare socket server that sends one
fixed answer a byte at a time, status line and headers included (what no WSGI server can do).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import requests
from flask import Flask, Response, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

PAYLOADS = Path(__file__).parent / "payloads"
CALLBACK_BASE = "https://blog.example/auth/callback/"
#: The ``huge`` fault's answer: 64 MiB, streamed without a Content-Length.
HUGE_BYTES = 64 * 1024 * 1024
#: The ``nested`` fault's answer: a JSON text 100,000 arrays deep (valid JSON had it been closed).
NESTED_JSON = "[" * 100_000


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@contextmanager
def serve(app: Any, ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Run a WSGI app on an ephemeral loopback port for the duration of the block (over TLS
    with ``ssl_context``)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if ssl_context else "http"
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


class _SetLater:
    """A WSGI app given to the server before the real one exists (``serve_site``)."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@contextmanager
def serve_site(build: Callable[[str], Flask], host: str = "127.0.0.1") -> Iterator[tuple[Any, str]]:
    """Serve the app ``build(address)`` makes on an ephemeral port: the app knows its own
    address (``SOCIAL_AUTH_SITE_URL``) before it answers anything. Yields (app, address)."""
    later = _SetLater()
    server = make_server(host, 0, later, threaded=True)
    address = f"http://{host}:{server.server_port}"
    later.app = build(address)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield later.app, address
    finally:
        server.shutdown()
        thread.join(5)


def consent(authorization_url: str) -> dict[str, str]:
    """What a browser does: follow the authorization URL; the provider redirects to the callback.
    Returns the callback's query parameters."""
    response = requests.get(authorization_url, allow_redirects=False, timeout=5)
    assert response.status_code in (302, 303), response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK_BASE), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


_KEYS: dict[str, RSAKey] = {}


def signing_key(kid: str = "k1") -> RSAKey:
    """RSA keys are slow to make: one per kid for the whole session."""
    if kid not in _KEYS:
        _KEYS[kid] = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})
    return _KEYS[kid]


@dataclass
class FakeProvider:
    """An authorization server speaking one provider's endpoints."""

    client_id: str = "client-1"
    client_secret: str = "secret-1"
    auth_method: str = "client_secret_basic"  # or client_secret_post, none
    pkce_required: bool = True
    #: RFC 9207 ``iss`` to add to the callback (GitHub, Google), or None.
    response_iss: str | None = None
    #: OIDC: claims for the ID token beyond iss/aud/exp/iat/nonce (None: plain OAuth 2.0).
    id_token_claims: dict[str, Any] | None = None
    #: Lets a test rewrite the ID token's claims and header before signing.
    id_token_hook: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
    userinfo: dict[str, Any] | None = None
    #: API routes (path -> JSON payload or a function of the request returning one).
    api: dict[str, Any] = field(default_factory=dict)
    #: "deny" answers the authorize request with error=access_denied.
    decision: str = "approve"
    #: stage ("token", "api") -> "500" | "html" | "malformed" | "slow" | "no_token" | "error"
    #: | "redirect" | "nested" | "huge".
    faults: dict[str, str] = field(default_factory=dict)
    token_extra: dict[str, Any] = field(default_factory=dict)
    #: An ID token to hand out instead of a fresh one (a replayed token).
    id_token_override: str | None = None
    discovery_extra: dict[str, Any] = field(default_factory=dict)
    issued_id_tokens: list[str] = field(default_factory=list)
    base_url: str = ""
    keys: list[RSAKey] = field(default_factory=lambda: [signing_key("k1")])
    jwks_fetches: int = 0
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests_seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: Every request: (path, its headers, the client's port: one port means one connection).
    headers_seen: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    #: A ``Set-Cookie`` value every answer carries (a provider setting a session cookie).
    set_cookie: str | None = None
    #: TLS for the server (``https://`` URLs); None serves plain HTTP.
    ssl_context: ssl.SSLContext | None = None
    #: Headers the JWKS answer carries (``Cache-Control``, ``Age``).
    jwks_headers: dict[str, str] = field(default_factory=dict)
    #: How much of a ``huge`` answer the client took before it hung up.
    huge_bytes_sent: int = 0

    def app(self) -> Flask:
        app = Flask(__name__)

        @app.before_request
        def record() -> None:
            port = int(request.environ.get("REMOTE_PORT") or 0)
            self.headers_seen.append((request.path, dict(request.headers), port))

        @app.after_request
        def cookie(response: Response) -> Response:
            if self.set_cookie:
                response.headers["Set-Cookie"] = self.set_cookie
            return response

        app.add_url_rule("/elsewhere", view_func=self.elsewhere, methods=["GET", "POST"])
        app.add_url_rule("/authorize", view_func=self.authorize)
        app.add_url_rule("/token", view_func=self.token, methods=["POST"])
        app.add_url_rule("/.well-known/openid-configuration", view_func=self.discovery)
        app.add_url_rule("/jwks", view_func=self.jwks)
        app.add_url_rule("/userinfo", view_func=self.userinfo_view)
        app.add_url_rule("/api/<path:path>", view_func=self.api_view)
        return app

    @contextmanager
    def running(self) -> Iterator[FakeProvider]:
        with serve(self.app(), self.ssl_context) as url:
            self.base_url = url
            yield self

    # -- endpoints ------------------------------------------------------------------------

    def discovery(self) -> Response:
        return jsonify(
            issuer=self.base_url,
            authorization_endpoint=f"{self.base_url}/authorize",
            token_endpoint=f"{self.base_url}/token",
            userinfo_endpoint=f"{self.base_url}/userinfo",
            jwks_uri=f"{self.base_url}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
            **self.discovery_extra,
        )

    def jwks(self) -> Response:
        self.jwks_fetches += 1
        if self.faults.get("jwks"):
            return self.fail(self.faults["jwks"])
        response = jsonify(KeySet(list(self.keys)).as_dict(private=False))
        response.headers.update(self.jwks_headers)
        return response

    def authorize(self) -> Response:
        args = request.args.to_dict()
        self.requests_seen.append(("authorize", args))
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            abort(400)
        redirect_uri = args["redirect_uri"]
        params = {"state": args.get("state", "")}
        if self.response_iss:
            params["iss"] = self.response_iss
        if self.decision == "deny":
            params["error"] = "access_denied"
        else:
            challenge = args.get("code_challenge")
            if self.pkce_required and (not challenge or args["code_challenge_method"] != "S256"):
                abort(400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "redirect_uri": redirect_uri,
                "challenge": challenge,
                "nonce": args.get("nonce"),
            }
            params["code"] = code
        return redirect(f"{redirect_uri}?{urlencode(params)}")

    def token(self) -> Response | tuple[Response, int]:
        form = request.form.to_dict()
        self.requests_seen.append(("token", form))
        fault = self.faults.get("token")
        if fault:
            return self.fail(fault)
        if not self.client_authenticated(form):
            return jsonify(error="invalid_client"), 401
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return jsonify(error="invalid_grant"), 400
        if grant["challenge"] and s256(form.get("code_verifier", "")) != grant["challenge"]:
            return jsonify(error="invalid_grant", error_description="PKCE verification failed"), 400
        access_token = secrets.token_urlsafe(16)
        self.tokens[access_token] = grant
        body: dict[str, Any] = {"access_token": access_token, "token_type": "bearer"}
        body.update(self.token_extra)
        if self.id_token_claims is not None:
            body["id_token"] = self.id_token_override or self.make_id_token(
                nonce=grant["nonce"], access_token=access_token
            )
            self.issued_id_tokens.append(body["id_token"])
        return jsonify(body)

    def elsewhere(self) -> Response:
        """Where the ``redirect`` fault points: nothing must ever arrive here."""
        self.requests_seen.append(("elsewhere", request.form.to_dict()))
        return jsonify(access_token="stolen", token_type="bearer")

    def client_authenticated(self, form: dict[str, str]) -> bool:
        if self.auth_method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts are form-urlencoded inside the Basic credentials.
            auth = request.authorization
            return bool(
                auth
                and "client_secret" not in form
                and unquote_plus(auth.username or "") == self.client_id
                and unquote_plus(auth.password or "") == self.client_secret
            )
        if request.authorization is not None:
            return False  # credentials in two places (RFC 6749 §2.3.1: only one method)
        if self.auth_method == "client_secret_post":
            return (form.get("client_id"), form.get("client_secret")) == (
                self.client_id,
                self.client_secret,
            )
        return form.get("client_id") == self.client_id and "client_secret" not in form

    def bearer(self) -> str:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        if token not in self.tokens:
            abort(401)
        return token

    def userinfo_view(self) -> Response | tuple[Response, int]:
        self.bearer()
        return jsonify(self.userinfo or {})

    def api_view(self, path: str) -> Any:
        token = self.bearer()
        fault = self.faults.get("api")
        if fault:
            return self.fail(fault)
        if path not in self.api:
            abort(404)
        answer = self.api[path]
        body = answer(request, token) if callable(answer) else answer
        if isinstance(body, Response):
            return body
        return Response(json.dumps(body), mimetype="application/json")

    def fail(self, fault: str) -> Any:
        if fault == "500":
            return Response("upstream exploded", status=500)
        if fault == "503":
            return Response("<html>maintenance</html>", status=503, mimetype="text/html")
        if fault == "html":
            return Response("<html><body>Please log in</body></html>", mimetype="text/html")
        if fault == "malformed":
            return Response('{"access_token": "abc", ', mimetype="application/json")
        if fault == "slow":
            time.sleep(1.0)
            return jsonify(access_token="late", token_type="bearer")
        if fault == "no_token":
            return jsonify(token_type="bearer", scope="read:user")
        if fault == "redirect":  # a token endpoint moved, or hijacked: never to be followed
            return redirect(f"{self.base_url}/elsewhere", code=307)
        if fault == "error":
            # GitHub answers token errors with HTTP 200 and an error key.
            return jsonify(error="bad_verification_code", error_description="The code is wrong")
        if fault == "nested":
            return Response(NESTED_JSON, mimetype="application/json")
        if fault == "huge":
            return Response(self.huge_answer(), mimetype="application/json")
        raise AssertionError(fault)

    def huge_answer(self) -> Iterator[bytes]:
        """A token response with a 64 MiB access token, counting what was taken."""
        block = b"a" * (64 * 1024)
        yield b'{"token_type": "bearer", "access_token": "'
        for _ in range(HUGE_BYTES // len(block)):
            yield block
            self.huge_bytes_sent += len(block)  # the previous block was written
        yield b'"}'

    # -- ID tokens ------------------------------------------------------------------------

    def make_id_token(
        self, *, nonce: str | None, key: RSAKey | None = None, access_token: str | None = None
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.base_url,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            **(self.id_token_claims or {}),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if "at_hash" in claims and access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()[:16]
            claims["at_hash"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        signer = key or self.keys[0]
        header: dict[str, Any] = {"alg": "RS256", "kid": signer.kid}
        if self.id_token_hook:
            self.id_token_hook(header, claims)
        return jwt.encode(header, claims, signer, algorithms=[header["alg"]])


def http_answer(body: bytes, content_type: str = "application/json") -> bytes:
    """A complete HTTP/1.1 answer with ``body``, as bytes on the wire."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}"
    return f"{head}\r\n\r\n".encode() + body


@dataclass
class Trickle:
    """A bare HTTP/1.1 server answering every request with ``answer``: its first ``fast`` bytes
    at once, then one byte every ``delay`` seconds (``fast=0`` trickles the status line and
    headers too). Connections are kept alive unless ``hang_up``; ``slow`` names the requests
    (1, 2, … in arrival order) that trickle, the others get the answer at once."""

    answer: bytes
    fast: int = 0
    delay: float = 0.25
    slow: frozenset[int] | None = None  # None: every request
    hang_up: bool = False
    ssl_context: ssl.SSLContext | None = None
    #: Connections accepted, requests read, answers got out whole before the client hung up.
    connections: int = 0
    requests: int = 0
    answered: int = 0

    @contextmanager
    def running(self) -> Iterator[str]:
        stopped = threading.Event()
        trickle = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                trickle.connections += 1
                sock: socket.socket = self.request
                try:
                    if trickle.ssl_context:
                        sock = trickle.ssl_context.wrap_socket(sock, server_side=True)
                    self.answer(sock)
                except (OSError, EOFError):
                    pass  # the client hung up
                finally:
                    sock.close()

            def answer(self, sock: socket.socket) -> None:
                pending = b""
                while not stopped.is_set():
                    pending = read_request(sock, pending)
                    trickle.requests += 1
                    slow = trickle.slow is None or trickle.requests in trickle.slow
                    fast = trickle.fast if slow else len(trickle.answer)
                    sock.sendall(trickle.answer[:fast])
                    for i in range(fast, len(trickle.answer)):
                        if stopped.wait(trickle.delay):
                            return
                        sock.sendall(trickle.answer[i : i + 1])
                    trickle.answered += 1
                    if trickle.hang_up:
                        return

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            scheme = "https" if self.ssl_context else "http"
            yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
        finally:
            stopped.set()
            server.shutdown()
            server.server_close()
            thread.join()


def read_request(sock: socket.socket, pending: bytes) -> bytes:
    """Read one request (head and Content-Length body) off ``sock``; what follows it."""
    while b"\r\n\r\n" not in pending:
        pending += receive(sock)
    head, _, pending = pending.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:[ \t]*([0-9]+)", head)
    need = int(length[1]) if length else 0
    while len(pending) < need:
        pending += receive(sock)
    return pending[need:]


def receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise EOFError("the client hung up")
    return chunk
