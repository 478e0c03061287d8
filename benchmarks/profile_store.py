"""Where a sign-in's time goes: ``python -m benchmarks.profile_store [sqlite|postgres] [kind]``.

Runs a few hundred sign-ins of one kind (``returning``, ``new``, ``orm-returning``,
``orm-new``) on a small throw-away store under pyinstrument (``pip install pyinstrument``)
and prints the call tree.
"""

from __future__ import annotations

import sys

from sqlalchemy.orm import sessionmaker

from .bench_store import (
    new_profile,
    orm_sign_in,
    postgres_stores,
    returning_profiles,
    sqlite_stores,
)


def main(backend: str = "sqlite", kind: str = "returning", calls: int = 300) -> None:
    from pyinstrument import Profiler

    stores_cm = sqlite_stores((2_000,), quick=True) if backend == "sqlite" else postgres_stores(
        (2_000,), quick=True)
    with stores_cm as stores:
        store = stores[2_000]
        sessions = sessionmaker(store.engine, expire_on_commit=False)
        returning = returning_profiles(2_000, 1)
        fn = {
            "returning": lambda: store.sign_in(returning()),
            "new": lambda: store.sign_in(new_profile()),
            "orm-returning": lambda: orm_sign_in(sessions, returning()),
            "orm-new": lambda: orm_sign_in(sessions, new_profile()),
        }[kind]
        for _ in range(20):
            fn()
        profiler = Profiler(interval=0.0002)
        with profiler:
            for _ in range(calls):
                fn()
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main(*sys.argv[1:3])
