"""A small blog that mounts Flask-Social-Auth under its comment form.

``make run`` serves it at http://127.0.0.1:5000; ``flask --app examples.blog:create_app blog
pending`` lists comments waiting for moderation and ``blog approve ID`` publishes one. The site
owner logs in at ``/admin`` (password: ``BLOG_ADMIN_PASSWORD``) to moderate and to reach
Flask-Social-Auth's commenter admin at ``/auth/admin/``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import click
from flask import Flask, abort, redirect, render_template, request, session, url_for
from flask.wrappers import Response
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from social_auth import Commenter, CommenterBlocked, InvalidInput, SocialAuth, get_state
from social_auth.moderation import Verdict
from social_auth.session import check_csrf, current_commenter, set_draft, signed_in_provider
from social_auth.views import (
    avatar_url,
    guest_sign_in,
    needs_email_verification,
    request_verification,
)
from social_auth.web.moderation import review_request

from . import admin
from .models import APPROVED, PENDING, Base, Comment
from .posts import BY_SLUG, POSTS

COMMENT_MAX = 5000
#: The Flask session's entry for the comment just posted and awaiting moderation.
ECHO_KEY = "blog_echo"
#: A discarded comment is echoed from the session cookie: at most this much of it.
ECHO_MAX = 1500
DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - used only when the app runs in debug mode


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Flask's factory convention: ``flask --app examples.blog:create_app run``."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    secret = os.environ.get("BLOG_SECRET_KEY") or (DEV_SECRET if app.debug else None)
    app.config.from_mapping(
        SECRET_KEY=secret,
        # "make run" (debug) signs in offline through the local dev provider; never in production.
        SOCIAL_AUTH_DEV_PROVIDER=app.debug,
        BLOG_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "blog.sqlite3"),
        BLOG_TITLE="Notes from the Workbench",
        # A comment is at most 5000 characters: refuse larger bodies before reading them (413).
        MAX_CONTENT_LENGTH=256 * 1024,
        BLOG_ADMIN_PASSWORD=os.environ.get("BLOG_ADMIN_PASSWORD"),
        SESSION_COOKIE_SAMESITE="Lax",
        # Flask-Social-Auth's admin asks the blog who is an admin, who they are for the audit
        # log, how many comments a commenter has, and what to add to a data export.
        SOCIAL_AUTH_ADMIN_CHECK="examples.blog.admin:is_site_owner",
        SOCIAL_AUTH_ADMIN_ACTOR=admin.owner_name,
        SOCIAL_AUTH_COMMENT_COUNT=admin.count_comments,
        SOCIAL_AUTH_EXPORT_HOOK=admin.export_comments,
    )
    if test_config:
        app.config.update(test_config)
    admin.configure_password(app)
    # Tests register provider adapters of their own; a real site lists them in config.
    social_auth = SocialAuth(providers=app.config.get("BLOG_PROVIDER_ADAPTERS"))
    social_auth.init_app(app)
    with app.app_context():
        social_auth.store.upgrade_schema()

    engine = create_engine(app.config["BLOG_DATABASE_URI"])
    Base.metadata.create_all(engine)
    _add_missing_columns(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    app.extensions["blog_sessions"] = sessions
    admin.follow_commenters(app, sessions)
    admin.register_admin(app, sessions)

    app.add_template_filter(json.loads, "fromjson")  # a held comment's facts, on /admin

    @app.context_processor
    def blog_globals() -> dict[str, Any]:
        return {"blog_title": app.config["BLOG_TITLE"], "recent_posts": POSTS}

    @app.get("/")
    def index() -> str:
        with sessions() as s:
            counts = {p.slug: len(_visible(s, p.slug)) for p in POSTS}
        return render_template("index.html", posts=POSTS, counts=counts)

    @app.get("/posts/<slug>")
    def post(slug: str) -> str:
        return _render_post(sessions, slug)

    @app.post("/posts/<slug>/comments")
    def add_comment(slug: str) -> Response | tuple[str, int]:
        if slug not in BY_SLUG:
            abort(404)
        check_csrf()
        body = (request.form.get("comment") or "").strip()
        try:
            _check_body(body)
            commenter = _commenter_from_form()
            if needs_email_verification(commenter):
                set_draft(None, body)  # back in the textarea once the email is confirmed
                request_verification(commenter, next_url=url_for("post", slug=slug) + "#respond")
                return _render_post(
                    sessions, slug, notice="Please confirm your email address first: we sent "
                    "you a link. Your comment is kept in this browser."
                ), 200
            # The extension decides: trust tier, the block's honeypot and timing, Akismet.
            verdict = review_request(body, url_for("post", slug=slug), commenter=commenter,
                                     post_modified=_post_time(slug))
        except (InvalidInput, CommenterBlocked) as exc:
            return _render_post(sessions, slug, error=exc.message, form=request.form), exc.status
        if verdict.action == "publish":
            comment = _save(sessions, slug, commenter, body, verdict)
            return redirect(url_for("post", slug=slug) + f"#comment-{comment.id}")
        # Held or discarded: the same answer, so a bot learns nothing from it. The page shows
        # the commenter their comment once, as awaiting moderation (``_echo``).
        held = _save(sessions, slug, commenter, body, verdict) if verdict.stored else None
        session[ECHO_KEY] = {"slug": slug, "id": held.id if held else None,
                             "body": None if held else body[:ECHO_MAX]}
        return redirect(url_for("post", slug=slug) + "#comment-pending")

    @app.cli.group("blog")
    def blog_cli() -> None:
        """Moderate the example blog's comments."""

    @blog_cli.command("pending")
    def pending() -> None:
        with sessions() as s:
            for c in s.scalars(select(Comment).where(Comment.status == PENDING)):
                click.echo(f"{c.id}\t{c.post_slug}\t{c.author_name}\t{c.body[:60]!r}")

    @blog_cli.command("approve")
    @click.argument("comment_id", type=int)
    def approve(comment_id: int) -> None:
        if not admin.approve(sessions, comment_id):
            raise click.ClickException(f"No comment {comment_id}.")
        click.echo(f"Approved comment {comment_id}.")

    return app


