#!/usr/bin/env bash
# Installs what the tests need, once. Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in rustfmt clippy-driver; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is missing; install the rustfmt and clippy components of your toolchain" >&2
    exit 1
  }
done
command -v git >/dev/null || { echo "error: git is missing (apt-get install git)" >&2; exit 1; }

bash scripts/install-cargo-generate.sh
