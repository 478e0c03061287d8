"""What a provider or a guest says about a person, as text: cleaned when the ``Profile`` is made,
kept to one length rule per field that every column can hold, and printed inert by the CLI.

A provider's display name may hold a newline, a bidi override, an OSC escape that sets a
terminal's title, zero-width characters; a real name may be 250 characters long and a picture
URL 1500. Each signs in (on SQLite and PostgreSQL, whose ``VARCHAR(n)`` refuses longer values),
with the text cleaned or cut and the URL dropped; ``flask social-auth`` shows one row per
commenter whatever their name or subject holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import inspect, update

from social_auth import get_state
from social_auth.profile import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    PROFILE_URL_MAX,
    SUBJECT_MAX,
    URL_MAX,
    USERNAME_MAX,
    WEBSITE_MAX,
    Profile,
    clean_text,
)
from social_auth.store import Commenter, IdentityStore
from tests.conftest import POSTGRES_URL, postgres_schema
from tests.providers.conftest import make_fake, make_provider
from tests.providers.servers import FakeProvider, consent
from tests.providers.signin_app import (
    BASE,
    POST,
    callback,
    client_for,
    counts,
    csrf,
    page_draft,
    sets_session,
    signin_app,
    start,
)

#: A display name as a hostile provider sends it: a newline to forge a second row, a bidi
#: override, an OSC sequence that retitles the terminal, zero-width characters and a tab.
HOSTILE_NAME = "Ada\nLovelace\u202e\x1b]0;pwned\x07 \u200bthe\u200d\ufeff\tfirst"
#: What is kept of it: the escapes' bytes are gone, their printable rest is inert text.
CLEAN_NAME = "Ada Lovelace]0;pwned the first"
#: A subject is never altered, so whatever it holds reaches the store as issued.
HOSTILE_SUBJECT = "583231\n\x1b]0;pwned\x07\u202e"
TERMINAL_CONTROLS = ("\x1b", "\x07", "\r", "\u202e", "\u200b", "\ufeff", "\u2028")
DRAFT = "My half-written comment"
#: An address of exactly ``EMAIL_MAX`` characters that email_validator accepts (labels <= 63).
LONGEST_EMAIL = f"ann@{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * (EMAIL_MAX - 200)}.com"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app's store settings: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield {"SOCIAL_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'auth.sqlite3'}"}
        return
    with postgres_schema("sa_text") as (schema, _admin):
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        yield {
            "SOCIAL_AUTH_DATABASE_URI": POSTGRES_URL,
            "SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS": options,
        }


def github_saying(**user: Any) -> FakeProvider:
    """GitHub's fake, its ``/user`` answer changed (``emails`` replaces ``/user/emails``)."""
    fake = make_fake("github")
    emails = user.pop("emails", None)
    fake.api["user"] = {**fake.api["user"], **user}
    if emails is not None:
        fake.api["user/emails"] = emails
    return fake


@pytest.fixture
def app_for(tmp_path: Path, database: dict[str, Any]) -> Iterator[Any]:
    """Makes the app for a running fake; disposes of its engine afterwards."""
    made: list[Flask] = []

    def make(fake: FakeProvider) -> Flask:
        settings = make_provider("github", fake).settings
        app = signin_app(tmp_path, {"github": settings}, SOCIAL_AUTH_SITE_URL=BASE, **database)
        made.append(app)
        return app

    yield make
    for app in made:
        get_state(app).store.engine.dispose()


def sign_in(client: Any) -> Any:
    """Press the GitHub icon with a draft, consent, come back: the callback's answer."""
    started = start(client, "github", draft=DRAFT)
    return callback(client, "github", consent(started.headers["Location"]))


def me(client: Any) -> dict[str, Any]:
    body = client.get("/auth/me", base_url=BASE).json
    assert body is not None
    return dict(body)


def cli(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["social-auth", *args])
    assert result.exit_code == 0, result.output
    return result


# -- one length rule per field, no longer than its column ---------------------------------------

#: Each rule and the columns that keep what it limits (a profile URL becomes the website).
RULES = [
    (DISPLAY_NAME_MAX, "social_auth_commenter", "display_name"),
    (DISPLAY_NAME_MAX, "social_auth_identity", "display_name"),
    (USERNAME_MAX, "social_auth_identity", "username"),
    (EMAIL_MAX, "social_auth_commenter", "email"),
    (EMAIL_MAX, "social_auth_identity", "email"),
    (URL_MAX, "social_auth_commenter", "avatar_url"),
    (URL_MAX, "social_auth_identity", "avatar_url"),
    (PROFILE_URL_MAX, "social_auth_identity", "profile_url"),
    (PROFILE_URL_MAX, "social_auth_commenter", "website"),
    (WEBSITE_MAX, "social_auth_commenter", "website"),
    (SUBJECT_MAX, "social_auth_identity", "subject"),
]


