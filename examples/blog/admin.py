"""The site owner's side of the example blog.

- An admin login (password from ``BLOG_ADMIN_PASSWORD``; in debug a random one is printed).
  Flask's session is a cookie the browser holds, so it carries only a value made from the
  owner's session key, which lives in the blog's database (``OwnerSession``) and is checked on
  every owner request; logging out replaces it, so a copy of the cookie is refused everywhere.
- The hooks Flask-Social-Auth's admin calls: ``is_site_owner`` (``SOCIAL_AUTH_ADMIN_CHECK``),
  ``owner_name`` (``SOCIAL_AUTH_ADMIN_ACTOR``), ``count_comments``
  (``SOCIAL_AUTH_COMMENT_COUNT``) and ``export_comments`` (``SOCIAL_AUTH_EXPORT_HOOK``).
- Moderation of pending comments at ``/admin``.
- Comments that follow their commenter: merges and undone merges re-point them, an erasure
  anonymises them (signal receivers, connected per app).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import click
from flask import (
    Flask,
    after_this_request,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.wrappers import Response
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Response as BaseResponse

from social_auth import (
    Commenter,
    IdentityStore,
    SocialAuthError,
    commenter_erased,
    commenters_merged,
    commenters_unmerged,
    get_state,
)
from social_auth.errors import AkismetUnavailable
from social_auth.moderation import report_ham, report_spam
from social_auth.session import check_csrf
from social_auth.views import safe_next

from .models import APPROVED, PENDING, SPAM, Comment, OwnerSession

P = ParamSpec("P")
R = TypeVar("R")

#: The Flask session's entry for the owner: ``_session_value`` of ``OwnerSession.key``.
SESSION_KEY = "blog_admin"
#: Password attempts allowed per client address per 15 minutes.
LOGIN_LIMIT, LOGIN_WINDOW = 10, 15 * 60


class LoginRefused(SocialAuthError):
    status = 403
    code = "admin_login_refused"


# -- hooks named in the Flask-Social-Auth config ---------------------------------------------


def is_site_owner() -> bool:
    """``SOCIAL_AUTH_ADMIN_CHECK``: this browser logged in with the admin password, and since
    then the owner has not logged out (in any browser) nor has the password changed."""
    held = session.get(SESSION_KEY)
    if not isinstance(held, str) or not held:
        return False  # no database read for a visitor who never logged in
    key = _owner_key(_sessions())
    return key is not None and hmac.compare_digest(held, _session_value(key))


def _session_value(key: str) -> str:
    # Bound to the password too: a new BLOG_ADMIN_PASSWORD ends every owner session made
    # with the old one. Without the key (in the database) it tells nothing of the password.
    password = current_app.config.get("BLOG_ADMIN_PASSWORD") or ""
    return hmac.new(key.encode(), password.encode(), hashlib.sha256).hexdigest()


def _owner_key(sessions: sessionmaker[Session]) -> str | None:
    with sessions() as s:
        return s.scalar(select(OwnerSession.key).where(OwnerSession.id == 1))


def _login_key(sessions: sessionmaker[Session]) -> str:
    """The key a new owner login carries: the current one, so the owner's other browsers stay
    logged in; made at the very first login."""
    key = _owner_key(sessions)
    if key is None:
        try:
            with sessions() as s, s.begin():
                s.add(OwnerSession(id=1, key=secrets.token_urlsafe(32)))
        except IntegrityError:
            pass  # another worker made it at the same moment: theirs it is
        key = _owner_key(sessions)
        assert key is not None
    return key


def end_owner_sessions(sessions: sessionmaker[Session]) -> None:
    """A new owner key: every cookie that holds the old one stops being the owner's."""
    with sessions() as s, s.begin():
        s.execute(
            update(OwnerSession).where(OwnerSession.id == 1).values(
                key=secrets.token_urlsafe(32), changed_at=datetime.now(UTC)
            )
        )


def owner_name() -> str:
    """``SOCIAL_AUTH_ADMIN_ACTOR``: the audit log says ``admin:site-owner``."""
    return "site-owner"


def _sessions() -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = current_app.extensions["blog_sessions"]
    return sessions


