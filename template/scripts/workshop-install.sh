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

# The Makefile that runs this script pointed WORKSHOP_CRATES at .workshop/vendor (it says why).
if [ ! -d "${WORKSHOP_CRATES:?run make workshop-install, which sets WORKSHOP_CRATES}/" ]; then
    echo "workshop-install: cargo reads the crates through $WORKSHOP_CRATES, which make could not" \
        "point at $PWD/.workshop/vendor: make it writable (it is under /var/tmp), then make workshop-install again." >&2
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

# make dev's compiled dependencies from the bundle, when it was made on this platform with this
# Rust (cargo would compile them again otherwise: it checks the compiler of every unit), into
# a target folder that has no make dev build yet.
target=${CARGO_TARGET_DIR:-target}
if [ -d .workshop/target/dev-local ] && [ ! -e "$target/dev-local" ]; then
    rust_here=$(rustc -V 2>/dev/null || echo "no rustc")
    if [ "$here" = "$made" ] && [ "$rust_here" = "$(cat .workshop/rustc)" ]; then
        mkdir -p "$target"
        cp -a .workshop/target/dev-local "$target/"
        echo "workshop-install: make dev's compiled dependencies from the bundle ($rust_here, $here)"
    else
        echo "workshop-install: the bundle's compiled dependencies are for $(cat .workshop/rustc) on $made;" \
            "this machine has $rust_here on $here, so make dev compiles them (minutes, once)." >&2
    fi
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
