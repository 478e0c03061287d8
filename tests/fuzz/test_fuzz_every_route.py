"""Every route of the blog and the library (walked from the URL map, so new routes are fuzzed
too), every method, with fuzzed path values, query, form, JSON and cookies: never a 5xx, never
a traceback in the body."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from social_auth.session import CSRF_COOKIE, DRAFT_COOKIE, SESSION_COOKIE
from social_auth.testing import csrf_headers, make_commenter, session_cookie
from tests.apps import make_full_blog

_APP: dict[str, Flask] = {}


def blog_app() -> Flask:
    if "app" not in _APP:
        app = make_full_blog(Path(tempfile.mkdtemp(prefix="sa-fuzz-")))
        app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
        _APP["app"] = app
        # The blog's admin session cookie: the admin routes are fuzzed past their guard too.
        admin = app.test_client()
        admin.post(
            "/admin/login",
            data={"password": "admin-password-for-tests"},
            headers=csrf_headers(admin),
        )
        cookie = admin.get_cookie("session")
        assert cookie is not None
        _ADMIN_COOKIE["session"] = cookie.value
    return _APP["app"]


_ADMIN_COOKIE: dict[str, str] = {}


def route_methods() -> list[tuple[str, str]]:
    found = []
    for rule in blog_app().url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method))
    return sorted(found)


text = st.text(max_size=200) | st.sampled_from(
    ["", "\x00", "javascript:alert(1)", "//evil.example", "a@b.co", "%", "%ff", "é" * 3, "1" * 300]
)
keys = st.sampled_from(
    [
        "name",
        "email",
        "website",
        "next",
        "popup",
        "comment",
        "csrf_token",
        "code",
        "state",
        "error",
        "iss",
        "q",
        "page",
        "provider",
        "subject",
        "email_verified",
        "confirm",
        "x",
    ]
) | st.text(min_size=1, max_size=20)
fields = st.dictionaries(keys, text, max_size=6)
cookie_value = text | st.sampled_from(["e30.abc", "W10.ZXhwaXJlZA.c2ln", "a" * 3000])


def fill(rule: str, values: list[str]) -> str:
    import re

    parts = iter(values)

    def one(match: re.Match[str]) -> str:
        value = next(parts, "x") or "x"
        return "1" if match.group(1) == "int" else quote(value.replace("/", "_"), safe="")

    return re.sub(r"<(?:(\w+):)?\w+>", one, rule)


@pytest.mark.parametrize(("rule", "method"), route_methods())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
@given(
    path_values=st.lists(text, max_size=3),
    query=fields,
    form=fields,
    json_body=st.none() | st.dictionaries(keys, text | st.integers() | st.booleans(), max_size=4),
    cookies=st.dictionaries(
        st.sampled_from([SESSION_COOKIE, CSRF_COOKIE, DRAFT_COOKIE, "social_auth_flow"]),
        cookie_value,
        max_size=3,
    ),
    with_csrf=st.booleans(),
    signed_in=st.booleans(),
    as_admin=st.booleans(),
    accept=st.sampled_from(["application/json", "text/html", "*/*", ""]),
)
def test_no_input_makes_any_route_fail_with_a_server_error(
    rule: str,
    method: str,
    path_values: list[str],
    query: dict[str, str],
    form: dict[str, str],
    json_body: dict[str, Any] | None,
    cookies: dict[str, str],
    with_csrf: bool,
    signed_in: bool,
    as_admin: bool,
    accept: str,
):
    app = blog_app()
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    headers = {"Accept": accept}
    if signed_in:
        name, value = session_cookie(app, make_commenter(app, provider="fakebook"))
        client.set_cookie(name, value)
    if as_admin:
        client.set_cookie("session", _ADMIN_COOKIE["session"])
    if with_csrf:
        headers.update(csrf_headers(client))
    url = fill(rule, path_values)
    kwargs: dict[str, Any] = {"query_string": query, "headers": headers}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        if json_body is not None:
            kwargs["json"] = json_body
        else:
            kwargs["data"] = form
    response = client.open(url, method=method, **kwargs)
    body = response.get_data(as_text=True)
    assert response.status_code < 500, (method, url, response.status_code, body[:300])
    assert "Traceback" not in body and 'File "' not in body
