#!/usr/bin/env bash
# Installs what the tests need, once. Safe to run again: each step checks first.
#
# The three installs are independent: cargo-generate compiles (CPU), Chromium and the Python
# tools mostly download (network), so they run side by side and a cold machine waits for the
# longest of them, not for their sum. Each one's output goes to a log that is shown if it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in rustfmt clippy-driver; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is missing; install the rustfmt and clippy components of your toolchain" >&2
    exit 1
  }
done
command -v git >/dev/null || { echo "error: git is missing (apt-get install git)" >&2; exit 1; }
# The generated web app: Node 20.19+ with npm (npm ci runs per project).
command -v npm >/dev/null || { echo "error: npm is missing; install Node 20.19+ (apt-get install nodejs npm)" >&2; exit 1; }
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
  echo "error: Node $(node --version) is too old for Vite 8; install Node 20.19 or newer" >&2
  exit 1
}
command -v python3 >/dev/null || { echo "error: python3 is missing (apt-get install python3 python3-venv)" >&2; exit 1; }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# The generated projects' infrastructure checks: one virtualenv with the pinned tools of both
# IaC flavors (template/infra/requirements.txt, template/infra/sam/requirements.txt).
infra_tools() {
  local venv="${MATRIX_INFRA_VENV:-$HOME/.cache/genai-scaffold/infra-venv}"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r template/infra/requirements.txt -r template/infra/sam/requirements.txt
}

declare -A jobs
# Chromium from Debian for Playwright (its own browser download is not reachable from CI).
bash template/client/web/scripts/ensure-chromium.sh >"$logs/chromium" 2>&1 &
jobs[chromium]=$!
infra_tools >"$logs/infra-tools" 2>&1 &
jobs[infra-tools]=$!
bash scripts/install-cargo-generate.sh >"$logs/cargo-generate" 2>&1 &
jobs[cargo-generate]=$!

failed=0
for name in "${!jobs[@]}"; do
  if wait "${jobs[$name]}"; then
    tail -n 1 "$logs/$name" | sed "s/^/$name: /"
  else
    echo "error: installing $name failed:" >&2
    cat "$logs/$name" >&2
    failed=1
  fi
done
exit "$failed"
