"""Sign in with Bluesky (AT Protocol OAuth): a handle or a DID.

Handle → DID (DNS TXT ``_atproto.<handle>``, then ``https://<handle>/.well-known/atproto-did``),
DID → document (the PLC directory, or ``did:web``'s ``/.well-known/did.json``), which must
claim the handle typed; its ``#atproto_pds`` service is the PDS, whose protected-resource
metadata names the authorization server, whose metadata ``issuer`` must be that server's
origin. The request is pushed (PAR) with PKCE S256, a DPoP proof (ES256) and our client
assertion (``private_key_jwt``); the server's DPoP nonce is taken once, a second demand is a
loop and refused. The token's ``sub`` must be the DID we resolved, and the callback's ``iss``
the issuer (``flow``). The DPoP key of a sign-in is derived from the site's secret and the
sign-in's state, so neither the cookie nor the server's memory holds it. Subject: the DID.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey

from ..errors import FetchRefused, InvalidInput, ProviderError
from ..fetch import Fetched, SafeFetcher
from ..profile import Capabilities, Profile
from ..provider import AuthorizationRequest, decode_json
from .cache import DiscoveryCache
from .discovered import Discovered

NAME = "bluesky"
PLC_DIRECTORY = "https://plc.directory"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _json(fetched: Fetched) -> Any:
    return _body(fetched) if fetched.status == 200 else None


def _body(fetched: Fetched) -> Any:
    try:
        return decode_json(fetched.body)
    except ValueError:
        return None


def _fail(problem: str) -> ProviderError:
    return ProviderError(NAME, f"Bluesky sign-in failed: {problem}.")


def resolve_handle(
    fetcher: SafeFetcher, handle: str, scheme: str, nameservers: tuple[str, ...] = ()
) -> str:
    """The DID a handle names: its DNS TXT record, else its ``/.well-known/atproto-did``.
    ``nameservers`` (``"host"`` or ``"host:port"``) replace the system's resolvers."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        host, _, port = nameservers[0].partition(":")
        resolver.nameservers, resolver.port = [host], int(port or 53)
    try:
        answer = resolver.resolve(f"_atproto.{handle}", "TXT", lifetime=fetcher.deadline)
        for record in answer:
            text = b"".join(record.strings).decode("ascii", "replace")
            if text.startswith("did="):
                return text[4:]
    except dns.exception.DNSException:
        pass  # no record, or no answer in time: the HTTPS way is tried next
    try:
        fetched = fetcher.get(f"{scheme}://{handle}/.well-known/atproto-did")
        did = fetched.body.decode("ascii", "replace").strip() if fetched.ok else ""
    except FetchRefused:
        did = ""
    if not did.startswith("did:"):
        raise InvalidInput("handle", f"@{handle} is not a Bluesky handle (no DID found).")
    return did


def did_document(fetcher: SafeFetcher, did: str, plc_url: str, scheme: str) -> dict[str, Any]:
    if did.startswith("did:plc:"):
        url = f"{plc_url.rstrip('/')}/{did}"
    elif did.startswith("did:web:"):
        url = f"{scheme}://{did[8:].replace('%3A', ':')}/.well-known/did.json"
    else:
        raise InvalidInput("handle", "Only did:plc and did:web identities can sign in.")
    doc = _json(fetcher.get(url, headers={"Accept": "application/json"}))
    if not isinstance(doc, dict) or doc.get("id") != did:
        raise InvalidInput("handle", f"{did} could not be resolved.")
    return doc


def pds_of(doc: Mapping[str, Any]) -> str:
    for service in doc.get("service") or []:
        if (
            isinstance(service, dict)
            and str(service.get("id", "")).endswith("#atproto_pds")
            and service.get("type") == "AtprotoPersonalDataServer"
            and isinstance(service.get("serviceEndpoint"), str)
        ):
            return str(service["serviceEndpoint"]).rstrip("/")
    raise _fail("the account names no PDS")


def handles_of(doc: Mapping[str, Any]) -> list[str]:
    aka = doc.get("alsoKnownAs") or []
    return [a[5:].lower() for a in aka if isinstance(a, str) and a.startswith("at://")]


def authorization_server(fetcher: SafeFetcher, pds: str) -> dict[str, Any]:
    """The PDS's authorization server metadata, its ``issuer`` checked against its origin."""
    resource = _json(fetcher.get(f"{pds}/.well-known/oauth-protected-resource"))
    servers = resource.get("authorization_servers") if isinstance(resource, dict) else None
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
        raise _fail("the PDS names no authorization server")
    issuer = servers[0].rstrip("/")
    meta = _json(fetcher.get(f"{issuer}/.well-known/oauth-authorization-server"))
    if not isinstance(meta, dict) or meta.get("issuer") != issuer:
        raise _fail("the authorization server names another issuer than the PDS does")
    needed = ("pushed_authorization_request_endpoint", "authorization_endpoint", "token_endpoint")
    if not all(isinstance(meta.get(k), str) for k in needed):
        raise _fail("the authorization server's metadata is incomplete")
    return meta


