"""Store: ``IdentityStore.sign_in`` vs an ORM select-then-insert upsert, on SQLite and PostgreSQL.

For each backend, three stores hold 10k, 100k and 1M identities (one commenter each). One round
runs, in a shuffled order, ``calls`` sign-ins of each kind — a returning identity (a random
loaded subject) and a new one — through our ``sign_in`` and through the baseline, at each size.
So the ratio to the baseline and the growth from the smallest to the largest size are both
taken between neighbours of the same round.

The baseline does the same work the ORM way, as most Flask apps write it: one Session, select
the identity; if found refresh it and the commenter's ``last_seen_at``, else add a Commenter
with its Identity; commit.

Loading a million rows takes a while, so loaded data is kept between runs: SQLite files under
``benchmarks/results/cache/`` (gitignored) and PostgreSQL schemas named ``bench_store_<key>_<n>``,
where ``<key>`` changes with the schema (migration head and columns) and the data generator.
Rows our runs add are deleted at the end, so a kept store stays the size it says. ``--quick``
uses tiny throw-away stores. ``make bench-clean`` drops both caches.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from social_auth import Profile
from social_auth.emails import email_key
from social_auth.store import Base, Commenter, Identity, IdentityStore
from social_auth.store.models import utcnow
from social_auth.store.store import alembic_config

from .harness import Comparison, Context, interleave, ratio_of

#: Bump when the generated rows change shape or content.
GENERATOR = 1
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (200, 2_000)
CACHE = Path(__file__).parent / "results" / "cache"
POSTGRES_URL = os.environ.get(
    "SOCIAL_AUTH_BENCH_DATABASE_URL",
    os.environ.get(
        "SOCIAL_AUTH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
)
LOADED_AT = datetime(2026, 1, 1, tzinfo=UTC)
COMMENTER = Commenter.__table__
IDENTITY = Identity.__table__


def data_key() -> str:
    """Changes when the migrations, the columns or the generator change."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    columns = ",".join(f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.c)
    digest = hashlib.sha256(f"{head}|{columns}|{GENERATOR}".encode()).hexdigest()
    return digest[:10]


# -- data ---------------------------------------------------------------------------------


def _row(table: Any, known: dict[str, Any]) -> tuple[Any, ...]:
    """Values for every column: ours, else the column's scalar default, else NULL."""
    values = []
    for column in table.c:
        if column.name in known:
            values.append(known[column.name])
        elif column.default is not None and column.default.is_scalar:
            values.append(column.default.arg)
        else:
            values.append(None)
    return tuple(values)


def commenter_rows(n: int) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        email = f"user{i}@example.com"
        yield _row(COMMENTER, {
            "id": i + 1, "public_id": f"bench{i:011d}", "display_name": f"User {i}",
            "email": email, "email_key": email, "email_verified_at": LOADED_AT,
            "created_at": LOADED_AT, "last_seen_at": LOADED_AT, "session_version": 1,
        })


def identity_rows(n: int) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        yield _row(IDENTITY, {
            "id": i + 1, "commenter_id": i + 1, "provider": "google", "subject": subject(i),
            "email": f"user{i}@example.com", "email_verified": True, "display_name": f"User {i}",
            "username": None, "created_at": LOADED_AT, "last_sign_in_at": LOADED_AT,
        })


def subject(i: int) -> str:
    return f"{100000000000000000000 + i}"


def _sqlite_value(value: Any) -> Any:
    # The format SQLAlchemy's SQLite DateTime stores (naive UTC).
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _load_sqlite(path: Path, n: int) -> None:
    tmp = path.with_suffix(".loading")
    tmp.unlink(missing_ok=True)
    store = IdentityStore.from_url(f"sqlite:///{tmp}")
    store.upgrade_schema()
    store.engine.dispose()
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=DELETE")  # a million rows through the WAL doubles the disk
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    for table, rows in ((COMMENTER, commenter_rows(n)), (IDENTITY, identity_rows(n))):
        marks = ",".join("?" * len(table.c))
        db.executemany(
            f"INSERT INTO {table.name} VALUES ({marks})",
            (tuple(map(_sqlite_value, r)) for r in rows),
        )
    db.commit()
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode=WAL")  # what the store's engine uses
    db.close()
    tmp.replace(path)


def _load_postgres(admin: Any, schema: str, n: int) -> None:
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = _postgres_store(schema)
    store.upgrade_schema()
    raw = store.engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            for table, rows in ((COMMENTER, commenter_rows(n)), (IDENTITY, identity_rows(n))):
                columns = ", ".join(c.name for c in table.c)
                with cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
            cur.execute("CREATE TABLE bench_loaded (n bigint)")
            cur.execute("INSERT INTO bench_loaded VALUES (%s)", (n,))
        pg.commit()
        pg.autocommit = True
        with pg.cursor() as cur:
            cur.execute("ANALYZE")
        pg.autocommit = False
    finally:
        raw.close()
        store.engine.dispose()


def _postgres_store(schema: str) -> IdentityStore:
    return IdentityStore.from_url(
        POSTGRES_URL,
        connect_args={"options": f"-csearch_path={schema}", "connect_timeout": 3},
        pool_size=2,
    )


