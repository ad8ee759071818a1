#!/usr/bin/env bash
# make workshop-offline-check: a room without network, for real. Generates the workshop project
# (examples/workshop.toml), writes its bundle with `make workshop-bundle`, then in a network
# namespace of its own (`unshare -n`: loopback only, no route and no DNS, so every registry is
# unreachable) unpacks it as an attendee would, with an empty CARGO_HOME and target folder, runs
# `make workshop-install`, checks the stack it starts with `make smoke`, then adds the
# strategies the workshop leaves out with the bundle's generator and builds them.
# The bundle carries make dev's compiled dependencies, so the attendee's side fails if it compiles
# an AWS SDK crate. Needs root (or user namespaces) for unshare; takes about 8 minutes on 2 cores,
# most of it the bundle's two cold builds, which is why `make test` leaves it out (DEVELOPERS:
# README.md says when to run it).
set -euo pipefail

GENERATOR=${GENERATOR:?GENERATOR names the genai-scaffold binary}
work=${WORK:-$(mktemp -d)}
inside=${1:-}

if [ "$inside" = --inside ]; then
    # In the namespace: bring loopback up (a new namespace has it down), prove the network is
    # gone, then install and ask.
    ip link set lo up
    if curl -sS --max-time 5 -o /dev/null https://index.crates.io/config.json 2>/dev/null; then
        echo "offline check: crates.io is reachable inside the namespace; this check proves nothing" >&2
        exit 1
    fi
    rm -rf "$work/attendee" && mkdir -p "$work/attendee"
    tar -C "$work/attendee" -xzf "$work/bundle.tar.gz"
    cd "$work/attendee/genai-workshop"
    git rev-parse --verify -q HEAD >/dev/null || { echo "offline check: the bundle's project has no git history (lab 4 needs it)" >&2; exit 1; }
    export CARGO_HOME=$work/attendee/cargo-home CARGO_TARGET_DIR=$work/attendee/target
    port=18181
    start=$(date +%s)
    setsid make workshop-install PORT=$port > "$work/install.log" 2>&1 &
    pid=$!
    trap 'kill -INT -- -$pid 2>/dev/null; sleep 1; kill -KILL -- -$pid 2>/dev/null || true' EXIT
    # The cold build is the long part: 15 minutes is three times what 2 cores take.
    for _ in $(seq 1 900); do
        grep -q '^ready:' "$work/install.log" && break
        kill -0 $pid 2>/dev/null || { echo "offline check: make workshop-install stopped:" >&2; tail -20 "$work/install.log" >&2; exit 1; }
        sleep 1
    done
    grep -q '^ready:' "$work/install.log" || { echo "offline check: no ready: line within 15 minutes" >&2; tail -20 "$work/install.log" >&2; exit 1; }
    echo "offline check: make workshop-install answered ready after $(( $(date +%s) - start )) s, no network," \
        "compiling $(grep -c '^ *Compiling ' "$work/install.log") crates"
    grep -E 'Finished|added [0-9]+ packages|compiled dependencies' "$work/install.log" | sed 's/^/  /'
    # The bundle carries make dev's compiled dependencies: the attendee compiles the project's
    # own crates, never an AWS SDK crate (a minute each, most of a cold make dev).
    if grep -E '^ *Compiling (aws-|tokio |hyper )' "$work/install.log"; then
        echo "offline check: make workshop-install compiled the dependencies above again: the bundle's compiled ones were not used" >&2
        exit 1
    fi
    # Every strategy the project has, through the one origin, as make smoke would (its build
    # is offline too: the bundle has the bench's crates).
    make --no-print-directory smoke URL=http://127.0.0.1:$port SMOKE_FLAGS=--skip-long > "$work/smoke.log" 2>&1 \
        || { tail -30 "$work/smoke.log" >&2; exit 1; }
    grep -E '^(smoke|\[)' "$work/smoke.log"
    echo "offline check: make smoke's build compiled $(grep -c '^ *Compiling ' "$work/smoke.log") crates"
    if grep -E '^ *Compiling (aws-|tokio |hyper |reqwest )' "$work/smoke.log"; then
        echo "offline check: make smoke compiled the dependencies above again: the bundle's compiled ones were not used" >&2
        exit 1
    fi
    # The lab that adds a strategy, offline: the bundle's generator and the crates it vendored
    # for every strategy, the new service built as make dev builds it.
    generator=.workshop/bin/genai-scaffold
    for key in $("$generator" list | awk '/^Strategies/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
        grep -q "^$key = true" .genai-scaffold.toml && continue
        "$generator" add "$key" >/dev/null
        echo "offline check: added $key"
    done
    make --no-print-directory dev-build > "$work/add.log" 2>&1 || { tail -20 "$work/add.log" >&2; exit 1; }
    echo "offline check: make dev's build with every strategy compiled $(grep -c '^ *Compiling ' "$work/add.log") crates"
    if grep -E '^ *Compiling (aws-|tokio |hyper )' "$work/add.log"; then
        echo "offline check: the build after lab 4's addition compiled the dependencies above again: the bundle's compiled ones for every strategy were not used" >&2
        exit 1
    fi
    exit 0
fi

rm -rf "$work/genai-workshop"
"$GENERATOR" new "$work/genai-workshop" --answers examples/workshop.toml --yes >/dev/null
(cd "$work/genai-workshop" && GENAI_SCAFFOLD=$GENERATOR make --no-print-directory workshop-bundle BUNDLE="$work/bundle.tar.gz")
WORK=$work unshare -n bash "$0" --inside