class Bluesky(Discovered):
    """One Bluesky sign-in; settings: ``did``, ``handle``, ``pds``, ``issuer``, endpoints."""

    name = NAME
    title = "Bluesky"
    protocol = "oauth2"
    scope = "atproto"
    optional_settings: ClassVar[tuple[str, ...]] = (
        *Discovered.optional_settings,
        "did",
        "handle",
        "pds",
        "par_endpoint",
        "login_hint",
        "dpop_nonce",
    )
    capabilities: ClassVar[Capabilities] = Capabilities(returns_email=False, email_verified="never")
    #: Set by the web layer: our client key (a private ES256 JWK) and the site's secret.
    client_key: ECKey | None = None
    secret: bytes = b""
    #: Where the servers' latest DPoP nonces are kept between sign-ins (``start``).
    nonces: DiscoveryCache | None = None

    def expected_response_issuer(self) -> tuple[str, bool]:
        return str(self.settings.get("issuer", "")), True

    def dpop_key(self, state: str) -> ECKey:
        """This sign-in's DPoP key, the same at start and callback, known only to the site."""
        seed = hmac.new(self.secret, f"dpop:{state}".encode(), hashlib.sha256).digest()
        scalar = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
        return ECKey.import_key(ec.derive_private_key(scalar, ec.SECP256R1()))

    def _proof(self, key: ECKey, method: str, url: str, nonce: str | None, token: str = "") -> str:
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if nonce:
            claims["nonce"] = nonce
        if token:  # RFC 9449 §4.2: a resource request names the token it carries
            digest = hashlib.sha256(token.encode()).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return jwt.encode(header, claims, key, algorithms=["ES256"])

    def _assertion(self) -> str:
        if self.client_key is None:
            raise _fail("this site has no Bluesky client key")
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": str(self.settings["issuer"]),
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        header = {"alg": "ES256", "kid": self.client_key.kid}
        return jwt.encode(header, claims, self.client_key, algorithms=["ES256"])

    def _post(self, url: str, form: dict[str, str], key: ECKey) -> tuple[Fetched, Any]:
        """POST with DPoP; one ``use_dpop_nonce`` demand is met, a second is a loop."""
        nonce = str(self.settings.get("dpop_nonce") or "") or None
        for _ in range(2):
            if self.client_key is not None:  # a confidential client; else the dev client
                form.update(
                    client_assertion_type=ASSERTION_TYPE, client_assertion=self._assertion()
                )
            headers = {"DPoP": self._proof(key, "POST", url, nonce), "Accept": "application/json"}
            fetched = self.fetcher.post(url, data=form, headers=headers, deadline=self.timeout)
            body = _body(fetched)
            fresh = fetched.headers.get("dpop-nonce")
            wants_nonce = isinstance(body, dict) and body.get("error") == "use_dpop_nonce"
            if fetched.status in (400, 401) and wants_nonce:
                if not fresh or fresh == nonce:
                    break
                nonce = fresh
                continue
            self.settings["dpop_nonce"] = fresh or nonce or ""
            if fresh and self.nonces is not None:
                self.nonces.put(("nonce", str(self.settings["issuer"])), {"nonce": fresh})
            return fetched, body
        raise _fail("the server kept asking for a new DPoP nonce")

    def authorization_request(
        self, redirect_uri: str, state: str, code_verifier: str, nonce: str
    ) -> AuthorizationRequest:
        form = {
            "client_id": self.client_id,
            "response_type": "code",
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
            "state": state,
            "redirect_uri": redirect_uri,
            "scope": self.requested_scope(),
            "login_hint": str(self.settings.get("login_hint") or self.settings["did"]),
        }
        fetched, body = self._post(str(self.settings["par_endpoint"]), form, self.dpop_key(state))
        uri = body.get("request_uri") if isinstance(body, dict) else None
        if fetched.status not in (200, 201) or not isinstance(uri, str):
            raise _fail("the server refused the sign-in request")
        query = urlencode({"client_id": self.client_id, "request_uri": uri})
        url = f"{self.settings['authorize_url']}?{query}"
        return AuthorizationRequest(url, state, self.discovered())

    def complete(
        self,
        params: Mapping[str, str],
        redirect_uri: str,
        *,
        code_verifier: str,
        nonce: str,
        extra: Mapping[str, str],
    ) -> Profile:
        form = {**self.code_form(params, redirect_uri, code_verifier), "client_id": self.client_id}
        key = self.dpop_key(params.get("state", ""))
        fetched, token = self._post(str(self.settings["access_token_url"]), form, key)
        if not fetched.ok or not isinstance(token, dict) or not token.get("access_token"):
            raise _fail("the server refused the token request")
        if token.get("sub") != self.settings["did"]:
            # The server vouched for another account than the one we resolved to it.
            raise _fail("the server signed in another account than the one typed")
        granted = str(token.get("scope", "")).split()
        if "atproto" not in granted:
            raise _fail("the server did not grant the atproto scope")
        email: tuple[str | None, bool] = (None, False)
        if "transition:email" in granted:
            email = self._email(key, str(token["access_token"]))
        return self._profile(*email)

    def _email(self, key: ECKey, token: str) -> tuple[str | None, bool]:
        """The account's email from its PDS (``getSession``, DPoP-bound, the PDS's own nonce),
        verified only when the PDS says it was confirmed."""
        url = f"{self.settings['pds']}/xrpc/com.atproto.server.getSession"
        nonce: str | None = None
        for _ in range(2):
            headers = {
                "Authorization": f"DPoP {token}",
                "DPoP": self._proof(key, "GET", url, nonce, token),
                "Accept": "application/json",
            }
            fetched = self.fetcher.get(
                url, headers=headers, deadline=self.timeout, follow_redirects=False
            )
            fresh = fetched.headers.get("dpop-nonce")
            challenge = fetched.headers.get("www-authenticate", "")
            if fetched.status == 401 and "use_dpop_nonce" in challenge and fresh != nonce:
                nonce = fresh
                continue
            session = _json(fetched)
            if not isinstance(session, dict) or session.get("did") != self.settings["did"]:
                raise _fail("the PDS did not confirm the account")
            address = session.get("email")
            if not isinstance(address, str):
                return None, False
            return address, session.get("emailConfirmed") is True
        raise _fail("the PDS kept asking for a new DPoP nonce")

    def _profile(self, email: str | None = None, verified: bool = False) -> Profile:
        did, handle, pds = (str(self.settings.get(k, "")) for k in ("did", "handle", "pds"))
        query = urlencode({"repo": did, "collection": "app.bsky.actor.profile", "rkey": "self"})
        record = _json(self.fetcher.get(f"{pds}/xrpc/com.atproto.repo.getRecord?{query}"))
        value = record.get("value") if isinstance(record, dict) else None
        value = value if isinstance(value, dict) else {}
        avatar = value.get("avatar")
        ref = avatar.get("ref") if isinstance(avatar, dict) else None
        cid = ref.get("$link") if isinstance(ref, dict) else None
        avatar_url = None
        if isinstance(cid, str):
            avatar_url = f"{pds}/xrpc/com.atproto.sync.getBlob?did={quote(did)}&cid={quote(cid)}"
        name = value.get("displayName") if isinstance(value.get("displayName"), str) else ""
        return Profile(
            provider=NAME,
            subject=did,
            display_name=name or handle or did,
            username=handle or None,
            avatar_url=avatar_url,
            profile_url=f"https://bsky.app/profile/{did}",
            email=email,
            email_verified=verified and bool(email),
            raw={"pds": pds, "issuer": self.settings.get("issuer", "")},
        )


