"""Passkey sign-in: our CPU for one (options, then verifying the assertion and signing in),
through the Flask test client, with a software authenticator (ES256, ``cryptography``) answering
the challenge in between; the authenticator's own signing is not counted.

``passkey_signin_app_cpu_ms`` is process CPU per sign-in; the note gives the library's bare
``verify_authentication_response`` on the same kind of assertion, for scale.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from .harness import Context

SITE = "http://localhost"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SoftAuthenticator:
    """One ES256 discoverable credential for ``localhost``, counting its uses."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = b64url(secrets.token_bytes(32))
        self.user_handle = b64url(secrets.token_bytes(32))
        self.count = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def assertion(self, challenge: str) -> dict[str, Any]:
        self.count += 1
        auth_data = hashlib.sha256(b"localhost").digest() + b"\x05" + self.count.to_bytes(4, "big")
        client_data = json.dumps({"type": "webauthn.get", "challenge": challenge,
                                  "origin": SITE, "crossOrigin": False}).encode()
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {"id": self.credential_id, "rawId": self.credential_id, "type": "public-key",
                "clientExtensionResults": {},
                "response": {"authenticatorData": b64url(auth_data),
                             "clientDataJSON": b64url(client_data),
                             "signature": b64url(signature), "userHandle": self.user_handle}}


def make_site(folder: Path, device: SoftAuthenticator) -> Flask:
    from social_auth import Profile, SocialAuth, get_state
    from social_auth.store import Base, Passkey

    app = Flask("bench_passkeys")
    app.config.update(SECRET_KEY="bench-passkeys-secret-key",
                      SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{folder / 'auth.sqlite3'}",
                      SOCIAL_AUTH_SITE_URL=SITE, SOCIAL_AUTH_PROVIDERS={})
    SocialAuth(app, providers=[])
    with app.app_context():
        store = get_state(app).store
        Base.metadata.create_all(store.engine)  # the models' schema, without Alembic's start-up
        commenter, _, _ = store.sign_in(Profile(provider="bench", subject="1", display_name="B"))
        store.add_passkey(commenter, Passkey(
            credential_id=device.credential_id, user_handle=device.user_handle,
            public_key=device.cose_public_key(), sign_count=0, name="bench", transports=[],
            aaguid="", backed_up=False), version=commenter.session_version)
    return app


def run(ctx: Context) -> None:
    device = SoftAuthenticator()
    with tempfile.TemporaryDirectory() as folder:
        app = make_site(Path(folder), device)
        client = app.test_client()
        csrf = client.get("/auth/me").json["csrf_token"]  # type: ignore[index]
        per_round: list[float] = []
        done = 0
        for _ in range(ctx.rounds(7)):
            spent = 0.0
            calls = ctx.calls(40)
            for _ in range(calls):
                started = time.process_time()
                options = client.post("/auth/passkeys/login/options",
                                      headers={"X-CSRF-Token": csrf}).json
                assert options is not None
                challenge = options["publicKey"]["challenge"]
                spent += time.process_time() - started
                credential = device.assertion(challenge)  # the authenticator's part
                # Many readers, each under the per-address limit (which is still counted).
                done += 1
                reader = {"REMOTE_ADDR": f"10.0.{done // 250}.{done % 250}"}
                started = time.process_time()
                answer = client.post("/auth/passkeys/login", json={"credential": credential},
                                     headers={"X-CSRF-Token": csrf}, environ_overrides=reader)
                spent += time.process_time() - started
                assert answer.status_code == 200, answer.get_data(as_text=True)
                csrf = answer.json["csrf_token"]  # type: ignore[index]
            per_round.append(spent / calls * 1000)
    per_round.sort()
    median = per_round[len(per_round) // 2]
    ctx.detail("passkey_signin_app_cpu_ms_rounds", per_round)
    ctx.record("passkey_signin_app_cpu_ms", median, low=per_round[0], high=per_round[-1],
               note="options + verify + sign-in through the test client; process CPU")
