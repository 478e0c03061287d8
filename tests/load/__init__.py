"""A bounded load test of the example blog under gunicorn on PostgreSQL and Redis, signing in
through the npm oidc-provider on loopback. ``make loadtest`` runs the full form; the short form
runs inside ``make test`` (tests/security/test_load.py)."""