def count_comments(commenter: Commenter) -> int:
    """``SOCIAL_AUTH_COMMENT_COUNT``: comments the blog holds for the commenter."""
    with _sessions()() as s:
        query = select(func.count(Comment.id)).where(Comment.commenter_id == commenter.public_id)
        return s.scalar(query) or 0


def export_comments(commenter: Commenter) -> dict[str, Any]:
    """``SOCIAL_AUTH_EXPORT_HOOK``: the blog's part of a data export."""
    with _sessions()() as s:
        rows = s.scalars(
            select(Comment).where(Comment.commenter_id == commenter.public_id).order_by(Comment.id)
        )
        return {
            "comments": [
                {
                    "post": c.post_slug,
                    "body": c.body,
                    "status": c.status,
                    "author_name": c.author_name,
                    "author_website": c.author_website,
                    "created_at": c.created_at.isoformat(),
                }
                for c in rows
            ]
        }


# -- comments follow merges and erasures -----------------------------------------------------


def follow_commenters(app: Flask, sessions: sessionmaker[Session]) -> None:
    """Keep the blog's ``commenter_id`` on the live commenter, and anonymise erased ones."""
    store = get_state(app).store

    def merged(_store: IdentityStore, *, source: Commenter, **_: Any) -> None:
        repoint(store, sessions, source.public_id)

    def unmerged(_store: IdentityStore, *, target: Commenter, **_: Any) -> None:
        repoint(store, sessions, target.public_id)

    def erased(_store: IdentityStore, *, commenter: Commenter, **_: Any) -> None:
        anonymise(sessions, commenter.public_id)

    # Connected for this app's store only: tests build many apps in one process.
    commenters_merged.connect(merged, sender=store)
    commenters_unmerged.connect(unmerged, sender=store)
    commenter_erased.connect(erased, sender=store)
    # Blinker holds receivers weakly; the app keeps them alive exactly as long as itself.
    app.extensions["blog_signal_receivers"] = (merged, unmerged, erased)


def repoint(store: IdentityStore, sessions: sessionmaker[Session], public_id: str) -> None:
    """Give every comment now under ``public_id`` to the live owner of the commenter it was
    written as: after a merge that is the target, after an undone merge the source again."""
    owners: dict[str, str] = {}
    with sessions() as s, s.begin():
        for comment in s.scalars(select(Comment).where(Comment.commenter_id == public_id)):
            origin = comment.original_commenter_id or comment.commenter_id
            if origin not in owners:
                owners[origin] = _live_public_id(store, origin)
            comment.commenter_id = owners[origin]


def _live_public_id(store: IdentityStore, public_id: str) -> str:
    written_as = store.get_by_public_id(public_id)
    live = store.live_commenter(written_as.id) if written_as is not None else None
    return live.public_id if live is not None else public_id


def anonymise(sessions: sessionmaker[Session], public_id: str) -> None:
    """The text stays; who wrote it goes. The page then says "deleted commenter"."""
    with sessions() as s, s.begin():
        s.execute(
            update(Comment)
            .where(Comment.commenter_id == public_id)
            # The moderation facts hold the name, email and IP address sent to Akismet.
            .values(author_name="", author_website=None, avatar_url=None, provider=None,
                    moderation_facts=None)
        )


# -- login and moderation --------------------------------------------------------------------


def configure_password(app: Flask) -> None:
    """Without ``BLOG_ADMIN_PASSWORD`` the login is off, except in debug, where a random
    password is made and printed once so the admin pages can be tried by hand."""
    if not app.config.get("BLOG_ADMIN_PASSWORD") and app.debug:
        app.config["BLOG_ADMIN_PASSWORD"] = secrets.token_urlsafe(12)
        click.echo(
            f" * Blog admin password (debug only): {app.config['BLOG_ADMIN_PASSWORD']}  "
            "(set BLOG_ADMIN_PASSWORD to choose one)",
            err=True,
        )


