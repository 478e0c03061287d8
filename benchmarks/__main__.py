"""``python -m benchmarks [--quick] [--only NAME]``: run the benchmarks, write latest.json."""

from benchmarks.harness import main

raise SystemExit(main())
