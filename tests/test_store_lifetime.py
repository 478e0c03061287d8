"""A store whose app is gone goes with it: its engine and its open SQLite files are freed.

An app factory (a test run, a multi-tenant host) makes many stores; anything global that holds
one (SQLAlchemy's event registry did, through a bound method) keeps every file open forever.
"""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

from social_auth.store import IdentityStore


def open_files_under(folder: Path) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder)):
                count += 1
        except OSError:
            continue
    return count


def test_a_dropped_store_is_collected_and_closes_its_files(tmp_path: Path):
    store = IdentityStore.from_url(f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    store.upgrade_schema()
    guest = store.create_guest("Ann", "ann@example.com")  # a commit: the listeners ran
    assert store.session_commenter(guest.id) is not None  # this thread's reader is open
    assert open_files_under(tmp_path) > 0
    alive = weakref.ref(store)
    del store
    gc.collect()
    assert alive() is None
    assert open_files_under(tmp_path) == 0
