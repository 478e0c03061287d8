"""``flask social-auth …`` commenter commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import FlaskGroup

from social_auth import Profile, SocialAuth, get_state
from social_auth.accounts import parse_until
from social_auth.errors import InvalidInput
from social_auth.store import Commenter, IdentityStore
from tests.conftest import POSTGRES_URL, postgres_schema


class CLI:
    """Runs the commands against one app and gives tests its store."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.store: IdentityStore = get_state(app).store

    def run(self, *args: str, input: str | None = None) -> Result:
        return self.app.test_cli_runner().invoke(args=["social-auth", *args], input=input)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def reload(self, commenter: Commenter) -> Commenter:
        row = self.store.get(commenter.id)
        assert row is not None
        return row


def make_app(uri: str, engine_options: dict[str, Any]) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test-secret-key-for-tests",
        SOCIAL_AUTH_DATABASE_URI=uri,
        SOCIAL_AUTH_DATABASE_ENGINE_OPTIONS=engine_options,
        SOCIAL_AUTH_SITE_URL="https://blog.example",
    )
    SocialAuth(app, providers=[])
    return app


def upgraded(app: Flask) -> CLI:
    cli = CLI(app)
    result = cli.run("db", "upgrade")
    assert result.exit_code == 0, result.output
    return cli


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CLI]:
    """A minimal app with the extension, its store migrated through the CLI itself."""
    if request.param == "sqlite":
        runner = upgraded(make_app(f"sqlite:///{tmp_path / 'cli.sqlite3'}", {}))
        yield runner
        runner.store.engine.dispose()
        return
    with postgres_schema("sa_cli") as (schema, _admin):
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        runner = upgraded(make_app(POSTGRES_URL, options))
        yield runner
        runner.store.engine.dispose()


def google(subject: str = "g-jane", email: str = "jane@example.com") -> Profile:
    return Profile("google", subject, "Jane Doe", email=email, email_verified=True)


def github(subject: str = "583231") -> Profile:
    return Profile("github", subject, "The Octocat", username="octocat")