@contextmanager
def sqlite_stores(sizes: tuple[int, ...], quick: bool) -> Iterator[dict[int, IdentityStore]]:
    directory = Path(tempfile.mkdtemp(prefix="bench-store-")) if quick else CACHE
    directory.mkdir(parents=True, exist_ok=True)
    key = data_key()
    stores = {}
    try:
        for n in sizes:
            path = directory / f"store-{key}-{n}.sqlite3"
            if not path.exists():
                print(f"   loading {n} identities into {path.name}", flush=True)
                _load_sqlite(path, n)
            stores[n] = IdentityStore.from_url(f"sqlite:///{path}")
        yield stores
    finally:
        for n, store in stores.items():
            _remove_added(store, n)
            store.engine.dispose()
        if quick:
            shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_stores(sizes: tuple[int, ...], quick: bool) -> Iterator[dict[int, IdentityStore]]:
    admin = IdentityStore.from_url(POSTGRES_URL, connect_args={"connect_timeout": 3}).engine
    key = data_key()
    prefix = f"bench_store_q{os.getpid()}" if quick else f"bench_store_{key}"
    stores = {}
    try:
        with admin.connect() as conn:
            for n in sizes:
                schema = f"{prefix}_{n}"
                loaded = conn.execute(
                    text("SELECT 1 FROM information_schema.tables "
                         "WHERE table_schema = :s AND table_name = 'bench_loaded'"),
                    {"s": schema},
                ).first()
                conn.rollback()
                if loaded is None:
                    print(f"   loading {n} identities into schema {schema}", flush=True)
                    _load_postgres(admin, schema, n)
                stores[n] = _postgres_store(schema)
        if not quick:  # drop schemas an older schema or generator left behind
            with admin.begin() as conn:
                old = conn.execute(text(
                    "SELECT schema_name FROM information_schema.schemata "
                    "WHERE schema_name LIKE 'bench_store_%' AND schema_name NOT LIKE :keep"
                    " AND schema_name NOT LIKE 'bench_store_q%'"), {"keep": f"{prefix}_%"})
                for (name,) in old.all():
                    conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        yield stores
    finally:
        for n, store in stores.items():
            _remove_added(store, n)
            store.engine.dispose()
        if quick:
            with admin.begin() as conn:
                for n in sizes:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{prefix}_{n}" CASCADE'))
        admin.dispose()


def _remove_added(store: IdentityStore, n: int) -> None:
    """Delete what the benchmark created, so a kept store stays ``n`` identities.

    Foreign-key actions are switched off for this: ``merged_into_id`` has no index, so each
    deleted commenter would cost a scan of the whole table. Nothing refers to these rows once
    their identities are gone.
    """
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            conn.exec_driver_sql("SET session_replication_role = replica")
        conn.commit()
        conn.execute(delete(IDENTITY).where(IDENTITY.c.id > n))
        conn.execute(delete(COMMENTER).where(COMMENTER.c.id > n))
        conn.commit()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        else:
            conn.exec_driver_sql("SET session_replication_role = DEFAULT")
        conn.commit()


# -- the two implementations ----------------------------------------------------------------


def orm_sign_in(sessions: sessionmaker[Session], profile: Profile) -> Commenter:
    """The baseline: SQLAlchemy ORM, select then insert (or refresh), one commit."""
    now = utcnow()
    with sessions() as s, s.begin():
        identity = s.scalar(
            select(Identity).where(
                Identity.provider == profile.provider, Identity.subject == profile.subject
            )
        )
        if identity is None:
            commenter = Commenter(
                display_name=profile.display_name, email=profile.email,
                email_key=email_key(profile.email),
                email_verified_at=now if profile.email_verified else None,
                avatar_url=profile.avatar_url, website=profile.profile_url, last_seen_at=now,
            )
            identity = Identity(provider=profile.provider, subject=profile.subject, created_at=now)
            commenter.identities.append(identity)
            s.add(commenter)
        else:
            commenter = s.get_one(Commenter, identity.commenter_id)
            commenter.last_seen_at = now
        identity.email = profile.email
        identity.email_verified = profile.email_verified
        identity.display_name = profile.display_name
        identity.username = profile.username
        identity.avatar_url = profile.avatar_url
        identity.profile_url = profile.profile_url
        identity.last_sign_in_at = now
    return commenter


def returning_profiles(n: int, seed: int) -> Callable[[], Profile]:
    rng = random.Random(seed)

    def next_profile() -> Profile:
        i = rng.randrange(n)
        return Profile("google", subject(i), f"User {i}", f"user{i}@example.com", True,
                       avatar_url=f"https://example.com/a/{i}.png")

    return next_profile


_new = itertools.count()


def new_profile() -> Profile:
    k = next(_new)
    return Profile("github", f"new-{os.getpid()}-{k}", f"New {k}", f"new{k}@example.org", True,
                   username=f"new{k}")


