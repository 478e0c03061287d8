"""Issue 5's browser story: sign in with ``dev`` as A, connect a second ``dev`` identity that
belongs to B, merge B into A after the confirmation page, and see both identities."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.testing import make_commenter
from tests.browser.conftest import dev_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POST = "/posts/walking-the-coast-path"


def test_connect_an_identity_of_another_commenter_merge_and_see_both(
    context: Any, blog_server: tuple[Flask, str]
):
    app, _ = blog_server
    bee = make_commenter(app, display_name="Bee B", provider="dev", subject="bee-b")
    page = context.new_page()
    page.goto(POST)
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Log in with Dev sign-in").click()
    dev_sign_in(popup_info.value, "ann-a", "Ann A")
    page.get_by_text("You are commenting using your Dev sign-in account.").wait_for()

    page.goto("/auth/connections")
    assert page.locator("li.identity").count() == 1
    page.get_by_role("button", name="Connect Dev sign-in").click()
    page.wait_for_url("**/auth/dev/authorize?**")
    dev_sign_in(page, "bee-b", "Bee B")
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == (
        "This Dev sign-in account is already linked to another commenter"
    )
    assert "Sign in with it and merge" in page.inner_text("main")
    assert "Dev sign-in: Bee B" in page.inner_text(".moves")  # what moves
    screenshot(page, "merge-confirmation.png")

    page.get_by_role("button", name="Merge into my account").click()
    page.wait_for_url("**/auth/connections")
    assert "The two commenters are merged into this one." in page.inner_text(".notice")
    identities = page.locator("li.identity")
    assert identities.count() == 2
    text = identities.all_inner_texts()
    assert any("Ann A" in t for t in text) and any("Bee B" in t for t in text)
    screenshot(page, "connections-after-merge.png")
    merged = get_state(app).store.get(bee.id)
    assert merged is not None and merged.merged_into_id is not None

    # An admin blocks the merged commenter: their open page shows the signed-out block on the
    # next request.
    store = get_state(app).store
    ann = store.get(merged.merged_into_id)
    assert ann is not None
    page.goto(POST)
    assert page.locator(".sa-signed").is_visible()
    store.block(ann, actor="test-admin")
    page.reload()
    assert page.locator(".sa-choose").is_visible()
    assert not page.locator(".sa-signed").is_visible()