def test_every_field_rule_fits_its_column_in_the_migrated_schema(store: IdentityStore):
    inspector = inspect(store.engine)
    lengths = {
        (table, column["name"]): getattr(column["type"], "length", None)
        for table in {t for _, t, _ in RULES}
        for column in inspector.get_columns(table)
    }
    for rule, table, column in RULES:
        assert rule <= lengths[table, column], (table, column)


# -- provider text is cleaned when the Profile is made ------------------------------------------


def test_a_hostile_display_name_signs_in_clean_and_the_cli_prints_one_row(app_for: Any):
    fake = github_saying(name=HOSTILE_NAME, login="ada\x1b[2J", id=HOSTILE_SUBJECT)
    with fake.running():
        app = app_for(fake)
        client = client_for(app)
        answer = sign_in(client)
        assert answer.status_code == 302 and answer.headers["Location"] == POST
        shown = me(client)
    assert shown["commenter"]["display_name"] == CLEAN_NAME
    (identity,) = shown["identities"]
    assert identity["display_name"] == CLEAN_NAME and identity["username"] == "ada[2J"
    assert identity["subject"] == HOSTILE_SUBJECT  # compared, and kept, exactly as issued
    html = client.get(POST, base_url=BASE).get_data(as_text=True)
    assert CLEAN_NAME in html and not any(ch in html for ch in TERMINAL_CONTROLS)

    listed = cli(app, "commenters", "list").output
    rows = listed.splitlines()
    assert len(rows) == 2 and rows[1].startswith("-- page 1 of 1, 1 commenter(s)")
    assert CLEAN_NAME in rows[0] and "github:583231\\n\\x1b]0;pwned\\x07\\u202e" in rows[0]
    assert not any(ch in listed for ch in TERMINAL_CONTROLS)
    data = json.loads(cli(app, "commenters", "list", "--json").output)
    assert data["commenters"][0]["identities"][0]["subject"] == HOSTILE_SUBJECT


def test_the_cli_escapes_whatever_it_prints(app_for: Any):
    """Names stored before this release were kept raw: every text line escapes them anyway."""
    with github_saying(id=HOSTILE_SUBJECT).running() as fake:
        app = app_for(fake)
        client = client_for(app)
        assert sign_in(client).status_code == 302
    store = get_state(app).store
    public_id = me(client)["commenter"]["id"]
    with store.engine.begin() as conn:
        conn.execute(update(Commenter).values(display_name=HOSTILE_NAME, website="x\ny\u2028z"))
    outputs = {
        "list": cli(app, "commenters", "list").output,
        "show": cli(app, "commenters", "show", public_id).output,
    }
    # A failure's message names what was typed: a provider name is not quoted in it.
    args = ["social-auth", "link", public_id, "git\x1b]0;x\x07hub", "583231"]
    failed = app.test_cli_runner().invoke(args=args)
    assert failed.exit_code == 1 and "No git\\x1b]0;x\\x07hub identity" in failed.output
    outputs["error"] = failed.output
    asked = app.test_cli_runner().invoke(args=["social-auth", "erase", public_id], input="n\n")
    assert asked.exit_code == 1 and "Erase " in asked.output and "Ada\\nLovelace" in asked.output
    outputs["question"] = asked.output
    for name, output in outputs.items():
        assert not any(ch in output for ch in TERMINAL_CONTROLS), name
    assert len(outputs["list"].splitlines()) == 2
    show = outputs["show"].splitlines()
    assert show[1].startswith("  name:     Ada\\nLovelace\\u202e\\x1b]0;pwned\\x07 \\u200bthe")
    assert show[3] == "  website:  x\\ny\\u2028z"
    assert "github:583231\\n\\x1b]0;pwned\\x07\\u202e" in outputs["show"]


def stored_picture_source(app: Any) -> str | None:
    """The identity's picture address, kept as the source the site fetches from."""
    from sqlalchemy import select

    from social_auth import get_state
    from social_auth.store import Identity

    with get_state(app).store.session() as s:
        return s.scalar(select(Identity.avatar_url))


@pytest.mark.parametrize("mode", ["first sign-in", "second sign-in"])
def test_a_long_real_name_and_a_long_picture_url_sign_in(app_for: Any, mode: str):
    name = "Maria José " * 25  # 275 characters: cut at 200, between words or not
    fake = github_saying(
        name=name,
        login="l" * 250,
        avatar_url="https://avatars.example/" + "a" * 1500,
        html_url="https://github.com/" + "b" * 600,
        emails=[{"email": "e" * 250 + "@example.com", "primary": True, "verified": True}],
    )
    with fake.running():
        app = app_for(fake)
        client = client_for(app)
        if mode == "second sign-in":  # the refresh of a known identity writes them again
            assert sign_in(client).status_code == 302
            client = client_for(app)
        answer = sign_in(client)
        assert answer.status_code == 302 and sets_session(answer)
        shown = me(client)
    assert shown["commenter"]["display_name"] == name[:DISPLAY_NAME_MAX].rstrip()
    # Pages show the site's own picture (here the identicon), never a provider's address.
    assert shown["commenter"]["avatar_url"].startswith("/auth/avatars/i/")
    assert shown["commenter"]["website"] is None and stored_picture_source(app) is None
    assert shown["commenter"]["email"] is None and not shown["commenter"]["email_verified"]
    (identity,) = shown["identities"]
    assert identity["username"] == "l" * USERNAME_MAX and identity["email"] is None
    assert page_draft(client) == DRAFT


