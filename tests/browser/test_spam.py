"""Spam checking in a real browser: the Akismet line under the form, and a comment posted at
bot speed is held (a person's, posted after a few seconds, is published)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from examples.blog import create_app
from social_auth.testing import make_commenter, session_cookie
from tests.browser.conftest import screenshot
from tests.providers.servers import serve_site
from tests.webapp import Fakebook, RecordingMailer
from tools.akismet_fake import VALID_KEY, FakeAkismet

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POST = "/posts/fixing-a-wobbly-table"
SEED_LINE = "This site uses Akismet to reduce spam. Learn how your comment data is processed."


@pytest.fixture(scope="module")
def spam_blog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str, FakeAkismet]]:
    folder: Path = tmp_path_factory.mktemp("spam-blog")
    with FakeAkismet().running() as akismet:

        def build(address: str) -> Flask:
            return create_app({
                "SECRET_KEY": "browser-spam-tests-secret-key",
                "SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{folder / 'auth.sqlite3'}",
                "BLOG_DATABASE_URI": f"sqlite:///{folder / 'blog.sqlite3'}",
                "BLOG_PROVIDER_ADAPTERS": [Fakebook],
                "SOCIAL_AUTH_PROVIDERS": {"fakebook": {}},
                "SOCIAL_AUTH_MAILER": RecordingMailer(),
                "SOCIAL_AUTH_SITE_URL": address,
                "SOCIAL_AUTH_AKISMET_KEY": VALID_KEY,
                "SOCIAL_AUTH_AKISMET_URL": akismet.url,
            })

        with serve_site(build) as (app, base):
            yield app, base, akismet


@pytest.fixture
def page(browser: Any, spam_blog: tuple[Flask, str, FakeAkismet]) -> Iterator[Any]:
    app, base, _ = spam_blog
    context = browser.new_context(base_url=base, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                  else route.abort())
    jane = make_commenter(app, display_name="Jane Doe", provider="fakebook")
    name, value = session_cookie(app, jane, provider="fakebook")
    context.add_cookies([{"name": name, "value": value, "url": base}])
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_bot_fast_comment_is_held_under_the_akismet_line(
    page: Any, spam_blog: tuple[Flask, str, FakeAkismet]
):
    # A bot fills the form and posts it the moment its HTML arrives (well under two seconds
    # after the page was rendered, however busy the machine).
    page.goto(POST, wait_until="domcontentloaded")
    page.evaluate("""() => {
      document.querySelector('#comment').value = 'Posted at once, like a bot';
      document.querySelector('button.submit').click();
    }""")
    page.wait_for_url(f"**{POST}#comment-pending")
    held = page.locator("li.comment", has_text="Posted at once")
    assert held.locator(".awaiting").inner_text() == "Your comment is awaiting moderation."
    sent = spam_blog[2].calls("comment-check")[-1]
    assert float(sent["comment_seconds_to_submit"]) < 2
    line = page.locator(".sa-akismet")
    assert " ".join(line.inner_text().split()) == SEED_LINE
    assert line.get_by_role("link").get_attribute("href") == "/auth/privacy#spam"
    box = page.locator("input[name=sa_hp_url]").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0  # off-screen: no person fills it
    screenshot(page, "post-page-akismet-line.png")


def test_a_comment_typed_at_a_persons_pace_is_published(page: Any):
    page.goto(POST)
    page.fill("#comment", "Took my time over this one")
    time.sleep(2.5)  # a person reading the post first
    page.click("button.submit")
    page.wait_for_url(f"**{POST}#comment-*")
    published = page.locator("li.comment", has_text="Took my time")
    assert published.count() == 1 and published.locator(".awaiting").count() == 0
