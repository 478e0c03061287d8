#!/usr/bin/env bash
# Installs Debian's wrk (the HTTP load generator of the server benchmark) when it is missing and
# we are root; otherwise the benchmark uses its own Python load generator and says so.
set -u
command -v wrk >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -q wrk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } \
    || true
fi
command -v wrk >/dev/null 2>&1 && echo "wrk: installed" \
  || echo "wrk: not available; the server benchmark uses a Python load generator"
exit 0
