#!/usr/bin/env bash
# Installs what the tests need, once. Safe to run again: each step checks first.
#
# The three installs are independent: cargo-generate compiles (CPU), Chromium and the Python
# tools mostly download (network), so they run side by side and a cold machine waits for the
# longest of them, not for their sum. Each one's output goes to a log that is shown if it fails.
# Each has a time limit (a stalled mirror or a hung build fails the run, saying what it waited
# for); a cold install on 2 cores takes well under half of it.
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

# Node.js 22, beside the system's Node (the web app and the CDK app support 20.19+ and 22; the
# AWS SDK for JavaScript's releases from January 2027, which the CDK CLI uses, need 22). It
# comes from the npm registry, the one Node source CI reaches (nodejs.org downloads do not
# resolve there): the node-linux-<arch> package is the official binary, about 4 s and 185 MB.
# Run the generated projects' checks under it with PATH=$NODE22_DIR/bin:$PATH (README).
node22() {
  local dir="${NODE22_DIR:-$HOME/.cache/genai-scaffold/node22}" arch
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "node22: no binary for $(uname -m)"; return 0 ;; esac
  if [ "$("$dir/bin/node" --version 2>/dev/null | cut -d. -f1)" = v22 ]; then
    echo "node22: $("$dir/bin/node" --version) already in $dir"
    return 0
  fi
  npm install --prefix "$dir" --no-save --no-audit --no-fund "node-linux-$arch@22"
  mkdir -p "$dir/bin"
  ln -sf "../node_modules/node-linux-$arch/bin/node" "$dir/bin/node"
  echo "node22: $("$dir/bin/node" --version) in $dir"
}

declare -A jobs limits waits
# $1: name, $2: time limit (timeout's syntax), $3: what it waits for, the rest: the command.
# timeout ends the whole command (its process group) when the limit passes and exits 124.
start() {
  local name=$1 limit=$2 what=$3
  shift 3
  limits[$name]=$limit
  waits[$name]=$what
  timeout --kill-after=30s "$limit" "$@" >"$logs/$name" 2>&1 &
  jobs[$name]=$!
}
# Chromium from Debian for Playwright (its own browser download is not reachable from CI).
# Installing it may need sudo, whose password prompt a job in a process group of its own cannot
# answer: ask now, before the jobs start.
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && [ "$(id -u)" != 0 ]; then sudo -v; fi
start chromium 15m "apt-get update and apt-get install chromium" \
  bash template/client/web/scripts/ensure-chromium.sh
# A function is not a command timeout can run: the virtualenv's step runs in a bash of its own.
export -f infra_tools
start infra-tools 20m "python3 -m venv and pip install of template/infra/requirements.txt and template/infra/sam/requirements.txt" \
  bash -c infra_tools
export -f node22
start node22 5m "npm install of node-linux-<arch>@22 from the npm registry" bash -c node22
start cargo-generate 40m "cargo fetch and cargo install of cargo-generate" \
  bash scripts/install-cargo-generate.sh

failed=0
for name in "${!jobs[@]}"; do
  status=0
  wait "${jobs[$name]}" || status=$?
  if [ "$status" -eq 0 ]; then
    tail -n 1 "$logs/$name" | sed "s/^/$name: /"
  else
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
      echo "error: installing $name ran past its ${limits[$name]} limit, still waiting for ${waits[$name]}; its output so far:" >&2
    else
      echo "error: installing $name failed:" >&2
    fi
    cat "$logs/$name" >&2
    failed=1
  fi
done
exit "$failed"
