"""One base page: a host that overrides ``social_auth/page.html`` restyles every page of the
extension's own, and a page whose address carries a secret still says no-referrer in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import FileSystemLoader

from social_auth.state import get_state
from social_auth.testing import csrf_headers
from social_auth.views import popup_result
from tests.webapp import RecordingMailer, make_app

TEMPLATES = Path(__file__).resolve().parent.parent / "social_auth" / "templates" / "social_auth"
PAGES = ["connections", "dev_authorize", "merge", "verify_email", "message", "popup_result"]
HOST_PAGE = """<!doctype html><html><head>
<meta name="referrer" content="{% block referrer %}same-origin{% endblock %}">
{%- block head %}{% endblock %}<title>{% block title %}{% endblock %}</title></head>
<body class="host-layout"><main>{% block content %}{% endblock %}</main>
{%- block scripts %}{% endblock %}</body></html>"""
NO_REFERRER = '<meta name="referrer" content="no-referrer">'
LINK = re.compile(r"http://localhost/auth/email/verify\?token=(\S+)")


def host_app(tmp_path: Path, *, override: bool) -> Flask:
    app = make_app(tmp_path)
    if override:
        folder = tmp_path / "host-templates"
        (folder / "social_auth").mkdir(parents=True)
        (folder / "social_auth" / "page.html").write_text(HOST_PAGE)
        app.jinja_loader = FileSystemLoader(str(folder))  # the host's own templates come first
    return app


def become_guest(client: FlaskClient) -> None:
    response = client.post(
        "/auth/guest",
        data={"name": "Ann", "email": "ann@example.com"},
        headers={**csrf_headers(client), "Accept": "application/json"},
    )
    assert response.status_code == 200


def verify_page(app: Flask, client: FlaskClient) -> str:
    become_guest(client)
    response = client.post(
        "/auth/email/start", headers={**csrf_headers(client), "Accept": "application/json"}
    )
    assert response.status_code == 200
    mailer = get_state(app).mailer
    assert isinstance(mailer, RecordingMailer)
    match = LINK.search(mailer.sent[-1][2])
    assert match is not None
    page = client.get("/auth/email/verify", query_string={"token": match.group(1)})
    assert page.status_code == 200
    return page.get_data(as_text=True)


@pytest.mark.parametrize("name", PAGES)
def test_each_page_extends_the_one_base_page(name: str):
    assert (TEMPLATES / f"{name}.html").read_text().startswith(
        '{% extends "social_auth/page.html" %}'
    )


def test_a_host_page_restyles_every_page_and_keeps_no_referrer(tmp_path: Path):
    app = host_app(tmp_path, override=True)
    client = app.test_client()
    message = client.get("/auth/connections").get_data(as_text=True)  # not signed in: 401 page
    assert "host-layout" in message and NO_REFERRER in message and "Sign in first" in message
    verify = verify_page(app, client)
    assert "host-layout" in verify and NO_REFERRER in verify and "same-origin" not in verify
    connections = client.get("/auth/connections").get_data(as_text=True)
    assert "host-layout" in connections and "Your connected accounts" in connections
    privacy = client.get("/auth/privacy").get_data(as_text=True)
    assert "host-layout" in privacy and "same-origin" in privacy
    with app.test_request_context("/auth/callback/fakebook"):
        popup = popup_result("signed-in", next_url="/").get_data(as_text=True)
    assert "host-layout" in popup and NO_REFERRER in popup and 'id="sa-result"' in popup


def test_the_shipped_base_page_says_no_referrer_where_a_secret_is_in_the_address(
    tmp_path: Path,
):
    app = host_app(tmp_path, override=False)
    client = app.test_client()
    verify = verify_page(app, client)
    assert NO_REFERRER in verify and "same-origin" not in verify
    assert "social_auth/pages.css" in verify and 'class="sa-page"' in verify
    privacy = client.get("/auth/privacy").get_data(as_text=True)
    assert '<meta name="referrer" content="same-origin">' in privacy
