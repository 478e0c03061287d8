"""The "Leave a Reply" block in a real browser: guest comments, popups, log out, drafts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from social_auth.testing import make_commenter, session_cookie
from tests.browser.conftest import dev_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POST = "/posts/sourdough-starter-in-a-week"


def test_a_guest_writes_a_comment_and_sees_it_awaiting_moderation(context: Any):
    page = context.new_page()
    page.goto(POST)
    assert page.get_by_text("Fill in your details below or click an icon to log in").is_visible()
    page.fill("#comment", "Day three smelled of nail polish here too!")
    page.fill("input[name=name]", "Ann Baker")
    page.fill("input[name=email]", "ann@example.com")
    page.fill("input[name=website]", "example.com")
    page.click("button.submit")
    page.wait_for_url(f"**{POST}#comment-*")
    comment = page.locator("li.comment", has_text="Day three smelled")
    assert comment.locator(".awaiting").inner_text() == "Your comment is awaiting moderation."
    assert "Ann Baker" in comment.inner_text()
    screenshot(page, "post-page-guest.png")


def test_a_signed_in_commenter_sees_their_account_and_logs_out(
    context: Any, blog_server: tuple[Flask, str]
):
    app, base = blog_server
    commenter = make_commenter(app, display_name="Jane Doe", provider="fakebook")
    name, value = session_cookie(app, commenter, provider="fakebook")
    context.add_cookies([{"name": name, "value": value, "url": base}])
    page = context.new_page()
    page.goto(POST)
    block = page.locator(".sa-block")
    assert "You are commenting using your Fakebook account." in block.inner_text()
    assert block.locator(".sa-name").inner_text() == "Jane Doe"
    screenshot(page, "post-page-signed-in.png")
    page.fill("#comment", "Half a thought")
    page.get_by_role("button", name="Log Out").click()
    page.get_by_text("Fill in your details below or click an icon to log in").wait_for()
    assert not page.locator(".sa-signed").is_visible()
    assert page.input_value("#comment") == "Half a thought"
    page.reload()
    assert page.locator(".sa-choose").is_visible()
    assert not page.locator(".sa-signed").is_visible()


def test_a_draft_survives_a_sign_in_cancelled_at_the_provider(context: Any):
    page = context.new_page()
    page.goto(POST)
    screenshot(page, "post-page-anonymous.png")
    page.fill("#comment", "Do not lose me")
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Log in with Dev sign-in").click()
    popup = popup_info.value
    popup.get_by_role("button", name="Cancel").wait_for()
    assert "/auth/dev/authorize?" in popup.url
    screenshot(popup, "dev-provider-page.png")
    popup.get_by_role("button", name="Cancel").click()
    page.get_by_text("Sign-in cancelled. Your comment is still here.").wait_for()
    assert page.input_value("#comment") == "Do not lose me"
    assert page.locator(".sa-choose").is_visible()


def test_a_popup_sign_in_through_dev_refreshes_the_block_without_reloading(context: Any):
    page = context.new_page()
    page.goto(POST)
    page.evaluate(
        """() => {
          window.notReloaded = true;
          window.statusLog = [];
          const status = document.querySelector('.sa-status');
          new MutationObserver(() => window.statusLog.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.fill("#comment", "Written before signing in")
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Log in with Dev sign-in").click()
    popup = popup_info.value
    assert "Connecting to Dev sign-in\u2026" in page.evaluate("window.statusLog")
    dev_sign_in(popup, "popup-jane", "Jane Popup")
    page.get_by_text("You are commenting using your Dev sign-in account.").wait_for()
    for _ in range(50):  # the popup closes itself after telling the page
        if popup.is_closed():
            break
        page.wait_for_timeout(100)
    assert popup.is_closed()
    assert page.evaluate("window.notReloaded") is True
    assert page.locator(".sa-name").inner_text() == "Jane Popup"
    assert page.input_value("#comment") == "Written before signing in"
    screenshot(page, "post-page-after-popup-sign-in.png")
    # At a person's pace: a form posted under two seconds after the page came is held as
    # spam-likely whoever posts it (social_auth.web.moderation), and a fast machine gets here
    # sooner than that.
    page.wait_for_timeout(2500)
    page.click("button.submit")
    page.wait_for_url(f"**{POST}#comment-*")
    posted = page.locator("li.comment", has_text="Written before signing in")
    assert "via Dev sign-in" in posted.inner_text()
    assert page.input_value("#comment") == ""  # posted, so no longer a draft
    assert posted.locator(".awaiting").count() == 0


def test_a_blocked_popup_falls_back_to_a_full_page_sign_in_and_keeps_the_draft(context: Any):
    page = context.new_page()
    page.add_init_script("window.open = function () { return null; };")
    page.goto(POST)
    page.fill("#comment", "Survives the redirect")
    page.get_by_role("button", name="Log in with Dev sign-in").click()
    page.wait_for_url("**/auth/dev/authorize?**")
    assert len(context.pages) == 1
    dev_sign_in(page, "redirect-ruth", "Ruth Redirect")
    page.get_by_text("You are commenting using your Dev sign-in account.").wait_for()
    assert page.url.endswith(POST)
    expect(page.locator("#comment")).to_have_value("Survives the redirect")


def test_messages_from_other_windows_are_ignored(context: Any):
    page = context.new_page()
    page.goto(POST)
    page.evaluate(
        "window.postMessage({type: 'social-auth', status: 'signed-in'}, location.origin)"
    )
    page.wait_for_timeout(300)
    assert page.locator(".sa-choose").is_visible()
    assert page.locator(".sa-status").inner_text() == ""


def test_without_javascript_sign_in_and_log_out_work_and_keep_the_draft(
    browser: Any, blog_server: tuple[Flask, str]
):
    _, base = blog_server
    context = browser.new_context(base_url=base, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(POST)
        page.fill("#comment", "Typed with scripts off")
        # The icon is a button of the comment form: it posts the draft with the sign-in.
        page.get_by_role("button", name="Log in with Dev sign-in").click()
        page.wait_for_url("**/auth/dev/authorize?**")
        dev_sign_in(page, "noscript-nina", "No Script")
        page.wait_for_url(f"**{POST}")
        assert "You are commenting using your Dev sign-in account." in page.inner_text(".sa-block")
        assert page.input_value("#comment") == "Typed with scripts off"
        page.get_by_role("button", name="Log Out").click()
        page.wait_for_load_state()
        assert page.locator(".sa-choose").is_visible()
        assert page.input_value("#comment") == "Typed with scripts off"
    finally:
        context.close()


def test_the_popup_page_opened_without_an_opener_goes_back_to_next(context: Any):
    page = context.new_page()
    page.goto(f"/auth/login/dev?next={POST}&popup=1")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"**{POST}")
    assert page.locator(".sa-choose").is_visible()
