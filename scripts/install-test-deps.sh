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

# The generated web app: Node 20.19+ with npm (npm ci runs per project), and Chromium from
# Debian for Playwright (its own browser download is not reachable from CI).
command -v npm >/dev/null || { echo "error: npm is missing; install Node 20.19+ (apt-get install nodejs npm)" >&2; exit 1; }
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
  echo "error: Node $(node --version) is too old for Vite 8; install Node 20.19 or newer" >&2
  exit 1
}
bash template/client/web/scripts/ensure-chromium.sh

# The generated projects' infrastructure checks: one virtualenv with the pinned tools of both
# IaC flavors (template/infra/requirements.txt, template/infra/sam/requirements.txt).
venv="${MATRIX_INFRA_VENV:-$HOME/.cache/genai-scaffold/infra-venv}"
command -v python3 >/dev/null || { echo "error: python3 is missing (apt-get install python3 python3-venv)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r template/infra/requirements.txt -r template/infra/sam/requirements.txt