def test_urls_and_emails_within_their_rules_are_kept(app_for: Any):
    avatar = "https://avatars.example/" + "a" * (URL_MAX - 24)
    website = "https://github.com/" + "b" * (PROFILE_URL_MAX - 19)
    email = LONGEST_EMAIL
    fake = github_saying(
        name="N" * DISPLAY_NAME_MAX,
        avatar_url=avatar,
        html_url=website,
        emails=[{"email": email, "primary": True, "verified": True}],
    )
    with fake.running():
        app = app_for(fake)
        client = client_for(app)
        assert sign_in(client).status_code == 302
        shown = me(client)["commenter"]
    assert (shown["website"], shown["email"]) == (website, email)
    assert stored_picture_source(app) == avatar  # where the site fetches the picture from
    assert shown["display_name"] == "N" * DISPLAY_NAME_MAX and shown["email_verified"]


@pytest.mark.parametrize("length", [SUBJECT_MAX, SUBJECT_MAX + 1])
def test_a_subject_too_long_to_keep_is_a_clear_502_with_the_draft(app_for: Any, length: int):
    with github_saying(id="7" * length).running() as fake:
        app = app_for(fake)
        client = client_for(app)
        answer = sign_in(client)
        body = answer.get_data(as_text=True)
    if length == SUBJECT_MAX:
        assert answer.status_code == 302 and me(client)["identities"][0]["subject"] == "7" * length
        return
    assert answer.status_code == 502 and "Sign-in failed" in body and "Traceback" not in body
    assert f"longer than {SUBJECT_MAX} characters" in body
    assert counts(app) == (0, 0) and not sets_session(answer)
    assert page_draft(client) == DRAFT


# -- the guest form: the same rules, refused with a 400 naming the field ------------------------


def post_guest(client: Any, **fields: str) -> Any:
    data = {"name": "Ann", "email": "ann@example.com", **fields}
    headers = {"X-CSRF-Token": csrf(client), "Accept": "application/json"}
    return client.post("/auth/guest", data=data, headers=headers, base_url=BASE)


@pytest.mark.parametrize(
    ("field", "longest"),
    [
        ("name", "N" * DISPLAY_NAME_MAX),
        ("email", LONGEST_EMAIL),
        ("website", "https://example.com/" + "w" * (WEBSITE_MAX - 20)),
    ],
)
def test_a_guest_field_at_its_rule_is_kept_and_one_more_character_is_a_400(
    tmp_path: Path, database: dict[str, Any], field: str, longest: str
):
    app = signin_app(tmp_path, {}, SOCIAL_AUTH_SITE_URL=BASE, **database)
    try:
        client = client_for(app)
        refused = post_guest(client, **{field: longest[:1] + longest})
        assert refused.status_code == 400 and refused.json is not None
        assert refused.json["field"] == field and "at most" in refused.json["message"]
        kept = post_guest(client, **{field: longest})
        assert kept.status_code == 200, kept.get_data(as_text=True)
        commenter = me(client)["commenter"]
        assert commenter[{"name": "display_name"}.get(field, field)] == longest
    finally:
        get_state(app).store.engine.dispose()


def test_a_guest_name_is_normalised_as_a_provider_name_is(tmp_path: Path):
    app = signin_app(tmp_path, {}, SOCIAL_AUTH_SITE_URL=BASE)
    client = client_for(app)
    assert post_guest(client, name="  Rene\u0301e \u00a0  Smith ").status_code == 200
    assert me(client)["commenter"]["display_name"] == "Ren\u00e9e Smith"


# -- the cleaning rule itself -------------------------------------------------------------------


def test_profile_text_is_nfc_without_invisible_characters_and_cut_before_an_accent():
    profile = Profile(
        "dev",
        " sub\u200b ",
        display_name="e\u0301" + "x" * (DISPLAY_NAME_MAX - 2) + "e\u0301",
        username="\u2066a\u2069\u00a0b",
        email=" ann@example.com\u200b",
    )
    assert profile.subject == " sub\u200b "  # never altered
    assert profile.display_name == "\u00e9" + "x" * (DISPLAY_NAME_MAX - 2) + "\u00e9"
    assert profile.username == "a b" and profile.email is None
    cut = clean_text("x" * (DISPLAY_NAME_MAX - 1) + "e\u0301\u0301", DISPLAY_NAME_MAX)
    assert cut == "x" * (DISPLAY_NAME_MAX - 1)  # never a letter without its accents
    assert clean_text("\u200b\u202e\n", DISPLAY_NAME_MAX) == "" and clean_text(7, 10) == ""
