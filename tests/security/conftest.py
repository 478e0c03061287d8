"""Fixtures for the security battery: a local issuer that counts which of its endpoints were
called (to prove a refused token went no further)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.issuers import CountingIssuer, google_like_claims


@pytest.fixture
def issuer() -> Iterator[CountingIssuer]:
    fake = CountingIssuer(
        id_token_claims=google_like_claims(),
        userinfo={"sub": "110169484474386276334", "name": "From Userinfo"},
    )
    with fake.running():
        yield fake
