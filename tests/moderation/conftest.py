"""A local Akismet (``tools.akismet_fake``) and moderators over the SQLite identity store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from social_auth import get_state
from social_auth.moderation import FormSignals, ModerationSettings, Moderator, Submission
from social_auth.provider import Profile
from social_auth.store import Commenter, IdentityStore
from tools.akismet_fake import VALID_KEY, FakeAkismet


def dispose(app: Flask) -> None:
    """Close an example blog's database connections (the suite runs many apps in one process,
    and idle SQLite connections hold three files each)."""
    get_state(app).store.engine.dispose()
    app.extensions["blog_sessions"].kw["bind"].dispose()


@pytest.fixture
def blogs() -> Iterator[Callable[..., Flask]]:
    """``tests.blog.test_blog.blog`` whose apps are disposed after the test."""
    from tests.blog.test_blog_admin import blog

    made: list[Flask] = []

    def make(tmp_path: Path, **config: object) -> Flask:
        made.append(blog(tmp_path, **config))
        return made[-1]

    yield make
    for app in made:
        dispose(app)


@pytest.fixture
def akismet() -> Iterator[FakeAkismet]:
    with FakeAkismet().running() as fake:
        yield fake


MakeModerator = Callable[..., Moderator]


@pytest.fixture
def moderator(db: IdentityStore, akismet: FakeAkismet) -> MakeModerator:
    def make(**settings: Any) -> Moderator:
        values: dict[str, Any] = {"akismet_key": VALID_KEY, "akismet_url": akismet.url,
                                  "akismet_timeout": 1.0, **settings}
        return Moderator(ModerationSettings(**values), db)

    return make


def person(
    store: IdentityStore, name: str = "Jane Doe", email: str = "jane@example.com"
) -> Commenter:
    """A commenter signed in through a provider that verified the email."""
    return store.sign_in(Profile(provider="github", subject=name.lower().replace(" ", "-"),
                                 display_name=name, email=email, email_verified=True)).commenter


def guest(store: IdentityStore, name: str = "Ann Guest", email: str = "ann@example.com",
          *, confirmed: bool = False) -> Commenter:
    made = store.create_guest(name, email, "https://ann.example")
    return store.mark_email_verified(made, email) if confirmed else store.require_by_id(made.id)


#: A form a person filled in for half a minute.
HUMAN = FormSignals(honeypot="", seconds_to_submit=30.0, token_problem=None)


def submission(commenter: Commenter | None, text: str = "Lovely walk, thanks!",
               **kwargs: Any) -> Submission:
    values: dict[str, Any] = {
        "content": text,
        "permalink": "https://blog.example/posts/walking",
        "blog": "https://blog.example/",
        "commenter": commenter,
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "referrer": "https://blog.example/",
        "form": HUMAN,
        **kwargs,
    }
    return Submission(**values)
