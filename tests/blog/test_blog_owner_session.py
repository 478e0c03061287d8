"""The example blog's owner session is revocable on the server: the Flask session cookie only
carries a value made from the owner's key in the blog's database (``OwnerSession``), so a copy
of the cookie taken before a logout stops being the owner's on ``/auth/admin/`` and ``/admin``,
in every worker; a new admin password ends the sessions made with the old one."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from examples.blog.models import PENDING, Comment
from social_auth.testing import csrf_headers
from tests.apps import make_blog

PASSWORD = "admin-password-for-tests"
#: Flask's session cookie: where the blog keeps the owner's login.
SESSION = "session"


def make_owned_blog(tmp_path: Path, password: str = PASSWORD) -> Flask:
    """A worker of the blog on the SQLite files in ``tmp_path``, with an admin password."""
    return make_blog(tmp_path, BLOG_ADMIN_PASSWORD=password)


def log_in(client: FlaskClient, password: str = PASSWORD) -> None:
    data = {"password": password, "next": "/admin"}
    response = client.post("/admin/login", data=data, headers=csrf_headers(client))
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def log_out(client: FlaskClient) -> None:
    response = client.post("/admin/logout", headers=csrf_headers(client))
    assert response.status_code == 303


def copy_of(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser (or an attacker) holding ``client``'s session cookie as it is now."""
    cookie = client.get_cookie(SESSION)
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(SESSION, cookie.value)
    return other


def is_owner(client: FlaskClient) -> bool:
    """What both owner areas say of ``client``: the extension's admin and the blog's own."""
    extension = client.get("/auth/admin/").status_code
    blog = client.get("/admin")
    assert extension in (200, 403)
    assert (extension == 200) == (blog.status_code == 200), (extension, blog.status_code)
    if blog.status_code != 200:
        assert blog.headers["Location"].startswith("/admin/login")
    return extension == 200


def pending_comment(app: Flask) -> int:
    with app.extensions["blog_sessions"]() as s, s.begin():
        comment = Comment(post_slug="walking-the-coast-path", commenter_id="c1",
                          author_name="Guest", body="Hello", status=PENDING)
        s.add(comment)
    return comment.id


def status_of(app: Flask, comment_id: int) -> str:
    with app.extensions["blog_sessions"]() as s:
        return str(s.scalar(select(Comment.status).where(Comment.id == comment_id)))


def test_a_cookie_copied_before_logout_is_no_longer_the_owners(tmp_path: Path):
    blog = make_owned_blog(tmp_path)
    owner = blog.test_client()
    log_in(owner)
    stolen = copy_of(owner, blog)
    assert is_owner(stolen)  # the copy works while the owner is logged in
    log_out(owner)
    assert not is_owner(owner)
    assert not is_owner(stolen)
    waiting = pending_comment(blog)
    refused = stolen.post(f"/admin/comments/{waiting}/approve", headers=csrf_headers(stolen))
    assert refused.status_code == 403 and status_of(blog, waiting) == PENDING
    log_in(owner)  # a fresh login works, and does not bring the old copy back
    assert is_owner(owner) and not is_owner(stolen)


def test_two_workers_on_the_same_database_agree(tmp_path: Path):
    first, second = make_owned_blog(tmp_path), make_owned_blog(tmp_path)
    owner = first.test_client()
    log_in(owner)
    at_second = copy_of(owner, second)
    assert is_owner(at_second)
    log_out(at_second)  # logged out at the other worker
    assert not is_owner(owner)
    assert not is_owner(copy_of(owner, second))
    log_in(at_second)
    assert is_owner(copy_of(at_second, first))


def test_logging_in_in_a_second_browser_keeps_the_first_logged_in(tmp_path: Path):
    blog = make_owned_blog(tmp_path)
    laptop, phone = blog.test_client(), blog.test_client()
    log_in(laptop)
    log_in(phone)
    assert is_owner(laptop) and is_owner(phone)
    assert "in every browser" in phone.get("/admin").text
    log_out(phone)  # ends every owner session, as the button says
    assert not is_owner(laptop)


def test_a_visitor_cannot_end_the_owners_session(tmp_path: Path):
    blog = make_owned_blog(tmp_path)
    owner, visitor = blog.test_client(), blog.test_client()
    log_in(owner)
    log_out(visitor)  # a form of the site's own, sent by someone who is not the owner
    assert is_owner(owner)


def test_a_new_admin_password_ends_the_sessions_made_with_the_old_one(tmp_path: Path):
    before = make_owned_blog(tmp_path)
    owner = before.test_client()
    log_in(owner)
    after = make_owned_blog(tmp_path, "a-new-admin-password")
    assert not is_owner(copy_of(owner, after))
    fresh = after.test_client()
    log_in(fresh, "a-new-admin-password")
    assert is_owner(fresh)
