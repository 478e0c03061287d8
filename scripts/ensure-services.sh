#!/usr/bin/env bash
# Starts PostgreSQL and Redis when they are installed here but not answering. Tests that still
# cannot reach them skip with a reason, or fail when CI is set.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  for version in /etc/postgresql/*; do
    [ -d "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
  done
fi
if ! up 6379 && command -v redis-server >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp >/dev/null || true
fi
for i in $(seq 1 20); do
  up 5432 && break
  sleep 0.5
done
up 5432 && echo "PostgreSQL: up" || echo "PostgreSQL: not reachable at 127.0.0.1:5432 (its tests will skip, or fail under CI)"
up 6379 && echo "Redis: up" || echo "Redis: not reachable at 127.0.0.1:6379 (its tests will skip, or fail under CI)"
exit 0
