"""The popup's message channel in a real browser, with a hostile page on a second loopback
origin (127.0.0.2): the popup page posts only to the site's exact origin and never a code or a
token; the comment block believes only its own popup, on its own origin."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from flask import Flask, redirect, request
from werkzeug.serving import make_server

from social_auth import Provider
from social_auth.views import popup_result
from tests.apps import make_blog
from tests.providers.servers import serve_site
from tests.webapp import Fakebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POST = "/posts/sourdough-starter-in-a-week"


class Holdbox(Provider):
    """A provider whose consent page (``/hold`` on the blog itself) waits forever: the popup
    stays open while the test plays the attacker."""

    name = "holdbox"
    title = "Holdbox"
    required_settings: ClassVar[tuple[str, ...]] = ()
    authorize_url = "/hold"
    access_token_url = "/hold/token"

    @property
    def client_id(self) -> str:
        return "holdbox"


def serve(app: Flask, host: str) -> tuple[Any, str]:
    server = make_server(host, 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_port}"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("popup")

    def build(address: str) -> Flask:
        blog = make_blog(
            folder,
            SOCIAL_AUTH_SITE_URL=address,
            BLOG_PROVIDER_ADAPTERS=[Fakebook, Holdbox],
            SOCIAL_AUTH_PROVIDERS={"fakebook": {}, "holdbox": {}},
        )

        @blog.get("/hold")
        def hold() -> str:
            return "<!doctype html><title>Holdbox consent</title><p>Waiting for you to decide…</p>"

        @blog.get("/test/popup-done")
        def popup_done() -> Any:
            # What a callback ends with, for a URL that carried a code and a token.
            return popup_result("signed-in", next_url="/")

        @blog.get("/test/opener")
        def opener() -> str:
            return OPENER_PAGE

        if not any(r.rule == "/auth/login/<provider>" for r in blog.url_map.iter_rules()):
            # Before the login route exists: the same hop to the consent page.
            @blog.get("/auth/login/<provider>")
            def login(provider: str) -> Any:
                return redirect("/hold?" + request.query_string.decode())

        return blog

    hostile = Flask("hostile")

    @hostile.get("/")
    def hostile_page() -> str:
        return OPENER_PAGE

    hostile_server, hostile_url = serve(hostile, "127.0.0.2")
    try:
        with serve_site(build) as (_blog, blog_url):
            yield blog_url, hostile_url
    finally:
        hostile_server.shutdown()


#: A page that opens windows and records every message it hears.
OPENER_PAGE = """<!doctype html><title>opener</title><script>
window.got = [];
window.addEventListener("message", function (e) {
  window.got.push({origin: e.origin, data: e.data});
});
</script><p>opener</p>"""


@pytest.fixture
def context(browser: Any, sites: tuple[str, str]) -> Iterator[Any]:
    blog_url, hostile_url = sites
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(10_000)

    def loopback_only(route: Any) -> None:
        url = route.request.url
        if url.startswith((blog_url, hostile_url)):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", loopback_only)
    try:
        yield context
    finally:
        context.close()


def open_and_wait_closed(page: Any, url: str) -> list[dict[str, Any]]:
    with page.context.expect_page() as popup_info:
        page.evaluate("url => { window.child = window.open(url, 'child', 'popup'); }", url)
    popup = popup_info.value
    popup.wait_for_event("close")
    page.wait_for_timeout(300)
    got: list[dict[str, Any]] = page.evaluate("window.got")
    return got


def test_popup_result_is_heard_by_the_sites_own_opener_and_carries_no_secret(context, sites):
    blog_url, _ = sites
    page = context.new_page()
    page.goto(f"{blog_url}/test/opener")
    got = open_and_wait_closed(page, f"{blog_url}/test/popup-done?code=SECRETCODE&state=S")
    assert got == [{"origin": blog_url, "data": {"type": "social-auth", "status": "signed-in"}}]
    assert "SECRETCODE" not in json.dumps(got)


def test_popup_result_never_reaches_an_opener_on_another_origin(context, sites):
    blog_url, hostile_url = sites
    page = context.new_page()
    page.goto(hostile_url)
    got = open_and_wait_closed(page, f"{blog_url}/test/popup-done?code=SECRETCODE&state=S")
    assert got == []


def test_popup_page_source_names_no_wildcard_origin_and_no_secret(context, sites):
    blog_url, _ = sites
    page = context.new_page()
    response = page.request.get(f"{blog_url}/test/popup-done?code=SECRETCODE&access_token=T0K")
    html = response.text()
    data = json.loads(re.search(r'id="sa-result">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert data["origins"] == [blog_url]
    assert "SECRETCODE" not in html and "T0K" not in html and '"*"' not in html
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_block_ignores_messages_from_other_origins_and_other_windows(context, sites):
    blog_url, hostile_url = sites
    hostile = context.new_page()
    hostile.goto(hostile_url)
    # The hostile page opens the blog itself, so it holds a reference to the blog's window.
    with context.expect_page() as blog_info:
        hostile.evaluate("url => { window.blog = window.open(url, 'blog'); }", blog_url + POST)
    blog = blog_info.value
    blog.wait_for_load_state()
    me_requests: list[str] = []
    blog.on("request", lambda r: me_requests.append(r.url) if "/auth/me" in r.url else None)
    blog.fill("#comment", "Draft typed before the attack")
    with context.expect_page() as popup_info:
        blog.get_by_role("button", name="Log in with Holdbox").click()
    popup = popup_info.value
    popup.wait_for_url("**/hold**")
    status = blog.locator(".sa-status")
    assert status.inner_text().startswith("Connecting to Holdbox")
    forged = "{type: 'social-auth', status: 'signed-in'}"
    # 1. Another origin, posting to the blog's window with a wildcard.
    hostile.evaluate(f"window.blog.postMessage({forged}, '*')")
    # 2. The blog's own origin, but not the popup: the page itself, and a same-origin frame.
    blog.evaluate(f"window.postMessage({forged}, location.origin)")
    blog.evaluate(
        """forged => new Promise(done => {
            const frame = document.createElement('iframe');
            frame.src = '/hold';
            frame.onload = () => { frame.contentWindow.eval(
                "parent.postMessage({type: 'social-auth', status: 'error', message: 'pwned'}, "
                + "location.origin)"
            ); done(); };
            document.body.appendChild(frame);
        })""",
        forged,
    )
    blog.wait_for_timeout(500)
    assert me_requests == [], "a forged message made the block refresh"
    assert status.inner_text().startswith("Connecting to Holdbox")
    assert "pwned" not in blog.inner_text("body")
    # The real popup, on the real origin, is heard: the negatives above were not vacuous.
    popup.evaluate(
        "window.opener.postMessage({type: 'social-auth', status: 'cancelled'}, location.origin)"
    )
    blog.wait_for_function(
        "document.querySelector('.sa-status').textContent.startsWith('Sign-in cancelled')"
    )
    assert blog.input_value("#comment") == "Draft typed before the attack"