def callables(store: IdentityStore, n: int, seed: int) -> dict[str, Callable[[], Any]]:
    sessions = sessionmaker(store.engine, expire_on_commit=False)
    ours_ret, base_ret = returning_profiles(n, seed), returning_profiles(n, seed + 1)
    return {
        "returning/ours": lambda: store.sign_in(ours_ret()),
        "returning/orm": lambda: orm_sign_in(sessions, base_ret()),
        "new/ours": lambda: store.sign_in(new_profile()),
        "new/orm": lambda: orm_sign_in(sessions, new_profile()),
    }


# -- run ----------------------------------------------------------------------------------


def measure(
    ctx: Context, backend: str, stores: dict[int, IdentityStore], variant: str = ""
) -> None:
    sizes = sorted(stores)
    fns: dict[str, Callable[[], Any]] = {}
    for n in sizes:
        for name, fn in callables(stores[n], n, seed=n).items():
            fns[f"{n}/{name}"] = fn
    rounds, calls = ctx.rounds(40), ctx.calls(20)
    timings = interleave(fns, rounds=rounds, calls=calls, warmup=1)
    small, large = sizes[0], sizes[-1]
    backend = f"{backend}_{variant}" if variant else backend
    worst_ratio: Comparison | None = None
    worst_growth: Comparison | None = None
    for kind in ("returning", "new"):
        for n in sizes:
            c = ratio_of(f"{backend} {kind} {n}", timings[f"{n}/{kind}/ours"],
                         timings[f"{n}/{kind}/orm"])
            ctx.detail(f"upsert_{backend}_{kind}_{n}", c.as_json())
            if n == large and (worst_ratio is None or c.ratio > worst_ratio.ratio):
                worst_ratio = c
        g = ratio_of(f"{backend} {kind} growth", timings[f"{large}/{kind}/ours"],
                     timings[f"{small}/{kind}/ours"])
        ctx.detail(f"upsert_growth_{backend}_{kind}", g.as_json())
        base_g = ratio_of(f"{backend} {kind} orm growth", timings[f"{large}/{kind}/orm"],
                          timings[f"{small}/{kind}/orm"])
        ctx.detail(f"upsert_growth_{backend}_{kind}_orm", base_g.as_json())
        if worst_growth is None or g.ratio > worst_growth.ratio:
            worst_growth = g
        for n in sizes:
            c = ratio_of("", timings[f"{n}/{kind}/ours"], timings[f"{n}/{kind}/orm"])
            ctx.show(f"  {backend} {kind} @{n} (ours/orm)", c,
                     note=f"{c.case.median * 1e6:.0f} µs vs {c.baseline.median * 1e6:.0f} µs")
    assert worst_ratio is not None and worst_growth is not None
    target_ratio, target_growth = ("", "") if variant else ("<= 0.5", "<= 1.3")
    ctx.record(f"upsert_ratio_{backend}", worst_ratio, target=target_ratio,
               note=f"worse of returning/new at {large}: {worst_ratio.label.split()[1]}")
    ctx.record(f"upsert_growth_{backend}", worst_growth, target=target_growth,
               note=f"{small} -> {large}, worse of returning/new: "
                    f"{worst_growth.label.split()[1]}")


def without_flush(stores: dict[int, IdentityStore]) -> None:
    """Both sides stop waiting for the disk at commit, which shows the work that is ours.

    SQLite ``synchronous=NORMAL`` (WAL: no fsync per commit), PostgreSQL
    ``synchronous_commit=off``. A diagnostic only: the headline figures use the store as
    shipped, where one WAL flush per write is a floor both sides pay.
    """

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        else:
            dbapi_connection.autocommit = True
            dbapi_connection.execute("SET synchronous_commit = off")
            dbapi_connection.autocommit = False

    for store in stores.values():
        event.listen(store.engine, "connect", on_connect)
        store.engine.dispose()


def run(ctx: Context) -> None:
    sizes = QUICK_SIZES if ctx.quick else SIZES
    with sqlite_stores(sizes, ctx.quick) as stores:
        measure(ctx, "sqlite", stores)
        without_flush(stores)
        measure(ctx, "sqlite", stores, "noflush")
    try:
        cm = postgres_stores(sizes, ctx.quick)
        stores = cm.__enter__()
    except Exception as exc:  # no server: report it and go on with the other benchmarks
        print(f"   PostgreSQL unavailable ({exc.__class__.__name__}); skipped", flush=True)
        return
    try:
        measure(ctx, "postgres", stores)
        without_flush(stores)
        measure(ctx, "postgres", stores, "noflush")
    finally:
        with suppress(Exception):
            cm.__exit__(None, None, None)


def clean() -> None:
    """Drop the kept stores: the SQLite files and the PostgreSQL schemas."""
    shutil.rmtree(CACHE, ignore_errors=True)
    with suppress(Exception):
        admin = IdentityStore.from_url(POSTGRES_URL, connect_args={"connect_timeout": 3}).engine
        with admin.begin() as conn:
            names = conn.execute(text(
                "SELECT schema_name FROM information_schema.schemata "
                "WHERE schema_name LIKE 'bench\\_store\\_%'")).scalars().all()
            for name in names:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
        print(f"dropped {len(names)} PostgreSQL schemas")


if __name__ == "__main__":
    clean()