def start(
    fetcher: SafeFetcher,
    typed: str,
    options: Mapping[str, Any],
    client_id: str,
    cache: DiscoveryCache | None = None,
) -> Bluesky:
    """Resolve ``typed`` (a handle or a DID) to its DID, PDS and authorization server (from
    ``cache`` when it was resolved in the last few minutes)."""
    plc = str(options.get("plc_url") or PLC_DIRECTORY)
    key = (typed, plc, fetcher.allow_private)
    found = cache.get(key) if cache is not None else None
    if found is None:
        found = discover(fetcher, typed, options, plc)
        if cache is not None:
            cache.put(key, found)
    scope = "atproto transition:email" if options.get("email") else "atproto"
    made = Bluesky({**found, "login_hint": typed, "client_id": client_id, "scope": scope}, fetcher)
    if cache is not None:
        # The server's current DPoP nonce (atproto: track it per server): the PAR then goes
        # through at once instead of being refused once for want of it.
        made.nonces = cache
        made.settings["dpop_nonce"] = (cache.get(("nonce", found["issuer"])) or {}).get("nonce", "")
    return made


def discover(
    fetcher: SafeFetcher, typed: str, options: Mapping[str, Any], plc: str
) -> dict[str, str]:
    scheme = "http" if fetcher.allow_private else "https"  # tests' local servers are plain HTTP
    handle = "" if typed.startswith("did:") else typed.lower()
    servers = tuple(options.get("nameservers") or ())
    did = typed if not handle else resolve_handle(fetcher, handle, scheme, servers)
    doc = did_document(fetcher, did, plc, scheme)
    known = handles_of(doc)
    if handle and handle not in known:
        raise InvalidInput("handle", f"@{handle} is not confirmed by its Bluesky account.")
    pds = pds_of(doc)
    meta = authorization_server(fetcher, pds)
    return {
        "did": did,
        "handle": handle or (known[0] if known else ""),
        "pds": pds,
        "issuer": meta["issuer"],
        "par_endpoint": meta["pushed_authorization_request_endpoint"],
        "authorize_url": meta["authorization_endpoint"],
        "access_token_url": meta["token_endpoint"],
        "server": urlsplit(pds).netloc,
    }
