"""The short form of the load test (``make loadtest`` runs the full one): the example blog under
gunicorn on PostgreSQL and Redis, sign-ins through the npm oidc-provider, start and callback on
whichever worker answers, a group racing on one subject; then gthread, 1 worker x 8 threads."""

from __future__ import annotations

import pytest

from tests.conftest import missing_part
from tests.load.harness import QUICK, Scenario, Unavailable, run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def login_route_exists() -> bool:
    import tempfile
    from pathlib import Path

    from tests.apps import make_blog

    app = make_blog(Path(tempfile.mkdtemp(prefix="sa-load-")))
    return any(r.rule.endswith("/login/<provider>") for r in app.url_map.iter_rules())


@pytest.mark.parametrize("scenario", QUICK, ids=[s.label for s in QUICK])
def test_concurrent_sign_ins_across_workers_make_no_errors_and_no_duplicates(
    scenario: Scenario, capsys: pytest.CaptureFixture[str]
):
    if not login_route_exists():
        pytest.skip("the sign-in routes are not in this branch yet")
    try:
        result = run(scenario)
    except Unavailable as exc:
        missing_part(str(exc))
    with capsys.disabled():
        print("\n" + result.figures())
    assert result.errors == []
    assert result.ok == scenario.sign_ins
    assert result.commenters == result.identities == result.expected_commenters
    assert result.duplicate_subjects == 0
    if scenario.racers:
        assert result.racer_commenters == 1
    if scenario.workers > 1:
        assert result.cross_worker > 0, "every callback landed on its start's worker"
