#!/usr/bin/env bash
# Playwright drives the system Chromium (no browser download): install Debian's package when it
# is missing. Idempotent; needs root (or sudo) the first time.
set -euo pipefail
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$chromium" ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "No Chromium at $chromium and no apt-get: install Chromium and set CHROMIUM_PATH." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
