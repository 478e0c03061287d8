"""The handle field's routes: ``POST /auth/login/handle`` (the block's form, CSRF, draft kept)
and ``GET /auth/login/handle?handle=…&popup=1`` (the popup), the handle protocols' callbacks,
and the client documents the servers fetch (IndieAuth's Client ID Metadata Document)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, jsonify, request
from joserfc.jwk import ECKey
from werkzeug.wrappers import Response as BaseResponse

from .. import flow
from ..errors import InvalidInput, RateLimited, SocialAuthError
from ..flow import safe_next
from ..handles import (
    CLASSES,
    TITLES,
    Bluesky,
    Discovered,
    IndieAuth,
    bluesky,
    candidates,
    mastodon,
    rebuild,
)
from ..session import check_csrf, get_cookie
from ..site import absolute_url, site_url
from ..state import get_state
from .pages import bp, private
from .signin import failure_page, finish_callback, posted_draft, start_sign_in

#: Discoveries one client address may start per window, and all clients together: each costs
#: fetches from servers the visitor chose, so a script must not turn us into its crawler.
CLIENT_LIMIT, GLOBAL_LIMIT, WINDOW = 20, 600, 60


@bp.route("/login/handle", methods=["GET", "POST"])
def login_handle() -> BaseResponse:
    """Start a sign-in with what the visitor typed in the ``handle`` field."""
    next_path = safe_next(request.values.get("next"))
    popup = request.args.get("popup") == "1"
    draft = None
    if request.method == "POST":
        draft, popup = posted_draft(), False
    try:
        if request.method == "POST":
            check_csrf()  # the draft lands in the commenter's textarea: only their own form
        provider = discover(request.values.get("handle"))
    except SocialAuthError as exc:
        return failure_page(exc, next_path, popup, draft)
    return start_sign_in(provider, next_path=next_path, popup=popup, draft=draft)


def discover(typed: str | None) -> Discovered:
    """The provider for ``typed``: the first reading of it this site offers that discovery
    confirms; the first refusal otherwise."""
    state = get_state()
    readings = [c for c in candidates(typed) if state.handles.offers(c.protocol)]
    if not readings:
        offered = ", ".join(TITLES[p] for p in state.handles.enabled) or "nothing"
        raise InvalidInput("handle", f"This site does not sign in with that; it offers {offered}.")
    limiter = state.rate_limiter
    client = f"handle:{request.remote_addr or 'unknown'}"
    allowed = limiter.hit(client, CLIENT_LIMIT, WINDOW)
    if not (allowed and limiter.hit("handle:*", GLOBAL_LIMIT, WINDOW)):
        raise RateLimited("Too many sign-ins with a handle were started; wait a minute.")
    first: SocialAuthError | None = None
    for reading in readings:
        try:
            if reading.protocol == "indieauth":
                return IndieAuth.start(state.fetcher, reading.value, indieauth_client_id())
            if reading.protocol == "bluesky":
                options = state.handles.options.get("bluesky", {})
                found = bluesky.start(
                    state.fetcher, reading.value, options, bluesky_client_id(), state.handles.cache
                )
                return _ready(found)
            if reading.protocol == "mastodon":
                return mastodon.start(
                    state.fetcher,
                    state.store,
                    reading.value,
                    state.handles.options.get("mastodon", {}),
                    redirect_uri=absolute_url("social_auth.callback", provider="mastodon"),
                    website=site_url().rstrip("/") + "/",
                )
        except SocialAuthError as exc:
            first = first or exc
    assert first is not None
    raise first


def _callback(protocol: str) -> BaseResponse:
    state = get_state()
    cookie = flow.read_cookie(get_cookie(flow.COOKIE_NAME), settings=state.flow_settings)
    flow_state = cookie.state
    discovered = flow_state.extra if flow_state and flow_state.provider == protocol else {}
    return finish_callback(_ready(rebuild(protocol, discovered, state.fetcher, state.store)))


def _ready(provider: Discovered) -> Discovered:
    """A Bluesky provider gets our client key and the secret its DPoP keys derive from."""
    if isinstance(provider, Bluesky):
        provider.client_key = _client_key()
        provider.secret = get_state().settings.secret_keys[-1]
    return provider


def _client_key() -> ECKey | None:
    """Our client key (``SOCIAL_AUTH_HANDLES["bluesky"]["private_key"]``), None when off."""
    jwk = get_state().handles.option("bluesky", "private_key")
    return ECKey.import_key(dict(jwk)) if jwk else None


# Static rules: werkzeug prefers them to ``/callback/<provider>`` for these three names.
for _protocol in CLASSES:
    bp.add_url_rule(
        f"/callback/{_protocol}",
        f"callback_{_protocol}",
        lambda protocol=_protocol: _callback(protocol),
        methods=["GET", "POST"],
    )


def indieauth_client_id() -> str:
    return absolute_url("social_auth.indieauth_client")


@bp.get("/handles/indieauth/client.json")
def indieauth_client() -> BaseResponse:
    """Our Client ID Metadata Document (IndieAuth §4.2.1): the servers fetch it to show who
    asks and to check the redirect URI."""
    home = site_url().rstrip("/") + "/"
    body = {
        "client_id": indieauth_client_id(),
        "client_name": home.split("://", 1)[1].rstrip("/"),
        "client_uri": home,
        "redirect_uris": [absolute_url("social_auth.callback", provider="indieauth")],
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _bluesky_scope() -> str:
    asks = get_state().handles.option("bluesky", "email", False)
    return "atproto transition:email" if asks else "atproto"


def bluesky_client_id() -> str:
    """Our client metadata's URL; without a client key (debug only) the atproto localhost
    development client, a public client whose metadata the server makes up itself."""
    if _client_key() is None:
        callback = absolute_url("social_auth.callback", provider="bluesky")
        return "http://localhost?" + urlencode(
            {"redirect_uri": callback, "scope": _bluesky_scope()}
        )
    return absolute_url("social_auth.bluesky_client")


@bp.get("/handles/bluesky/client-metadata.json")
def bluesky_client() -> BaseResponse:
    """Our atproto client metadata: a confidential web client (``private_key_jwt``, ES256),
    DPoP-bound tokens, the ``atproto`` scope; the servers fetch it at each PAR."""
    if _client_key() is None:
        abort(404)
    home = site_url().rstrip("/") + "/"
    body = {
        "client_id": bluesky_client_id(),
        "client_name": home.split("://", 1)[1].rstrip("/"),
        "client_uri": home,
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": _bluesky_scope(),
        "redirect_uris": [absolute_url("social_auth.callback", provider="bluesky")],
        "dpop_bound_access_tokens": True,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "jwks_uri": absolute_url("social_auth.bluesky_jwks"),
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


@bp.get("/handles/bluesky/jwks.json")
def bluesky_jwks() -> BaseResponse:
    """The public half of our client key."""
    key = _client_key()
    if key is None:
        abort(404)
    public = key.as_dict(private=False)
    return jsonify(keys=[{**public, "use": "sig", "alg": "ES256"}])


__all__ = ["CLIENT_LIMIT", "GLOBAL_LIMIT", "WINDOW", "discover", "login_handle", "private"]
