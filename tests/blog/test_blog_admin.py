"""The example blog's owner side: admin login, moderation, and comments that follow their
commenter through merges, undone merges, blocks and erasures."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, select
from sqlalchemy import text as sql
from werkzeug.test import TestResponse

from examples.blog.models import Comment
from social_auth import get_state
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from social_auth.web.moderation import form_fields
from tests.blog.test_blog import blog as blog_without_admin

POST = "/posts/walking-the-coast-path"
PASSWORD = "correct horse battery staple"


def blog(tmp_path: Path, **config: object) -> Flask:
    """The blog of tests/blog/test_blog.py with an owner password set."""
    return blog_without_admin(tmp_path, **{"BLOG_ADMIN_PASSWORD": PASSWORD, **config})


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return blog(tmp_path)


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def log_in(client: FlaskClient, password: str = PASSWORD) -> TestResponse:
    data = {"password": password, "next": "/admin"}
    return client.post("/admin/login", data=data, headers=csrf_headers(client))


@pytest.fixture
def owner(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert log_in(client).status_code == 303
    return client


def comment(client: FlaskClient, body: str, **fields: str) -> TestResponse:
    data = {"comment": body, **form_fields(client.application), **fields}
    return client.post(f"{POST}/comments", data=data,
                       headers=csrf_headers(client))


def comments(app: Flask) -> list[Comment]:
    with app.extensions["blog_sessions"]() as s:
        return list(s.scalars(select(Comment).order_by(Comment.id)))


def admin_post(client: FlaskClient, url: str, **data: str) -> TestResponse:
    return client.post(url, data=data, headers=csrf_headers(client) | {"Origin": "http://localhost"})


# -- login -----------------------------------------------------------------------------------


def test_the_admin_pages_need_the_owners_login(app: Flask):
    client = app.test_client()
    assert client.get("/admin").headers["Location"].startswith("/admin/login")
    assert client.get("/auth/admin/").status_code == 403
    wrong = log_in(client, "guess")
    assert wrong.status_code == 403 and "not the admin password" in text(wrong)
    assert client.get("/auth/admin/").status_code == 403
    assert log_in(client).headers["Location"] == "/admin"
    assert client.get("/auth/admin/").status_code == 200
    assert "Comments awaiting moderation" in text(client.get("/admin"))


def test_the_admin_login_needs_the_csrf_token(app: Flask):
    client = app.test_client()
    assert client.post("/admin/login", data={"password": PASSWORD}).status_code == 403
    assert client.get("/auth/admin/").status_code == 403


def test_logging_out_of_the_admin(owner: FlaskClient):
    owner.post("/admin/logout", headers=csrf_headers(owner))
    assert owner.get("/auth/admin/").status_code == 403


def test_without_a_password_the_admin_login_is_off(tmp_path: Path):
    client = blog(tmp_path, BLOG_ADMIN_PASSWORD=None).test_client()
    assert "BLOG_ADMIN_PASSWORD" in text(client.get("/admin/login"))
    assert log_in(client, "").status_code == 403
    assert client.get("/auth/admin/").status_code == 403


def test_repeated_wrong_passwords_are_slowed_down(app: Flask):
    client = app.test_client()
    statuses = [log_in(client, "guess").status_code for _ in range(11)]
    assert statuses[-1] == 403
    assert "Too many password attempts" in text(log_in(client))


def test_admin_pages_of_the_blog_cannot_be_framed(app: Flask):
    response = app.test_client().get("/admin/login")
    assert response.headers["X-Frame-Options"] == "DENY"


# -- moderation and the commenter admin ------------------------------------------------------


def test_the_owner_approves_a_pending_guest_comment(app: Flask, owner: FlaskClient):
    guest = app.test_client()
    comment(guest, "First!", name="Ann", email="ann@example.com")
    assert "First!" in text(owner.get("/admin"))
    [pending] = comments(app)
    owner.post(f"/admin/comments/{pending.id}/approve", headers=csrf_headers(owner))
    assert comments(app)[0].status == "approved"
    assert "First!" in text(app.test_client().get(POST))


def test_only_the_owner_approves(app: Flask):
    guest = app.test_client()
    comment(guest, "First!", name="Ann", email="ann@example.com")
    response = guest.post("/admin/comments/1/approve", headers=csrf_headers(guest))
    assert response.status_code == 403 and comments(app)[0].status == "pending"


def test_the_commenter_page_counts_the_blogs_comments_and_audits_the_owner(
    app: Flask, owner: FlaskClient
):
    client = app.test_client()
    jane = sign_in_client(client, display_name="Jane", provider="fakebook")
    comment(client, "One")
    comment(client, "Two")
    page = f"/auth/admin/commenters/{jane.public_id}"
    assert "<dt>Comments</dt><dd>2</dd>" in owner.get(page).get_data(as_text=True)
    admin_post(owner, f"{page}/block", until="3d")
    assert get_state(app).store.audit_log(jane)[0].actor == "admin:site-owner"


def test_an_export_includes_the_blogs_comments(app: Flask):
    client = app.test_client()
    sign_in_client(client, display_name="Jane", provider="fakebook")
    comment(client, "My words")
    data = json.loads(client.post("/auth/me/export", headers=csrf_headers(client)).data)
    assert [c["body"] for c in data["host"]["comments"]] == ["My words"]
    assert data["host"]["comments"][0]["post"] == "walking-the-coast-path"


def test_signed_in_commenters_find_their_data_link(app: Flask):
    client = app.test_client()
    assert "Download or erase your data" not in text(client.get(POST))
    sign_in_client(client, display_name="Jane", provider="fakebook")
    assert '/auth/privacy#your-data">Download or erase your data' in text(client.get(POST))


# -- block -----------------------------------------------------------------------------------


def test_a_blocked_commenter_is_signed_out_and_their_comment_refused(
    app: Flask, owner: FlaskClient
):
    client = app.test_client()
    jane = sign_in_client(client, display_name="Jane", provider="fakebook")
    assert "You are commenting using your Fakebook account." in text(client.get(POST))
    admin_post(owner, f"/auth/admin/commenters/{jane.public_id}/block")
    page = text(client.get(POST))
    assert "You are commenting using" not in page
    assert "Fill in your details below or click an icon to log in" in page
    response = comment(client, "Still here")
    assert response.status_code == 400
    assert comments(app) == []


# -- comments follow merges and erasures -----------------------------------------------------


def test_comments_follow_a_merge_and_go_back_when_it_is_undone(app: Flask, owner: FlaskClient):
    store = get_state(app).store
    old_client, new_client = app.test_client(), app.test_client()
    old = sign_in_client(old_client, display_name="Old Jane", provider="fakebook")
    new = sign_in_client(new_client, display_name="Jane", provider="fakebook")
    comment(old_client, "Written as old")
    comment(new_client, "Written as new")

    admin_post(owner, "/auth/admin/merge", source=old.public_id, target=new.public_id)
    assert [c.commenter_id for c in comments(app)] == [new.public_id, new.public_id]
    page = f"/auth/admin/commenters/{new.public_id}"
    assert "<dt>Comments</dt><dd>2</dd>" in owner.get(page).get_data(as_text=True)

    admin_post(owner, f"{page}/undo-merge")
    assert [c.commenter_id for c in comments(app)] == [old.public_id, new.public_id]
    assert store.require(old.public_id).merged_into_id is None


def test_comments_follow_a_chain_of_merges(app: Flask):
    store = get_state(app).store
    a_client = app.test_client()
    a = sign_in_client(a_client, display_name="A", provider="fakebook")
    comment(a_client, "by a")
    b = make_commenter(app, display_name="B", provider="fakebook")
    c = make_commenter(app, display_name="C", provider="fakebook")
    store.merge(a, b)
    store.merge(b, c)
    assert comments(app)[0].commenter_id == c.public_id
    store.undo_last_merge(c)  # b comes back, and a's comment with it (a is merged into b)
    assert comments(app)[0].commenter_id == b.public_id


def test_an_erased_commenters_comments_say_deleted_commenter(app: Flask, owner: FlaskClient):
    client = app.test_client()
    jane = sign_in_client(client, display_name="Jane Example", provider="fakebook")
    comment(client, "Words that stay")
    guest = app.test_client()
    comment(guest, "Another", name="Ann", email="ann@example.com", website="ann.example")
    assert "Jane Example" in text(client.get(POST))

    admin_post(owner, f"/auth/admin/commenters/{jane.public_id}/erase")
    page = text(app.test_client().get(POST))
    assert "Words that stay" in page and "deleted commenter" in page
    assert "Jane Example" not in page
    first = comments(app)[0]
    assert (first.author_name, first.author_website, first.avatar_url, first.provider) == (
        "", None, None, None
    )
    assert comments(app)[1].author_name == "Ann"  # nobody else's comments change


def test_a_self_service_erase_anonymises_a_guests_comments(app: Flask):
    guest = app.test_client()
    comment(guest, "Hello", name="Ann", email="ann@example.com", website="ann.example")
    response = guest.post("/auth/me/erase", headers=csrf_headers(guest))
    assert response.status_code == 200
    [only] = comments(app)
    assert (only.author_name, only.author_website, only.body) == ("", None, "Hello")
    assert "Ann" not in text(guest.get(POST))


def test_an_old_blog_database_gains_the_new_column(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'blog.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(sql(
            "CREATE TABLE blog_comment (id INTEGER PRIMARY KEY, post_slug VARCHAR(200), "
            "commenter_id VARCHAR(32), author_name VARCHAR(200), author_website VARCHAR(500), "
            "avatar_url VARCHAR(1000), provider VARCHAR(100), body TEXT, status VARCHAR(16), "
            "created_at DATETIME)"
        ))
    blog(tmp_path)
    columns = {c["name"] for c in inspect(engine).get_columns("blog_comment")}
    assert "original_commenter_id" in columns


def test_in_debug_without_a_password_a_random_one_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    app = blog(tmp_path, BLOG_ADMIN_PASSWORD=None, DEBUG=True)
    printed = capsys.readouterr().err
    assert "Blog admin password (debug only): " in printed
    password = printed.split("(debug only): ")[1].split()[0]
    assert password == app.config["BLOG_ADMIN_PASSWORD"] and len(password) >= 16
    client = app.test_client()
    assert log_in(client, password).status_code == 303
    assert client.get("/auth/admin/").status_code == 200