def register_admin(app: Flask, sessions: sessionmaker[Session]) -> None:
    @app.get("/admin/login")
    @unframed
    def admin_login() -> str:
        return render_template(
            "admin/login.html",
            enabled=bool(app.config.get("BLOG_ADMIN_PASSWORD")),
            next=safe_next(request.args.get("next"), url_for("admin_home")),
        )

    @app.post("/admin/login")
    @unframed
    def admin_login_post() -> BaseResponse | tuple[str, int]:
        check_csrf()
        _limit_attempts()
        expected = app.config.get("BLOG_ADMIN_PASSWORD") or ""
        given = request.form.get("password", "")
        next_url = safe_next(request.form.get("next"), url_for("admin_home"))
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            page = render_template("admin/login.html", enabled=bool(expected), next=next_url,
                                   error="That is not the admin password.")
            return page, 403
        session.clear()  # nothing from before the login carries over
        session[SESSION_KEY] = _session_value(_login_key(sessions))
        return redirect(next_url, 303)

    @app.post("/admin/logout")
    @unframed
    def admin_logout() -> BaseResponse:
        check_csrf()
        if is_site_owner():  # only the owner can end the owner's sessions, not any visitor
            end_owner_sessions(sessions)
        session.pop(SESSION_KEY, None)
        return redirect(url_for("index"), 303)

    @app.get("/admin")
    @unframed
    def admin_home() -> BaseResponse | str:
        if not is_site_owner():
            return redirect(url_for("admin_login", next=request.path))
        with sessions() as s:
            pending = list(s.scalars(
                select(Comment).where(Comment.status == PENDING).order_by(Comment.id)
            ))
        return render_template("admin/moderation.html", pending=pending)

    @app.post("/admin/comments/<int:comment_id>/approve")
    @unframed
    def admin_approve(comment_id: int) -> BaseResponse:
        if not is_site_owner():
            raise LoginRefused("Log in as the site owner first.")
        check_csrf()
        approve(sessions, comment_id)
        return redirect(url_for("admin_home"), 303)

    @app.post("/admin/comments/<int:comment_id>/spam")
    @unframed
    def admin_spam(comment_id: int) -> BaseResponse:
        if not is_site_owner():
            raise LoginRefused("Log in as the site owner first.")
        check_csrf()
        mark_spam(sessions, comment_id, block=request.form.get("block") == "on")
        return redirect(url_for("admin_home"), 303)


def approve(sessions: sessionmaker[Session], comment_id: int) -> bool:
    """Publish a held comment and tell the moderator (the commenter becomes a regular; Akismet
    hears of it when it had said spam). Whether the comment exists."""
    with sessions() as s, s.begin():
        comment = s.get(Comment, comment_id)
        if comment is None:
            return False
        comment.status = APPROVED
        facts = comment.moderation_facts
    if facts:
        _report(report_ham, json.loads(facts))
    return True


def mark_spam(sessions: sessionmaker[Session], comment_id: int, *, block: bool) -> None:
    """Take a comment down as spam, tell Akismet, and with ``block`` block its commenter in
    every identity (the extension's block: sessions end, sign-ins are refused)."""
    with sessions() as s, s.begin():
        comment = s.get(Comment, comment_id)
        if comment is None:
            return
        comment.status = SPAM
        facts = json.loads(comment.moderation_facts) if comment.moderation_facts else {
            "commenter": comment.commenter_id}
    _report(functools.partial(report_spam, block=block, actor="admin:site-owner"), facts)


def _report(send: Callable[[dict[str, Any]], bool], facts: dict[str, Any]) -> None:
    try:
        send(facts)
    except AkismetUnavailable as exc:  # the decision stands; Akismet just did not hear of it
        current_app.logger.warning("Akismet did not take the report: %s", exc.message)


def unframed(view: Callable[P, R]) -> Callable[P, R]:
    """An owner page may not be framed or cached: set on each of these views rather than by an
    app-wide ``after_request``, which would cost every reader's page (~2 µs a request)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        after_this_request(_no_framing)  # before the view runs, so its refusals get it too
        return view(*args, **kwargs)

    return wrapper


def _no_framing(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def _limit_attempts() -> None:
    limiter = get_state().rate_limiter
    if not limiter.hit(f"blog-admin:{request.remote_addr}", LOGIN_LIMIT, LOGIN_WINDOW):
        raise LoginRefused("Too many password attempts; wait a few minutes and try again.")
