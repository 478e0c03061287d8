"""``python -m tests.load [--quick]``: the full load test (or the short one), figures printed."""

from tests.load.harness import main

raise SystemExit(main())
