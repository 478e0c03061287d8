"""The account operations the admin pages, the CLI and the self-service pages share: plain
functions of the store and the settings, usable without a Flask app."""

from __future__ import annotations

import ast
from pathlib import Path

from social_auth.accounts import export_data
from social_auth.config import Settings
from social_auth.profile import Profile
from social_auth.store import IdentityStore

ROOT = Path(__file__).resolve().parent.parent / "social_auth"


def test_export_data_is_the_stores_record_plus_the_hosts_part(store: IdentityStore):
    jane = store.sign_in(Profile("google", "g-jane", "Jane", email="jane@example.com")).commenter
    plain = export_data(store, Settings(database_uri="sqlite://"), jane)
    assert plain == store.export(jane) and "host" not in plain
    hooked = Settings(database_uri="sqlite://", export_hook=lambda c: {"posts": [c.public_id]})
    data = export_data(store, hooked, jane)
    assert data["host"] == {"posts": [jane.public_id]}
    assert data["commenter"]["email"] == "jane@example.com"


def relative_imports(name: str) -> set[str]:
    tree = ast.parse((ROOT / name).read_text())
    return {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
    }


def test_the_admin_and_the_cli_import_the_shared_operations_not_the_views():
    allowed = {"accounts", "errors", "session", "site", "state", "store"}
    assert relative_imports("admin.py") <= allowed
    for name in ("cli.py", "cli_commenters.py", "cli_moderation.py", "cli_output.py"):
        assert not relative_imports(name) & {"views", "admin", "session", "extension"}, name
