#!/usr/bin/env bash
# make workshop-install: set up a project unpacked from `make workshop-bundle`'s archive with no
# network, then start `make dev`. Cargo reads the crates from .workshop/vendor
# (.cargo/config.toml says so and forbids the network), npm installs from .workshop/npm-cache,
# and the bundle's genai-scaffold is used when it was made on this platform.
set -euo pipefail

if [ ! -f .workshop/platform ] || [ ! -d .workshop/vendor ]; then
    echo "workshop-install: this folder is not a project from a workshop bundle (no .workshop/vendor)." \
        "Unpack the archive the instructor shares (tar -xzf <archive>), then run make workshop-install in" \
        "the folder it made." >&2
    exit 2
fi

here="$(uname -s) $(uname -m)"
made="$(cat .workshop/platform)"
if [ "$here" = "$made" ]; then
    echo "workshop-install: genai-scaffold for the labs: export PATH=\"$PWD/.workshop/bin:\$PATH\""
else
    echo "workshop-install: the bundle was made on $made and this machine is $here: install" \
        "genai-scaffold yourself for the lab that adds a strategy (cargo install genai-scaffold, where" \
        "there is a network), and expect npm to miss the web tools' binaries for this platform." >&2
fi

# The web app's packages from the bundle's cache; make dev serves the API without the web app
# when npm is missing, as it says.
export npm_config_offline=true npm_config_cache="$PWD/.workshop/npm-cache"
if [ -f client/web/package-lock.json ] && command -v npm >/dev/null; then
    npm --prefix client/web ci --no-audit --no-fund
fi

# The deploy tools, when the bundle has their wheels (DEPLOY_LABS=on at bundle time).
if [ -d .workshop/wheels ]; then
    PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/.workshop/wheels" "${MAKE:-make}" infra-tools
fi

exec "${MAKE:-make}" dev
