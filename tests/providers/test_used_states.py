"""The replay guard: a flow id is consumed once, even by workers racing on one database."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from social_auth.flow import MemoryUsedStates, SqlUsedStates
from social_auth.store import IdentityStore


@pytest.fixture(params=["memory", "sql"])
def guards(request, store: IdentityStore):
    if request.param == "memory":
        shared = MemoryUsedStates()
        return [shared] * 8
    return [SqlUsedStates(store.engine) for _ in range(8)]


def test_racing_consumers_of_one_flow_id_have_exactly_one_winner(guards):
    expires, jti = time.time() + 600, uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda g: g.consume(jti, expires), guards))
    assert results.count(True) == 1


def test_expired_entries_are_forgotten(guards):
    old, new = uuid.uuid4().hex, uuid.uuid4().hex
    assert guards[0].consume(old, time.time() - 1)
    assert guards[1].consume(new, time.time() + 600)  # prunes the expired one on the way
    assert guards[2].consume(old, time.time() + 600)
    assert not guards[3].consume(new, time.time() + 600)
