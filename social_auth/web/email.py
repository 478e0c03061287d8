"""Email: confirmation and sign-in links. The rule is ``accounts``'; the links are
``store.email_links``; these views only carry cookies, forms and mail."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import current_app, g, jsonify, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts
from ..emails import email_key
from ..errors import InvalidInput, RateLimited
from ..flow import safe_next
from ..guest import clean_email
from ..mail import (
    TOKEN_PARAM,
    confirmation_email,
    redact_tokens_in_server_logs,
    sign_in_email,
)
from ..session import (
    check_csrf,
    csrf_token,
    current_commenter,
    get_cookie,
    set_cookie,
    sign_in,
    signed_in_provider,
)
from ..site import absolute_url, site_url
from ..state import get_state
from ..store import Commenter
from ..store.email_links import LINK_MAX_AGE, TOKEN_MAX_LENGTH, EmailLinks
from .pages import bp, done, message_page, private, provider_titles, wants_json

#: Magic-link requests allowed per email address and per client address, per window.
EMAIL_LIMIT, CLIENT_LIMIT, LIMIT_WINDOW = 3, 10, 15 * 60
#: Our cookie binding a confirmation link to the browser that asked for it (a random value;
#: only its hash is kept with the link).
EMAIL_BINDING_COOKIE = "social_auth_email_link"
_G_BINDING = "_social_auth_email_binding"


@bp.record_once
def _keep_tokens_out_of_logs(_setup: Any) -> None:
    # The development server (``make run``) logs whole request lines, queries included.
    redact_tokens_in_server_logs()


def needs_email_verification(commenter: Commenter) -> bool:
    """True when the site requires guests to confirm their email and this one has not."""
    return get_state().settings.guest_verify_email and accounts.is_unverified_guest(commenter)


@bp.post("/email/start")
def email_start() -> BaseResponse:
    check_csrf()
    commenter = current_commenter
    address = (request.form.get("email") or "").strip()
    if not address and isinstance(commenter, Commenter):
        address = commenter.email or ""
    address = clean_email(address)
    _check_rate(address)
    next_url = request.form.get("next")
    mail_later: Callable[[], None] | None = None
    if isinstance(commenter, Commenter):
        send_verification_link(_asker(commenter, address), address, next_url)  # a failure: 503
    else:
        # Anonymous: a sign-in link, sent only to an address someone already proved, and only
        # once the answer has gone out, so neither the answer, nor its timing, nor a mail
        # failure tells whether the address is known.
        known = get_state().store.find_verified_by_email(address)
        if known is not None:
            mail_later = _mail_quietly(known, next_url)
    message = "If that address can receive mail, a confirmation link is on its way to it."
    response = (
        jsonify({"sent": True, "message": message})
        if wants_json()
        else message_page("Check your email", message, 200)
    )
    if mail_later is not None:
        response.call_on_close(mail_later)  # the WSGI server calls it after sending the body
    return response


def _asker(commenter: Commenter, address: str) -> Commenter:
    """The commenter whose ``address`` is to be confirmed: this one, or a guest given it now."""
    if email_key(commenter.email) == email_key(address):
        return commenter
    if not commenter.is_guest:
        raise InvalidInput("email", "Only this account's own email address can be confirmed here.")
    updated = accounts.update_guest(
        get_state().store, commenter, commenter.display_name, address, commenter.website,
        commenter.avatar_url,
    )
    sign_in(None, updated)
    return updated


def _check_rate(address: str) -> None:
    limiter = get_state().rate_limiter
    client = request.remote_addr or "unknown"
    # The client first: a client already refused must not add a counter per address it tries.
    if not (
        limiter.hit(f"client:{client}", CLIENT_LIMIT, LIMIT_WINDOW)
        and limiter.hit(f"email:{email_key(address)}", EMAIL_LIMIT, LIMIT_WINDOW)
    ):
        raise RateLimited("Too many confirmation emails were asked for; try again later.")


def request_verification(commenter: Commenter, next_url: str | None = None) -> None:
    """Rate-limited: mail ``commenter`` a link confirming their current email; after
    confirming, the browser goes to ``next_url`` (a path on this site). The link works only
    in this request's browser, while it is signed in as ``commenter``."""
    if not commenter.email:
        raise InvalidInput("email", "Add an email address first.")
    _check_rate(commenter.email)
    send_verification_link(commenter, commenter.email, next_url)


