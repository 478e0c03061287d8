#!/usr/bin/env bash
# Installs Debian's Chromium for the Playwright tests when it is missing and we may install it.
set -u
CHROMIUM=${SOCIAL_AUTH_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  echo "Chromium: $CHROMIUM"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium: installing Debian's chromium package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
if [ -x "$CHROMIUM" ]; then
  echo "Chromium: $CHROMIUM"
else
  echo "Chromium: not available (browser tests will skip, or fail under CI)"
fi
exit 0
