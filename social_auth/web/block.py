"""The comment form's sign-in block, a template global (``social_auth_login()``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import g, render_template, request
from markupsafe import Markup

from .. import session
from ..flow import safe_next
from ..state import get_state


def login_block(next: str | None = None, draft_field: str | None = None) -> Markup:
    """The comment form's sign-in block (``social_auth/login_block.html``, overridable).

    ``next`` is where a sign-in returns (default: this page); ``draft_field`` names the host's
    comment textarea, whose text the block keeps across sign-in, sign-out and redirects.
    """
    state = get_state()
    here = request.full_path.rstrip("?") if request.query_string else request.path
    target = safe_next(next, here)
    prefix = state.settings.url_prefix.rstrip("/")
    commenter = session.current_commenter
    provider_key = session.signed_in_provider()
    titles = {
        **state.handles.titles(),
        **{p.instance_name: p.display_title for p in state.providers.values()},
    }
    html = render_template(
        "social_auth/login_block.html",
        commenter=commenter,
        guest_values=_guest_values(commenter),
        providers=list(state.providers.values()),
        signed_in_with=titles.get(provider_key, provider_key) if provider_key else None,
        login_url=lambda p, popup="1": f"{prefix}/login/{p.instance_name}?"
        + urlencode({"next": target, "popup": popup}),
        prefix=prefix,
        next=target,
        guest_enabled=state.settings.guest,
        draft_field=draft_field,
        csrf=session.csrf_token(),
        notice=session.take_notice(),
        include_assets=_first_block(),
        titles=titles,
        handles=state.handles.enabled,
    )
    return Markup(html)  # noqa: S704 - rendered by Jinja with autoescape on


def _guest_values(commenter: Any) -> dict[str, str]:
    # After a rejected POST the visitor's typing comes back; otherwise a guest's own details.
    names = ("name", "email", "website")
    if request.method == "POST":
        return {n: request.form.get(n, "") for n in names}
    if commenter.is_authenticated and commenter.is_guest:
        return dict(zip(names, (commenter.display_name, commenter.email or "",
                                commenter.website or ""), strict=True))
    return dict.fromkeys(names, "")


def _first_block() -> bool:
    # The block links its CSS and JS once per page, however many blocks the page has.
    first = not g.get("_social_auth_assets", False)
    g._social_auth_assets = True
    return first
