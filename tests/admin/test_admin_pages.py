"""The admin pages: who may open them, forged and cross-site posts, and every admin action."""

from __future__ import annotations

import html
import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from werkzeug.test import TestResponse

from social_auth import Commenter, ConfigError, Profile, get_state
from social_auth.store.models import utcnow
from social_auth.testing import csrf_headers, make_commenter, sign_in_client
from tests.apps import admin_app
from tests.webapp import make_app

ADMIN = "/auth/admin"


def admin_name() -> str:
    return "alice"


#: Used by the "module:function" test; a plain attribute of this module.
not_callable = 42


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return admin_app(
        tmp_path,
        SOCIAL_AUTH_ADMIN_ACTOR=admin_name,
        SOCIAL_AUTH_COMMENT_COUNT=lambda c: 7,
        SOCIAL_AUTH_EXPORT_HOOK=lambda c: {"comments": [f"by {c.public_id}"]},
    )


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("test_admin", "yes")
    return client


def post(client: FlaskClient, url: str, **data: str) -> TestResponse:
    """A form post the way the admin pages send it: CSRF token and this site's Origin."""
    headers = csrf_headers(client) | {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    return client.post(url, data=data, headers=headers)


def reload(app: Flask, c: Commenter) -> Commenter:
    found = get_state(app).store.get(c.id)
    assert found is not None
    return found


def page_of(c: Commenter) -> str:
    return f"{ADMIN}/commenters/{c.public_id}"


def text(response: TestResponse) -> str:
    """The page as a reader sees it (entities such as &#39; decoded)."""
    return html.unescape(response.get_data(as_text=True))


def whoami(client: FlaskClient) -> str:
    return text(client.get("/whoami"))


# -- who may open it ---------------------------------------------------------------------------


def test_the_admin_is_not_mounted_without_an_admin_check(tmp_path: Path):
    assert make_app(tmp_path).test_client().get(f"{ADMIN}/").status_code == 404


def test_admin_pages_refuse_non_admins(app: Flask):
    jane = make_commenter(app, display_name="Jane")
    client = app.test_client()
    sign_in_client(client, jane)  # a signed-in commenter is not an admin
    for url in (f"{ADMIN}/", page_of(jane), f"{page_of(jane)}/export"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Only the site's administrators" in text(response)
    response = post(client, f"{page_of(jane)}/block")
    assert response.status_code == 403
    assert not reload(app, jane).is_blocked


def test_the_admin_check_may_be_a_module_function_string(tmp_path: Path):
    app = make_app(tmp_path, SOCIAL_AUTH_ADMIN_CHECK="tests.apps:is_admin")
    client = app.test_client()
    assert client.get(f"{ADMIN}/").status_code == 403
    client.set_cookie("test_admin", "yes")
    assert client.get(f"{ADMIN}/").status_code == 200


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tests.no_such_module:is_admin", "cannot import"),
        ("tests.admin.test_admin_pages:no_such_function", "cannot import"),
        ("tests.admin.test_admin_pages:not_callable", "is not callable"),
    ],
)
def test_an_admin_check_that_does_not_import_fails_at_init(
    tmp_path: Path, value: str, message: str
):
    with pytest.raises(ConfigError, match=message) as info:
        make_app(tmp_path, SOCIAL_AUTH_ADMIN_CHECK=value)
    assert info.value.key == "SOCIAL_AUTH_ADMIN_CHECK"