def send_verification_link(
    commenter: Commenter, address: str, next_url: str | None = None
) -> None:
    """Mail ``address`` (``commenter``'s own email) a confirmation link bound to this
    request's browser (no rate limit: callers apply it)."""
    if email_key(address) != email_key(commenter.email) or email_key(address) is None:
        raise InvalidInput("email", "Only the commenter's own email address can be confirmed.")
    provider = signed_in_provider()
    token = accounts.confirmation_link(
        _email_links(),
        commenter,
        binding=_browser_binding(),
        signed_in_with=provider,
        next_url=safe_next(next_url) if next_url else None,
    )
    subject, body = confirmation_email(
        site=_site_name(),
        email=address,
        asker=accounts.describe(commenter, provider_titles(), provider),
        link=absolute_url("social_auth.verify_email", **{TOKEN_PARAM: token}),
        minutes=LINK_MAX_AGE // 60,
    )
    get_state().mailer.send(address, subject, body)


def _mail_quietly(owner: Commenter, next_url: str | None) -> Callable[[], None]:
    """A sign-in link for ``owner``, issued and sent after the answer, where nothing may fail
    and nothing may take time the visitor could measure; it logs rather than raises."""
    links, mailer, logger = _email_links(), get_state().mailer, current_app.logger
    address = owner.email or ""
    site, verify_url = _site_name(), absolute_url("social_auth.verify_email")
    who = accounts.describe(owner, provider_titles())
    safe = safe_next(next_url) if next_url else None

    def send() -> None:
        try:
            token = accounts.sign_in_link(links, owner, safe)
            link = f"{verify_url}?{urlencode({TOKEN_PARAM: token})}"
            subject, body = sign_in_email(
                site=site, owner=who, link=link, minutes=LINK_MAX_AGE // 60
            )
            mailer.send(address, subject, body)
        except Exception:  # the visitor was already answered; they can ask again
            logger.warning("social_auth: a sign-in link could not be mailed")

    return send


def _email_links() -> EmailLinks:
    return EmailLinks(get_state().store)


def _browser_binding() -> str:
    """This browser's binding value: kept while it lives (so each of its links stays bound),
    made on first use, and sent back with a fresh lifetime."""
    value = g.get(_G_BINDING) or get_cookie(EMAIL_BINDING_COOKIE)
    if not value or len(value) > TOKEN_MAX_LENGTH:
        value = secrets.token_urlsafe(32)
    setattr(g, _G_BINDING, value)
    set_cookie(None, EMAIL_BINDING_COOKIE, value, LINK_MAX_AGE)
    return value


def _site_name() -> str:
    parts = urlsplit(site_url())
    return parts.netloc + parts.path


def _email_proof(token: str | None) -> accounts.EmailProof:
    link = _email_links().find(token or "")
    if link is None:
        raise accounts.LinkInvalid(
            "This link is unknown, expired, used already or replaced by a newer one; "
            "ask for a new one."
        )
    holder = current_commenter
    return accounts.judge(
        link,
        holder=holder if isinstance(holder, Commenter) else None,
        binding=get_cookie(EMAIL_BINDING_COOKIE),
        store=get_state().store,
        titles=provider_titles(),
    )


@bp.get("/email/verify")
def verify_email() -> BaseResponse:
    # Only shows what confirming would do, and a button: mail scanners that follow links must
    # not use them up, and the mailbox owner decides with the page in front of them.
    proof = _email_proof(request.args.get(TOKEN_PARAM))
    body = render_template(
        "social_auth/verify_email.html",
        proof=proof,
        token=request.args.get(TOKEN_PARAM),
        site=_site_name(),
        csrf=csrf_token(),
    )
    # The page's address holds the token: it must not travel on as a Referer, nor be cached.
    return private(current_app.response_class(body, mimetype="text/html"))


@bp.post("/email/verify")
def verify_email_confirm() -> BaseResponse:
    check_csrf()
    proof = _email_proof(request.form.get(TOKEN_PARAM))
    provider = signed_in_provider() if proof.verdict == "verify" else None
    target = accounts.confirm(proof, _email_links(), get_state().store)
    identity = next((i for i in target.identities if i.provider == provider), None)
    sign_in(None, target, identity)  # a fresh session (the verified one ended every other)
    return private(done(proof.link.next_url or "/"))
