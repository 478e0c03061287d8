"""First sign-ins racing on one (provider, subject) end with one commenter and one identity."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from social_auth import Profile
from social_auth.store import Commenter, Identity, IdentityStore, SignIn

THREADS = 16


def race(store: IdentityStore, profile: Profile) -> list[SignIn]:
    barrier = threading.Barrier(THREADS)

    def one() -> SignIn:
        barrier.wait()
        return store.sign_in(profile)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda _: one(), range(THREADS)))


def counts(store: IdentityStore, subject: str) -> tuple[int, int]:
    with store.session() as s:
        identities = s.scalar(
            select(func.count()).select_from(Identity).where(Identity.subject == subject)
        )
        commenters = s.scalar(
            select(func.count())
            .select_from(Commenter)
            .where(Commenter.display_name == f"racer {subject}")
        )
    return int(identities or 0), int(commenters or 0)


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(20))
def test_sixteen_threads_signing_in_one_new_subject_make_one_row_on_postgres(
    postgres_store: IdentityStore, round_: int
):
    subject = f"race-{round_}"
    results = race(postgres_store, Profile("google", subject, f"racer {subject}"))
    assert counts(postgres_store, subject) == (1, 1)
    assert len({r.commenter.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    owner = postgres_store.find_identity("google", subject)
    assert owner is not None and owner.commenter_id == results[0].commenter.id


def test_racing_first_sign_ins_on_sqlite_make_one_row(sqlite_store: IdentityStore):
    subject = "race-sqlite"
    results = race(sqlite_store, Profile("google", subject, f"racer {subject}"))
    assert counts(sqlite_store, subject) == (1, 1)
    assert len({r.commenter.id for r in results}) == 1