def _add_missing_columns(engine: Engine) -> None:
    # A blog database from before comments followed merges lacks this column; a real blog
    # would use a migration tool, the example adds it in place.
    columns = {c["name"] for c in inspect(engine).get_columns("blog_comment")}
    added = {"original_commenter_id": "VARCHAR(32)", "moderation_reason": "VARCHAR(500)",
             "trust": "VARCHAR(32)", "moderation_facts": "TEXT"}
    for name, kind in added.items():
        if name not in columns:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE blog_comment ADD COLUMN {name} {kind}"))


def _check_body(body: str) -> None:
    if not body:
        raise InvalidInput("comment", "Please write a comment first.")
    if len(body) > COMMENT_MAX:
        raise InvalidInput("comment", f"Comments can be at most {COMMENT_MAX} characters long.")
    if "\x00" in body:
        raise InvalidInput("comment", "Your comment contains a NUL character.")


def _commenter_from_form() -> Commenter:
    current = current_commenter
    typed = request.form.get("name") or request.form.get("email")
    if isinstance(current, Commenter) and (not current.is_guest or not typed):
        return current  # an account, or a returning guest who left the fields alone
    return guest_sign_in(request.form)


def _post_time(slug: str) -> datetime:
    published = BY_SLUG[slug].published
    return datetime(published.year, published.month, published.day, tzinfo=UTC)


def _save(
    sessions: sessionmaker[Session], slug: str, commenter: Commenter, body: str, verdict: Verdict
) -> Comment:
    provider_key = signed_in_provider()
    provider = get_state().providers.get(provider_key) if provider_key else None
    with sessions() as s, s.begin():
        comment = Comment(
            post_slug=slug,
            commenter_id=commenter.public_id,
            original_commenter_id=commenter.public_id,
            author_name=commenter.display_name,
            author_website=commenter.website,
            # The site's own copy (or identicon): readers' browsers never load a provider's.
            avatar_url=avatar_url(commenter),
            provider=(provider.display_title if provider else provider_key)
            if not commenter.is_guest
            else None,
            body=body,
            status=APPROVED if verdict.action == "publish" else PENDING,
            moderation_reason=verdict.why[:500],
            trust=verdict.trust.value,
            moderation_facts=json.dumps(verdict.facts),
        )
        s.add(comment)
    return comment


def _visible(s: Session, slug: str) -> list[Comment]:
    """Approved comments."""
    query = select(Comment).where(Comment.post_slug == slug, Comment.status == APPROVED)
    return list(s.scalars(query.order_by(Comment.id)))


def _echo(s: Session, slug: str, viewer: Any) -> Comment | None:
    """The comment this browser just posted that is awaiting moderation, shown to it once:
    held (from the database) and discarded (from the session) look the same."""
    echo = session.get(ECHO_KEY)
    if not isinstance(echo, dict) or echo.get("slug") != slug:
        return None
    session.pop(ECHO_KEY)
    if echo.get("id") is not None:
        return s.get(Comment, echo["id"])
    return Comment(id=0, post_slug=slug, body=str(echo.get("body") or ""), status=PENDING,
                   author_name=viewer.display_name, author_website=viewer.website,
                   avatar_url=viewer.avatar_url, created_at=datetime.now(UTC))


def _render_post(
    sessions: sessionmaker[Session],
    slug: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    form: Any = None,
) -> str:
    post = BY_SLUG.get(slug)
    if post is None:
        abort(404)
    viewer = current_commenter
    with sessions() as s:
        comments = _visible(s, slug)
        echo = _echo(s, slug, viewer)
    if echo is not None:
        comments.append(echo)
    return render_template(
        "post.html", post=post, comments=comments, error=error, notice=notice, form=form or {}
    )