def test_every_admin_response_forbids_framing(app: Flask, admin: FlaskClient):
    jane = make_commenter(app)
    responses = [
        admin.get(f"{ADMIN}/"),
        admin.get(page_of(jane)),
        admin.get(f"{ADMIN}/commenters/nobody"),
        admin.get(f"{ADMIN}/no-such-page"),
        app.test_client().get(f"{ADMIN}/"),
        post(admin, f"{page_of(jane)}/unblock"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 404, 404, 403, 303]
    for response in responses:
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
    assert "X-Frame-Options" not in app.test_client().get("/page").headers


# -- forged and cross-site posts ----------------------------------------------------------


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(app: Flask, admin: FlaskClient):
    jane = make_commenter(app)
    response = admin.post(f"{page_of(jane)}/block", data={"until": ""})
    assert response.status_code == 403
    assert "security token" in text(response)
    assert not reload(app, jane).is_blocked
    assert get_state(app).store.audit_log(jane) == []


def test_a_post_with_a_forged_token_is_refused(app: Flask, admin: FlaskClient):
    jane = make_commenter(app)
    csrf_headers(admin)
    response = admin.post(f"{page_of(jane)}/block", headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403
    assert not reload(app, jane).is_blocked


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_site_post_is_refused_even_with_a_valid_token(
    app: Flask, admin: FlaskClient, headers: dict[str, str]
):
    jane = make_commenter(app)
    response = admin.post(f"{page_of(jane)}/block", headers=csrf_headers(admin) | headers)
    assert response.status_code == 403
    assert "this site's own admin pages" in text(response)
    assert not reload(app, jane).is_blocked


# -- search ----------------------------------------------------------------------------------


def test_search_finds_commenters_by_name_email_subject_and_username(
    app: Flask, admin: FlaskClient
):
    store = get_state(app).store
    jane = make_commenter(app, display_name="Jane Doe", subject="g-1001", email="jd@mail.example")
    bob = make_commenter(app, display_name="Bob", subject="b-7")
    store.create_guest("Carol", "carol@example.org")
    bobby = Profile(provider="letterbox", subject="x9", display_name="B", username="bobby_tables")
    store.link(bob, bobby)

    def names(query: str) -> set[str]:
        body = text(admin.get(f"{ADMIN}/", query_string={"q": query}))
        return {n for n in ("Jane Doe", "Bob", "Carol") if f">{n}</a>" in body}

    assert names("jane") == {"Jane Doe"}
    assert names("MAIL.EXAMPLE") == {"Jane Doe"}
    assert names("g-1001") == {"Jane Doe"}
    assert names("bobby") == {"Bob"}
    assert names("carol@") == {"Carol"}
    assert names(jane.public_id) == {"Jane Doe"}
    assert names("") == {"Jane Doe", "Bob", "Carol"}
    assert names("nobody-like-this") == set()


def test_search_results_are_paged(app: Flask, admin: FlaskClient):
    for n in range(30):
        make_commenter(app, display_name=f"Reader {n:02d}")
    first = text(admin.get(f"{ADMIN}/"))
    second = text(admin.get(f"{ADMIN}/?page=2"))
    assert "Page 1 of 2" in first and ">Reader 29</a>" in first and ">Reader 04</a>" not in first
    assert "Page 2 of 2" in second and ">Reader 04</a>" in second and ">Reader 29</a>" not in second
    assert admin.get(f"{ADMIN}/?page=abc").status_code == 200
    assert admin.get(f"{ADMIN}/?page=99999999999999999999").status_code == 200


@pytest.mark.parametrize("query", ["a\x00b", "x" * 201])
def test_an_unusable_search_is_a_clear_400(admin: FlaskClient, query: str):
    response = admin.get(f"{ADMIN}/", query_string={"q": query})
    assert response.status_code == 400
    assert "Search for a name" in text(response)


@pytest.mark.parametrize("public_id", ["nobody", "a%00b", "x" * 60, "x.y"])
def test_an_unknown_commenter_is_a_clear_404(admin: FlaskClient, public_id: str):
    response = admin.get(f"{ADMIN}/commenters/{public_id}")
    assert response.status_code == 404
    assert "No commenter with id" in text(response)


# -- the commenter page --------------------------------------------------------------------


def test_the_commenter_page_shows_identities_emails_audit_log_and_comment_count(
    app: Flask, admin: FlaskClient
):
    jane = make_commenter(
        app, display_name="Jane", provider="fakebook", subject="fb-42",
        email="jane@example.com", email_verified=True,
        avatar_url="https://img.example/jane.png",
    )
    get_state(app).store.block(jane, actor="admin:root")
    body = text(admin.get(page_of(jane)))
    assert "Fakebook" in body and "fb-42" in body and "jane@example.com" in body
    assert "verified" in body
    # Our copy (here her identicon: nothing was fetched), never the provider's address.
    assert "img.example" not in body and 'src="/auth/avatars/i/' in body
    assert "<dt>Comments</dt><dd>7</dd>" in body
    assert "admin:root" in body and "block" in body  # the audit log
    assert "Unblock" in body


# -- merge ---------------------------------------------------------------------------------


def test_a_merge_is_previewed_then_confirmed(app: Flask, admin: FlaskClient):
    store = get_state(app).store
    old = make_commenter(app, display_name="Old Jane", provider="letterbox", subject="lb-1")
    new = make_commenter(app, display_name="Jane", provider="fakebook", subject="fb-1")
    preview = admin.get(f"{ADMIN}/merge", query_string={"source": old.public_id,
                                                       "target": new.public_id})
    body = text(preview)
    assert preview.status_code == 200
    assert "Merge Old Jane into Jane?" in body and "Letterbox identity" in body and "lb-1" in body
    assert reload(app, old).merged_into_id is None  # a preview changes nothing

    response = post(admin, f"{ADMIN}/merge", source=old.public_id, target=new.public_id)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{page_of(new)}?done=merged")
    assert reload(app, old).merged_into_id == new.id
    assert {i.subject for i in reload(app, new).identities} == {"lb-1", "fb-1"}
    assert store.audit_log(new)[0].actor == "admin:alice"
    page = text(admin.get(response.headers["Location"]))
    assert "The commenters were merged." in page and "Undo the last merge" in page


def test_a_merge_into_itself_is_explained_on_the_preview_without_a_button(
    app: Flask, admin: FlaskClient
):
    jane = make_commenter(app, display_name="Jane")
    q = {"source": jane.public_id, "target": jane.public_id}
    response = admin.get(f"{ADMIN}/merge", query_string=q)
    body = text(response)
    assert response.status_code == 409
    assert "cannot be merged into itself" in body and ">Merge</button>" not in body
    refused = post(admin, f"{ADMIN}/merge", **q)
    assert refused.status_code == 409
    assert "cannot be merged into itself" in text(refused)


def test_a_merge_preview_without_a_second_commenter_is_a_clear_4xx(
    app: Flask, admin: FlaskClient
):
    jane = make_commenter(app)
    missing = admin.get(f"{ADMIN}/merge", query_string={"target": jane.public_id})
    assert missing.status_code == 400 and "Give the commenter to merge" in missing.get_data(
        as_text=True
    )
    unknown = admin.get(f"{ADMIN}/merge", query_string={"target": jane.public_id,
                                                       "source": "nobody"})
    assert unknown.status_code == 404


def test_the_last_merge_can_be_undone(app: Flask, admin: FlaskClient):
    store = get_state(app).store
    old = make_commenter(app, display_name="Old", subject="s-old")
    new = make_commenter(app, display_name="New", subject="s-new")
    store.merge(old, new, actor="admin:alice")
    response = post(admin, f"{page_of(new)}/undo-merge")
    assert response.status_code == 303
    assert reload(app, old).merged_into_id is None
    assert [i.subject for i in reload(app, old).identities] == ["s-old"]
    assert store.audit_log(new)[0].action == "unmerge"
    again = post(admin, f"{page_of(new)}/undo-merge")
    assert again.status_code == 409
    assert "no merge to undo" in text(again)


# -- block -----------------------------------------------------------------------------------


def test_a_block_signs_the_commenter_out_on_their_very_next_request(
    app: Flask, admin: FlaskClient
):
    jane = make_commenter(app, display_name="Jane")
    commenter = app.test_client()
    sign_in_client(commenter, jane)
    assert whoami(commenter) == jane.public_id
    response = post(admin, f"{page_of(jane)}/block", until="")
    assert response.status_code == 303
    assert whoami(commenter) == "anonymous"
    blocked = reload(app, jane)
    assert blocked.is_blocked and blocked.blocked_until is None
    assert get_state(app).store.audit_log(jane)[0].actor == "admin:alice"
    # Signing in again (a fresh cookie) does not get round the block either.
    sign_in_client(commenter, blocked)
    assert whoami(commenter) == "anonymous"


@pytest.mark.parametrize(("until", "days"), [("7d", 7), ("2w", 14)])
def test_a_block_may_last_for_a_while(app: Flask, admin: FlaskClient, until: str, days: int):
    jane = make_commenter(app)
    post(admin, f"{page_of(jane)}/block", until=until)
    blocked_until = reload(app, jane).blocked_until
    assert blocked_until is not None
    assert abs(blocked_until - (utcnow() + timedelta(days=days))) < timedelta(minutes=1)


def test_a_block_may_last_until_a_date(app: Flask, admin: FlaskClient):
    jane = make_commenter(app)
    post(admin, f"{page_of(jane)}/block", until="2999-01-31")
    blocked_until = reload(app, jane).blocked_until
    assert blocked_until is not None and blocked_until.isoformat().startswith("2999-01-31T00:00")


@pytest.mark.parametrize("until", ["soonish", "2001-01-01", "99999999999d", "0d"])
def test_an_unusable_block_expiry_is_a_clear_400_and_blocks_nobody(
    app: Flask, admin: FlaskClient, until: str
):
    jane = make_commenter(app)
    response = post(admin, f"{page_of(jane)}/block", until=until)
    assert response.status_code == 400
    assert "Give a future date such as 2030-12-31" in text(response)
    assert not reload(app, jane).is_blocked


def test_an_unblock_lifts_the_block(app: Flask, admin: FlaskClient):
    jane = make_commenter(app)
    get_state(app).store.block(jane)
    response = post(admin, f"{page_of(jane)}/unblock")
    assert response.status_code == 303
    assert not reload(app, jane).is_blocked
    commenter = app.test_client()
    sign_in_client(commenter, reload(app, jane))
    assert whoami(commenter) == jane.public_id


# -- identities ------------------------------------------------------------------------------


def test_unlinking_the_last_way_to_sign_in_is_refused_with_a_clear_message(
    app: Flask, admin: FlaskClient
):
    jane = make_commenter(app, display_name="Jane")
    identity = jane.identities[0]
    response = post(admin, f"{page_of(jane)}/identities/{identity.id}/unlink")
    body = text(response)
    assert response.status_code == 409
    assert "only way to sign in" in body and "Merge them into another commenter" in body
    assert len(reload(app, jane).identities) == 1


def test_unlinking_one_of_two_identities(app: Flask, admin: FlaskClient):
    store = get_state(app).store
    jane = make_commenter(app, subject="keep")
    store.link(jane, Profile(provider="letterbox", subject="drop", display_name=None))
    drop = next(i for i in reload(app, jane).identities if i.subject == "drop")
    response = post(admin, f"{page_of(jane)}/identities/{drop.id}/unlink")
    assert response.status_code == 303
    assert [i.subject for i in reload(app, jane).identities] == ["keep"]
    assert store.audit_log(jane)[0].actor == "admin:alice"


def test_an_identity_of_someone_else_is_not_found_on_this_page(app: Flask, admin: FlaskClient):
    jane, bob = make_commenter(app), make_commenter(app)
    response = post(admin, f"{page_of(jane)}/identities/{bob.identities[0].id}/unlink")
    assert response.status_code == 404
    assert len(reload(app, bob).identities) == 1


def test_an_identity_moves_to_another_commenter(app: Flask, admin: FlaskClient):
    store = get_state(app).store
    jane, bob = make_commenter(app, subject="j"), make_commenter(app, subject="b")
    store.link(jane, Profile(provider="letterbox", subject="misplaced", display_name=None))
    moving = next(i for i in reload(app, jane).identities if i.subject == "misplaced")
    response = post(admin, f"{page_of(jane)}/identities/{moving.id}/move", target=bob.public_id)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{page_of(bob)}?done=moved")
    assert {i.subject for i in reload(app, bob).identities} == {"b", "misplaced"}


@pytest.mark.parametrize(("target", "status"), [("", 400), ("nobody", 404), ("a b", 404)])
def test_moving_to_a_missing_commenter_is_a_clear_4xx(
    app: Flask, admin: FlaskClient, target: str, status: int
):
    jane = make_commenter(app)
    url = f"{page_of(jane)}/identities/{jane.identities[0].id}/move"
    response = post(admin, url, target=target)
    assert response.status_code == status
    assert "commenter" in text(response)
    assert len(reload(app, jane).identities) == 1


# -- erase and export ------------------------------------------------------------------------


def test_an_admin_erase_keeps_a_tombstone_and_ends_the_commenters_session(
    app: Flask, admin: FlaskClient
):
    jane = make_commenter(app, display_name="Jane", email="jane@example.com")
    commenter = app.test_client()
    sign_in_client(commenter, jane)
    confirm = text(admin.get(f"{page_of(jane)}/erase"))
    assert "Erase Jane?" in confirm and "cannot be undone" in confirm
    assert not reload(app, jane).is_erased
    response = post(admin, f"{page_of(jane)}/erase")
    assert response.status_code == 303
    erased = reload(app, jane)
    assert erased.is_erased and erased.display_name == "" and erased.email is None
    assert erased.identities == []
    assert whoami(commenter) == "anonymous"
    page = text(admin.get(page_of(jane)))
    assert "Personal data erased" in page and "jane@example.com" not in page


def test_an_admin_export_is_json_with_the_hosts_data(app: Flask, admin: FlaskClient):
    jane = make_commenter(app, display_name="Jane", subject="j-1")
    response = admin.get(f"{page_of(jane)}/export")
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["commenter"]["id"] == jane.public_id
    assert data["identities"][0]["subject"] == "j-1"
    assert data["host"] == {"comments": [f"by {jane.public_id}"]}


def test_without_an_actor_hook_the_audit_log_says_admin(tmp_path: Path):
    app = admin_app(tmp_path)
    client = app.test_client()
    client.set_cookie("test_admin", "yes")
    jane = make_commenter(app)
    post(client, f"{page_of(jane)}/block")
    assert get_state(app).store.audit_log(jane)[0].actor == "admin"
    body = text(client.get(page_of(jane)))
    assert "SOCIAL_AUTH_COMMENT_COUNT is not set" in body


# -- hostile data --------------------------------------------------------------------------


HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_EMAIL = '"><img src=x onerror=alert(1)>@evil.example'


def test_hostile_names_emails_and_addresses_are_escaped(app: Flask, admin: FlaskClient):
    store = get_state(app).store
    evil = make_commenter(
        app, display_name=HOSTILE_NAME, email=HOSTILE_EMAIL, subject="<b>sub</b>",
        avatar_url="javascript:alert(1)",
    )
    guest = store.create_guest(HOSTILE_NAME, HOSTILE_EMAIL, website="javascript:alert(2)",
                               avatar_url='https://img.example/a.png"><script>x()</script>')
    pages = [
        admin.get(f"{ADMIN}/"),
        admin.get(f"{ADMIN}/", query_string={"q": "<script>"}),
        admin.get(page_of(evil)),
        admin.get(page_of(guest)),
        admin.get(f"{ADMIN}/merge", query_string={"source": guest.public_id,
                                                 "target": evil.public_id}),
        admin.get(f"{page_of(evil)}/erase"),
    ]
    for response in pages:
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "<script>" not in body and "<b>sub" not in body
        assert "<img src=x" not in body
        assert 'src="javascript:' not in body and 'href="javascript:' not in body
    commenter_page = pages[2].get_data(as_text=True)
    assert str(escape(HOSTILE_NAME)) in commenter_page
    assert "&lt;b&gt;sub&lt;/b&gt;" in commenter_page
    guest_page = pages[3].get_data(as_text=True)
    # A stored address that is not one of our pictures is never put in a page at all.
    assert "img.example" not in guest_page and 'src="/auth/avatars/i/' in guest_page
