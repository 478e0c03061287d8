"""The handle field in Chromium: the popup sign-in with what was typed, the same sign-in with
JavaScript off (a full page), the draft kept on both, and a readable error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.handles.conftest import close_database
from tests.handles.servers import IndieSite
from tests.providers.servers import serve_site
from tests.webapp import make_app


@pytest.fixture(scope="module")
def indie() -> Iterator[IndieSite]:
    with IndieSite().running() as site:
        yield site


@pytest.fixture
def handle_site(tmp_path: Path) -> Iterator[str]:
    def build(address: str) -> Flask:
        return make_app(
            tmp_path,
            SOCIAL_AUTH_SITE_URL=address,
            SOCIAL_AUTH_HANDLES={"indieauth": {}, "mastodon": {}},
            SOCIAL_AUTH_FETCH_ALLOW_PRIVATE=True,
        )

    with serve_site(build) as (app, address):
        yield address
    close_database(app)


@pytest.fixture
def page(browser: Any, handle_site: str) -> Iterator[Any]:
    context = browser.new_context(base_url=handle_site)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_popup_signs_in_with_the_typed_website_and_keeps_the_draft(page, indie):
    page.goto("/page")
    page.fill("textarea[name=comment]", "A thoughtful comment")
    page.get_by_label("Or sign in with").fill(indie.me)
    with page.expect_popup():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(".sa-signed:not([hidden])")
    assert "website (IndieAuth)" in page.inner_text(".sa-how-text")
    assert page.input_value("textarea[name=comment]") == "A thoughtful comment"


def test_enter_in_the_field_starts_the_sign_in_not_the_comment_form(page, indie):
    page.goto("/page")
    field = page.get_by_label("Or sign in with")
    field.fill(indie.me)
    with page.expect_popup():
        field.press("Enter")
    page.wait_for_selector(".sa-signed:not([hidden])")


def test_an_unreadable_handle_is_explained_in_the_block(page):
    page.goto("/page")
    page.fill("textarea[name=comment]", "Still mine")
    page.get_by_label("Or sign in with").fill("not a handle")
    with page.expect_popup():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_function(
        "document.querySelector('.sa-status').textContent.includes('not a handle')"
    )
    assert page.input_value("textarea[name=comment]") == "Still mine"


def test_without_javascript_the_form_posts_and_the_draft_comes_back(
    browser: Any, handle_site: str, indie
):
    context = browser.new_context(base_url=handle_site, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/page")
        page.fill("textarea[name=comment]", "Typed without scripts")
        page.get_by_label("Or sign in with").fill(indie.me)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/page")
        assert page.input_value("textarea[name=comment]") == "Typed without scripts"
        assert "website (IndieAuth)" in page.inner_text(".sa-how-text")
    finally:
        context.close()


def test_without_javascript_an_error_page_keeps_the_draft(browser: Any, handle_site: str):
    context = browser.new_context(base_url=handle_site, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/page")
        page.fill("textarea[name=comment]", "Do not lose this")
        page.get_by_label("Or sign in with").fill("@nobody@")
        page.get_by_role("button", name="Sign in").click()
        assert "not a handle" in page.content()
        page.get_by_role("link", name="Back").click()
        assert page.input_value("textarea[name=comment]") == "Do not lose this"
    finally:
        context.close()