def assert_clear_failure(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.output


# -- list and show --------------------------------------------------------------------------


def test_list_shows_every_commenter_newest_first(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    guest = cli.store.create_guest("Bob Guest", "bob@example.org")
    result = cli.run("commenters", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        lines[0].startswith(guest.public_id) and "Bob Guest" in lines[0] and "[guest]" in lines[0]
    )
    assert lines[1].startswith(jane.public_id) and "google:g-jane" in lines[1]
    assert "2 commenter(s)" in lines[-1]


def test_list_searches_and_prints_json(cli: CLI):
    cli.store.sign_in(google())
    cat = cli.store.sign_in(github()).commenter
    data = cli.json("commenters", "list", "--search", "octo")
    assert [c["id"] for c in data["commenters"]] == [cat.public_id]
    assert data["total"] == 1 and data["page"] == 1
    assert data["commenters"][0]["identities"][0]["subject"] == "583231"


def test_list_pages(cli: CLI):
    for n in range(3):
        cli.store.create_guest(f"Guest {n}", None)
    data = cli.json("commenters", "list", "--per-page", "2", "--page", "2")
    assert [c["display_name"] for c in data["commenters"]] == ["Guest 0"]
    assert data["pages"] == 2


def test_list_with_no_match_says_so(cli: CLI):
    result = cli.run("commenters", "list", "--search", "nobody")
    assert result.exit_code == 0 and "No commenters found." in result.output


def test_show_prints_identities_and_audit_log(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cli.store.block(jane, actor="admin:root")
    result = cli.run("commenters", "show", jane.public_id)
    assert result.exit_code == 0, result.output
    assert f"Commenter {jane.public_id}" in result.output
    assert "google:g-jane" in result.output
    assert "jane@example.com (verified)" in result.output
    assert "admin:root  block" in result.output


def test_show_json_has_the_commenter_identities_merges_and_events(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cat = cli.store.sign_in(github()).commenter
    cli.store.merge(cat, jane)
    data = cli.json("commenters", "show", jane.public_id)
    assert data["id"] == jane.public_id and data["email_verified"] is True
    assert {i["provider"] for i in data["identities"]} == {"google", "github"}
    assert data["merged_from"] == [cat.public_id] and data["can_undo_merge"] is True
    assert [e["action"] for e in data["audit_events"]] == ["merge"]
    tombstone = cli.json("commenters", "show", cat.public_id)
    assert tombstone["merged_into"] == jane.public_id


# -- unknown ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["commenters", "show", "nope"],
        ["link", "nope", "github", "1"],
        ["unlink", "nope", "github", "1"],
        ["merge", "nope", "other", "--yes"],
        ["block", "nope"],
        ["unblock", "nope"],
        ["export", "nope"],
        ["erase", "nope", "--yes"],
    ],
    ids=lambda args: args[0] if args[0] != "commenters" else "show",
)
def test_unknown_ids_fail_clearly_with_status_1(cli: CLI, args: list[str]):
    assert_clear_failure(cli.run(*args), "Error: No commenter with id 'nope'.")
    result = cli.run(*args, "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error == {"code": "not_found", "message": "No commenter with id 'nope'."}


# -- link and unlink -----------------------------------------------------------------------


def test_link_moves_an_identity_to_another_commenter(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cat = cli.store.sign_in(github()).commenter
    cli.store.link(cat, github("second"))
    data = cli.json("link", jane.public_id, "github", "583231")
    assert data["from"] == cat.public_id and data["to"] == jane.public_id
    assert cli.store.find_identity("github", "583231").commenter_id == jane.id  # type: ignore[union-attr]
    assert cli.store.audit_log(jane)[0].actor == "cli"


def test_link_refuses_to_take_the_owners_last_sign_in_method(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cat = cli.store.sign_in(github()).commenter
    result = cli.run("link", jane.public_id, "github", "583231")
    assert_clear_failure(result, "only way to sign in")
    assert cli.store.find_identity("github", "583231").commenter_id == cat.id  # type: ignore[union-attr]


def test_link_of_an_unknown_identity_fails_clearly(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    assert_clear_failure(
        cli.run("link", jane.public_id, "github", "404"), "No github identity with subject '404'"
    )


def test_unlink_by_provider_and_subject(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cli.store.link(jane, github())
    data = cli.json("unlink", jane.public_id, "github", "583231")
    assert data["unlinked"] is True and data["identity"]["provider"] == "github"
    assert cli.store.find_identity("github", "583231") is None
    assert [e.actor for e in cli.store.audit_log(jane)] == ["cli", "commenter"]


def test_unlink_by_identity_id(cli: CLI):
    cat, identity, _ = cli.store.sign_in(github())
    cli.store.link(cat, github("second"))
    result = cli.run("unlink", cat.public_id, str(identity.id))
    assert result.exit_code == 0, result.output
    assert "Unlinked github:583231" in result.output
    assert cli.store.get_identity(identity.id) is None


def test_unlink_refuses_the_last_sign_in_method(cli: CLI):
    cat = cli.store.sign_in(github()).commenter
    assert_clear_failure(cli.run("unlink", cat.public_id, "github", "583231"), "only way")
    assert cli.store.find_identity("github", "583231") is not None


def test_unlink_of_someone_elses_identity_is_refused(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cli.store.sign_in(github())
    assert_clear_failure(cli.run("unlink", jane.public_id, "github", "583231"), "no such identity")
    assert cli.store.find_identity("github", "583231") is not None


# -- merge ------------------------------------------------------------------------------


def test_merge_with_yes_merges_and_prints_json(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cat = cli.store.sign_in(github()).commenter
    data = cli.json("merge", cat.public_id, jane.public_id, "--yes")
    assert data["source"] == cat.public_id and data["target"]["id"] == jane.public_id
    assert {i["provider"] for i in data["target"]["identities"]} == {"google", "github"}
    assert cli.reload(cat).merged_into_id == jane.id
    assert cli.store.audit_log(jane)[0].actor == "cli"


def test_merge_asks_first_and_a_no_changes_nothing(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cat = cli.store.sign_in(github()).commenter
    result = cli.run("merge", cat.public_id, jane.public_id, input="n\n")
    assert_clear_failure(result, "Identities moving: github:583231", "Nothing changed.")
    assert cli.reload(cat).merged_into_id is None
    result = cli.run("merge", cat.public_id, jane.public_id, input="y\n")
    assert result.exit_code == 0, result.output
    assert cli.reload(cat).merged_into_id == jane.id


def test_merge_json_keeps_the_prompt_off_stdout(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cat = cli.store.sign_in(github()).commenter
    result = cli.run("merge", cat.public_id, jane.public_id, "--json", input="y\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["merged"] is True


def test_merge_into_itself_fails_clearly(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    result = cli.run("merge", jane.public_id, jane.public_id, "--yes")
    assert_clear_failure(result, "cannot be merged into itself")


# -- block and unblock -------------------------------------------------------------------


def test_block_without_expiry_then_unblock(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    result = cli.run("block", jane.public_id)
    assert result.exit_code == 0 and "until unblocked" in result.output
    blocked = cli.reload(jane)
    assert blocked.is_blocked and blocked.blocked_until is None
    assert blocked.session_version == jane.session_version + 1
    data = cli.json("unblock", jane.public_id)
    assert data["blocked"] is False and not cli.reload(jane).is_blocked
    assert [e.actor for e in cli.store.audit_log(jane)] == ["cli", "cli"]


def test_block_until_a_duration(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    data = cli.json("block", jane.public_id, "--until", "7d")
    assert data["commenter"]["blocked"] is True
    until = cli.reload(jane).blocked_until
    assert until is not None
    assert timedelta(days=6, hours=23) < until - datetime.now(UTC) <= timedelta(days=7)


def test_block_until_an_iso_date(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    result = cli.run("block", jane.public_id, "--until", "2999-01-02")
    assert result.exit_code == 0, result.output
    assert cli.reload(jane).blocked_until == datetime(2999, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize("until", ["2001-01-01", "soon", "-3d"])
def test_block_with_a_bad_expiry_fails_clearly_and_blocks_nobody(cli: CLI, until: str):
    jane = cli.store.sign_in(google()).commenter
    assert_clear_failure(cli.run("block", jane.public_id, "--until", until), repr(until))
    assert not cli.reload(jane).is_blocked


def test_parse_until_understands_durations_dates_and_zones():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_until("12h", now) == now + timedelta(hours=12)
    assert parse_until("2w", now) == now + timedelta(weeks=2)
    assert parse_until("90m", now) == now + timedelta(minutes=90)
    assert parse_until("2030-01-02T10:00", now) == datetime(2030, 1, 2, 10, tzinfo=UTC)
    assert parse_until("2030-01-02T10:00+02:00", now) == datetime(2030, 1, 2, 8, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_until("0d", now)


# -- export and erase --------------------------------------------------------------------


def test_export_prints_everything_as_json(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    cli.store.link(jane, github())
    for args in (["export", jane.public_id], ["export", jane.public_id, "--json"]):
        result = cli.run(*args)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["commenter"]["email"] == "jane@example.com"
        assert {i["provider"] for i in data["identities"]} == {"google", "github"}
        assert [e["action"] for e in data["audit_events"]] == ["link"]


def test_export_adds_the_hosts_part_like_the_self_service_export(tmp_path: Path):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test-secret-key-for-tests",
        SOCIAL_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'hook.sqlite3'}",
        SOCIAL_AUTH_SITE_URL="https://blog.example",
        SOCIAL_AUTH_EXPORT_HOOK=lambda c: {"posts": [c.public_id]},
    )
    SocialAuth(app, providers=[])
    runner = upgraded(app)
    jane = runner.store.sign_in(google()).commenter
    data = runner.json("export", jane.public_id)
    assert data["host"] == {"posts": [jane.public_id]}
    assert data["commenter"]["id"] == jane.public_id
    runner.store.engine.dispose()


def test_the_commands_run_under_the_flask_command_too(cli: CLI):
    """``flask social-auth …`` goes through ``FlaskGroup``, not ``app.cli``: the commenter
    commands get their app context there as well."""
    jane = cli.store.sign_in(google()).commenter
    flask_command = FlaskGroup(create_app=lambda: cli.app)
    args = ["social-auth", "commenters", "show", jane.public_id]
    result = CliRunner().invoke(flask_command, args)
    assert result.exit_code == 0, result.output
    assert f"Commenter {jane.public_id}" in result.output
    assert "google:g-jane" in result.output


def test_erase_asks_first_then_erases(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    assert_clear_failure(cli.run("erase", jane.public_id, input="n\n"), "Nothing changed.")
    assert not cli.reload(jane).is_erased
    data = cli.json("erase", jane.public_id, "--yes")
    assert data["erased"] is True and data["commenter"]["email"] is None
    erased = cli.reload(jane)
    assert erased.is_erased and erased.identities == []
    assert cli.store.audit_log(jane)[0].actor == "cli"


def test_erase_without_yes_and_no_terminal_changes_nothing(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    result = cli.run("erase", jane.public_id)
    assert result.exit_code == 1
    assert not cli.reload(jane).is_erased


def test_public_ids_never_look_like_options(monkeypatch: pytest.MonkeyPatch):
    from social_auth.store import models

    issued = iter(["-looks-like-an-option", "fine-id"])
    monkeypatch.setattr(models.secrets, "token_urlsafe", lambda _n: next(issued))
    assert models.new_public_id() == "fine-id"


def test_an_old_id_starting_with_a_dash_works_after_double_dash(cli: CLI):
    jane = cli.store.sign_in(google()).commenter
    with cli.store.session() as s, s.begin():
        s.get_one(Commenter, jane.id).public_id = "-old-id"
    result = cli.run("commenters", "show", "--json", "--", "-old-id")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "-old-id"
