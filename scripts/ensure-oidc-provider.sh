#!/usr/bin/env bash
# Installs the npm package oidc-provider (an independent OpenID provider) that the oidc and google
# adapter tests run against, into tests/oidc_provider/node_modules (ignored by git), pinned by the
# committed package-lock.json. Without node/npm the tests skip (and fail under CI).
set -euo pipefail
dir="$(cd "$(dirname "$0")/../tests/oidc_provider" && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "ensure-oidc-provider: node or npm not found; the oidc-provider tests will be skipped" >&2
    exit 0
fi
stamp="$dir/node_modules/.package-lock.json"
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ] && [ -d "$dir/node_modules/oidc-provider" ]; then
    exit 0
fi
cd "$dir" && npm ci --no-audit --no-fund --loglevel=error
