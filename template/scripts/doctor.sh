#!/usr/bin/env bash
# make doctor: each tool this project needs, its state, and a one-line fix for what is missing.
# Reads the versions it asks for from where the project states them (the workspace's
# rust-version, the web app's engines.node), so it cannot drift from them. Writes nothing.
# Exits 1 when something `make dev` or `make test` needs is missing; the optional parts (the
# browser for make e2e, the deploy tools) only say how to get them.
set -u

PORT=${PORT:-8080}
INFRA_VENV=${INFRA_VENV:-.venv}
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
# About what a first `make dev` and `make test` write under target/ (both profiles, every
# dependency), with room to spare.
DISK_GB=8
failed=0

# line STATE WHAT DETAIL [FIX]: one aligned line; a FIX goes below it.
line() {
    printf '%-8s %-22s %s\n' "$1" "$2" "$3"
    [ -z "${4:-}" ] || printf '%-8s %-22s fix: %s\n' '' '' "$4"
}
need() { failed=1; line "$@"; }

# at_least HAVE WANT: true when dotted version HAVE >= WANT (numeric, field by field).
at_least() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -t. -k1,1n -k2,2n -k3,3n | head -n 1)" = "$2" ]
}

# Rust: the workspace's rust-version (Cargo.toml), which cargo's resolver also builds for.
rust_wanted=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
    need missing "Rust $rust_wanted+" "cargo/rustc not found" "install rustup from https://rustup.rs, then open a new shell"
else
    rust_have=$(rustc --version | cut -d' ' -f2)
    if at_least "$rust_have" "$rust_wanted"; then
        line ok "Rust $rust_wanted+" "rustc $rust_have"
    else
        need old "Rust $rust_wanted+" "rustc $rust_have" "rustup update stable"
    fi
fi

# Node.js and npm: the web app's engines.node (client/web/package.json), when it is there.
if [ -f client/web/package.json ]; then
    node_wanted=$(sed -n 's/.*"node" *: *">=\([0-9.]*\)".*/\1/p' client/web/package.json | head -n 1)
    node_fix="install Node.js $node_wanted or later (https://nodejs.org; nvm install --lts), then open a new shell"
    if ! command -v node >/dev/null 2>&1; then
        need missing "Node.js $node_wanted+" "node not found (the web app, make test)" "$node_fix"
    else
        node_have=$(node --version | sed 's/^v//')
        if at_least "$node_have" "$node_wanted"; then
            line ok "Node.js $node_wanted+" "node $node_have"
        else
            need old "Node.js $node_wanted+" "node $node_have" "$node_fix"
        fi
        if command -v npm >/dev/null 2>&1; then
            line ok npm "npm $(npm --version 2>/dev/null)"
        else
            need missing npm "npm not found" "install npm with Node.js (https://nodejs.org)"
        fi
    fi
fi

# Python 3: the deploy scripts and the infrastructure tests (infra/).
if command -v python3 >/dev/null 2>&1; then
    line ok "Python 3" "$(python3 --version 2>&1)"
else
    need missing "Python 3" "python3 not found (infra/ scripts, make test)" "install Python 3 (Debian/Ubuntu: sudo apt-get install python3 python3-venv)"
fi

# The port make dev serves on: a connection that opens means something listens there.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    need busy "port $PORT" "something already listens on 127.0.0.1:$PORT" "stop it, or run make dev PORT=<another>"
else
    line ok "port $PORT" "free"
fi

# Disk space where the builds go.
free_kb=$(df -Pk "${CARGO_TARGET_DIR:-.}" 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ -n "$free_kb" ] && [ "$free_kb" -lt $((DISK_GB * 1024 * 1024)) ]; then
    need low "disk space" "$((free_kb / 1024 / 1024)) GB free, builds need about $DISK_GB GB" "free some space (make clean removes this project's build outputs)"
elif [ -n "$free_kb" ]; then
    line ok "disk space" "$((free_kb / 1024 / 1024)) GB free"
fi

# Optional: the browser make e2e drives, and the deploy tools.
if [ -x "$CHROMIUM" ]; then
    line ok "Chromium (e2e)" "$CHROMIUM"
else
    line optional "Chromium (e2e)" "not at $CHROMIUM: only make e2e needs it" "sudo apt-get install chromium (Debian/Ubuntu), or CHROMIUM_PATH=<its path>"
fi
if [ -x "$INFRA_VENV/bin/cargo-lambda" ] || command -v cargo-lambda >/dev/null 2>&1; then
    line ok "deploy tools" "cargo-lambda and the checks (make infra-tools)"
else
    line optional "deploy tools" "not installed: deploys and make test's infrastructure part need them (SKIP=infra leaves that out)" "make infra-tools"
fi

# A workshop bundle (make workshop-bundle), when this project came from one: the crates, the
# cargo setting that uses them, the npm packages, and the platform it was made on.
if [ -d .workshop ]; then
    # The crates cargo reads (.cargo/config.toml's directory, a link the Makefile keeps) are these.
    crates=$(sed -n 's/^directory = "\(.*\)"$/\1/p' .cargo/config.toml 2>/dev/null)
    if [ -d .workshop/vendor ] && [ -n "$crates" ] && [ -d .workshop/npm-cache ] \
        && [ "$(cd "$crates" 2>/dev/null && pwd -P)" = "$(cd .workshop/vendor && pwd -P)" ]; then
        made=$(cat .workshop/platform 2>/dev/null || echo unknown)
        if [ "$made" = "$(uname -s) $(uname -m)" ]; then
            line ok "workshop bundle" "$(ls .workshop/vendor | wc -l | tr -d ' ') crates, npm packages, made on $made"
        else
            line optional "workshop bundle" "made on $made, this machine is $(uname -s) $(uname -m)" \
                "install genai-scaffold yourself for the lab that adds a strategy; the crates work on any platform"
        fi
    else
        need broken "workshop bundle" ".workshop/ lacks its vendor/ or npm-cache/, or .cargo/config.toml does not lead to .workshop/vendor" \
            "unpack the instructor's archive again into an empty folder (tar -xzf <archive>)"
    fi
    # make dev's compiled dependencies, usable only by the Rust and the platform that made them.
    if [ -f .workshop/rustc ]; then
        built=$(cat .workshop/rustc)
        if [ "$built" = "$(rustc -V 2>/dev/null)" ] && [ "$(cat .workshop/platform 2>/dev/null)" = "$(uname -s) $(uname -m)" ]; then
            line ok "compiled dependencies" "make dev's, by $built"
        else
            line optional "compiled dependencies" "made by $built on $(cat .workshop/platform 2>/dev/null); make dev compiles them here (minutes, once)" \
                "on the same platform, use that Rust in this folder: rustup override set $(echo "$built" | cut -d' ' -f2)"
        fi
    fi
fi

if [ "$failed" -ne 0 ]; then
    echo "make doctor: fix the lines above, then run make doctor again." >&2
    exit 1
fi
echo "make doctor: ready for make dev and make test."
