"""The store package's layout: imports that run one way, the old import paths that still work,
and the one home of the rules it shares (ways to sign in, the audit JSON, the blocked text)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from social_auth import Profile, errors, flow, linking
from social_auth.store import IdentityStore, models, results, store, used_states
from social_auth.store.connections import ThreadConnections

STORE = Path(store.__file__).parent


def _store_imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports, relative imports resolved."""
    package = ["social_auth", "store"]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None:  # ``from . import x``: x is a module of the package
                names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(module)
    return names


def _store_modules() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(STORE.glob("*.py")):
        name = "social_auth.store" if path.stem == "__init__" else f"social_auth.store.{path.stem}"
        graph[name] = _store_imports(path)
    return graph


@pytest.mark.parametrize("module", sorted(_store_modules()))
def test_the_store_imports_neither_flask_nor_the_provider_module(module: str):
    imported = _store_modules()[module]
    assert not {m for m in imported if m.split(".")[0] == "flask"}
    assert not {m for m in imported if m == "social_auth.provider" or
                m.startswith("social_auth.provider.")}


def test_the_store_modules_import_one_way():
    modules = _store_modules()
    inside = {name: imported for name, imported in modules.items() if name != "social_auth.store"}
    # The package re-exports its modules; none of them imports the package back.
    assert not {name for name, imported in inside.items() if "social_auth.store" in imported}
    graph = {
        name: {m for m in imported if m.startswith("social_auth.store.")} - {name}
        for name, imported in inside.items()
    }
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for imported in graph.get(name, ()):
            visit(imported, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_no_store_module_is_over_400_lines():
    assert {p.name: n for p in STORE.glob("*.py")
            if (n := len(p.read_text().splitlines())) > 400} == {}


def test_the_old_import_paths_still_work():
    assert flow.SqlUsedStates is used_states.SqlUsedStates
    assert flow.MemoryUsedStates is used_states.MemoryUsedStates
    assert flow.UsedStates is used_states.UsedStates
    assert flow.is_expired is used_states.is_expired
    assert flow.flow_expires_at is used_states.flow_expires_at
    assert flow.STORE_DOWN == used_states.STORE_DOWN
    assert store.ThreadConnections is ThreadConnections
    assert store.BLOCKED_MESSAGE == errors.BLOCKED_MESSAGE
    assert store.VERSION_TABLE == "social_auth_alembic_version"
    assert callable(store.alembic_config)
    assert store.SignIn is results.SignIn


def test_a_blocked_sign_in_says_the_one_blocked_message(store: IdentityStore):
    signed = store.sign_in(Profile(provider="github", subject="1", display_name="Ada"))
    store.block(signed.commenter)
    with pytest.raises(errors.CommenterBlocked) as refused:
        store.sign_in(Profile(provider="github", subject="1", display_name="Ada"))
    assert refused.value.message == errors.BLOCKED_MESSAGE


def test_ways_to_sign_in_counts_identities_and_a_verified_email(store: IdentityStore):
    guest = store.create_guest("Guest", "guest@example.com")
    assert guest.ways_to_sign_in == 0
    verified = store.mark_email_verified(guest, "guest@example.com")
    assert verified.ways_to_sign_in == 1
    store.link(verified, Profile(provider="github", subject="7", display_name="G"))
    linked = store.require_by_id(guest.id)
    assert linked.ways_to_sign_in == 2
    # The store's last-method rule and the linking rule read the same count.
    store.unlink(linked.identities[0])
    assert store.require_by_id(guest.id).ways_to_sign_in == 1
    assert linking._can_sign_in(store.require_by_id(guest.id))


def test_the_last_way_to_sign_in_is_kept(store: IdentityStore):
    signed = store.sign_in(Profile(provider="github", subject="8", display_name="Solo"))
    assert signed.commenter.ways_to_sign_in == 1
    with pytest.raises(errors.LastSignInMethod):
        store.unlink(signed.identity)


def test_require_by_id_raises_not_found_for_a_commenter_gone(store: IdentityStore):
    guest = store.create_guest("Gone", None)
    with store.session() as s, s.begin():
        s.delete(s.get_one(models.Commenter, guest.id))
    with pytest.raises(errors.NotFound, match="no longer exists"):
        store.require_by_id(guest.id)


def test_the_export_lists_audit_entries_in_the_one_json_form(store: IdentityStore):
    signed = store.sign_in(Profile(provider="github", subject="9", display_name="Ann"))
    store.block(signed.commenter)
    exported = store.export(signed.commenter)
    log = store.audit_log(signed.commenter)
    assert exported["audit_events"] == [results.audit_event_json(e) for e in log]
    (entry,) = exported["audit_events"]
    assert entry["action"] == "block" and entry["time"] == log[0].created_at.isoformat()
    assert exported["commenter"]["created_at"] == results.iso(signed.commenter.created_at)
    assert results.iso(None) is None
    json.dumps(exported)  # JSON-ready as it is


def test_the_session_read_on_its_own_connection_sees_writes_across_a_dispose(tmp_path: Path):
    # The session-cookie read keeps its answers while ``data_version`` says nothing changed;
    # across ``engine.dispose()`` (a fork, new connect-time settings) it still sees a write.
    on_file = IdentityStore.from_url(f"sqlite:///{tmp_path / 'reader.sqlite3'}")
    on_file.upgrade_schema()
    try:
        guest = on_file.create_guest("Before", None)
        first = on_file.session_commenter(guest.id)
        assert first is not None and first.display_name == "Before"
        assert on_file.session_commenter(guest.id) is first  # unchanged rows: the same objects
        on_file.engine.dispose()
        on_file.update_guest(guest, "After", None, None, None)
        again = on_file.session_commenter(guest.id)
        assert again is not None and again.display_name == "After"
    finally:
        on_file.engine.dispose()
