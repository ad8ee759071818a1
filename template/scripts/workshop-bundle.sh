#!/usr/bin/env bash
# make workshop-bundle: one archive with everything an attendee's `make dev` needs from the
# network, for a room without Wi-Fi. Run it on the instructor's machine, in the project the
# room will use; it changes nothing in it. The archive holds:
#   - the project's files (what git tracks or would track: no target/, no node_modules/) and
#     its .git (lab 4's checkpoint compares services/ with the first commit);
#   - .workshop/vendor: the crates of every strategy (`cargo vendor`), so that the lab that
#     adds a strategy builds offline too, and .cargo/config.toml, which makes cargo use them,
#     through the link WORKSHOP_CRATES (the Makefile says why), and never the network;
#   - .workshop/npm-cache: the web app's npm packages (and the CDK app's), for `npm ci --offline`;
#   - .workshop/bin/genai-scaffold: this machine's generator, for `genai-scaffold add`, when it
#     is on PATH (attendees on another platform install their own);
#   - .workshop/wheels: the deploy tools' Python wheels, with DEPLOY_LABS=on;
#   - .workshop/target: make dev's compiled dependencies, for this machine's platform and Rust
#     (unless PREBUILT=off), so that an attendee's first make dev compiles the project's own
#     crates only: compiling the dependencies is most of a cold make dev's minutes.
# Attendees run: tar -xzf <archive> && cd <project> && make workshop-install
set -euo pipefail

BUNDLE=${BUNDLE:?BUNDLE names the archive to write}
WORKSHOP_CRATES=${WORKSHOP_CRATES:?WORKSHOP_CRATES names the link to the vendored crates (the Makefile sets it)}
DEPLOY_LABS=${DEPLOY_LABS:-off}
PREBUILT=${PREBUILT:-on}
GENERATOR=${GENAI_SCAFFOLD:-$(command -v genai-scaffold || true)}
project=$(basename "$PWD")

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "workshop-bundle: $PWD is not a git repository, which says what belongs to the project:" \
        "git init && git add -A && git commit -m 'Workshop project', then make workshop-bundle again." >&2
    exit 2
fi
if [ -z "$GENERATOR" ]; then
    echo "workshop-bundle: genai-scaffold is not on PATH (the bundle needs it to vendor every strategy's" \
        "crates): cargo install genai-scaffold, or GENAI_SCAFFOLD=/path/to/genai-scaffold make workshop-bundle." >&2
    exit 2
fi

work=$(mktemp -d)
# The link points into $work while the bundle builds: remove it with $work, not one made since.
trap 'case $(readlink "$WORKSHOP_CRATES" 2>/dev/null) in "$work"/*) rm -f "$WORKSHOP_CRATES" ;; esac; rm -rf "$work"' EXIT
stage=$work/$project
mkdir -p "$stage/.workshop/bin" "$stage/.cargo"

echo "workshop-bundle: the project's files"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$stage"
cp -a "$(git rev-parse --git-dir)" "$stage/.git"

# A sibling project with every strategy, from this project's answers: `cargo vendor` takes its
# manifest too, so the crates of a strategy added in the room are in the bundle.
echo "workshop-bundle: crates of every strategy (cargo vendor)"
strategies=$("$GENERATOR" list | awk '/^Strategies/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' | paste -sd, -)
"$GENERATOR" new "$work/every-strategy" --answers .genai-scaffold.toml --strategies "$strategies" \
    --yes --no-git >/dev/null
(cd "$stage" && cargo vendor --quiet --locked --versioned-dirs \
    --sync "$work/every-strategy/Cargo.toml" .workshop/vendor >/dev/null)
ln -sfn "$stage/.workshop/vendor" "$WORKSHOP_CRATES"
cat > "$stage/.cargo/config.toml" <<CONFIG
# Written by make workshop-bundle: crates come from .workshop/vendor, never the network
# (https://doc.rust-lang.org/cargo/reference/source-replacement.html), read through a link
# that the Makefile keeps on this folder (it says why).
[source.crates-io]
replace-with = "workshop-bundle"

[source.workshop-bundle]
directory = "$WORKSHOP_CRATES"

[net]
offline = true
CONFIG

echo "workshop-bundle: npm packages"
for app in client/web infra/cdk; do
    [ -f "$app/package-lock.json" ] || continue
    mkdir -p "$work/npm/$app"
    cp "$app/package.json" "$app/package-lock.json" "$work/npm/$app/"
    (cd "$work/npm/$app" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
        --cache "$stage/.workshop/npm-cache" >/dev/null)
done

cp "$GENERATOR" "$stage/.workshop/bin/genai-scaffold"
echo "$(uname -s) $(uname -m)" > "$stage/.workshop/platform"

# make dev's build and make smoke's (lab-check runs it), done as the attendee's will be: the
# crates read through the same link and the same packages named (cargo unifies the features of
# the packages one command names, so these are the units those targets ask for). In this
# project, and in one with every strategy for lab 4's addition. cargo finds them fresh in any target folder (it keeps a build script's output
# paths relative to where it ran), for the same rustc and platform.
if [ "$PREBUILT" != off ]; then
    echo "workshop-bundle: make dev's compiled dependencies ($(rustc -V))"
    cp -r "$stage/.cargo" "$work/every-strategy/"
    for project_dir in "$stage" "$work/every-strategy"; do
        (cd "$project_dir" && CARGO_TARGET_DIR=$work/prebuilt "${MAKE:-make}" --no-print-directory dev-build smoke-build \
            > "$work/prebuilt.log" 2>&1) || {
            tail -20 "$work/prebuilt.log" >&2
            echo "workshop-bundle: make dev-build or make smoke-build failed above (in a copy of this project, or of one with every strategy); PREBUILT=off leaves the compiled dependencies out." >&2
            exit 1; }
    done
    # Not the binaries (tens of MB each): the attendee's make dev links them again.
    mkdir -p "$stage/.workshop/target"
    tar -C "$work/prebuilt" --exclude=dev-local/incremental -cf - dev-local/deps dev-local/build dev-local/.fingerprint \
        | tar -C "$stage/.workshop/target" -xf -
    find "$stage/.workshop/target/dev-local/deps" -type f -perm -u+x ! -name '*.so' ! -name '*.dylib' -delete
    rustc -V > "$stage/.workshop/rustc"
fi

if [ "$DEPLOY_LABS" = on ]; then
    echo "workshop-bundle: the deploy tools' wheels"
    python3 -m pip download --quiet --disable-pip-version-check -d "$stage/.workshop/wheels" \
        -r infra/requirements.txt $(ls infra/*/requirements.txt 2>/dev/null | sed 's/^/-r /')
fi

mkdir -p "$(dirname "$BUNDLE")"
tar -C "$work" -czf "$BUNDLE.partial" "$project"
mv "$BUNDLE.partial" "$BUNDLE"
echo "workshop-bundle: wrote $BUNDLE ($(du -h "$BUNDLE" | cut -f1)) for $(cat "$stage/.workshop/platform")."
echo "Attendees: tar -xzf $(basename "$BUNDLE") && cd $project && make workshop-install"
