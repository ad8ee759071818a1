#!/usr/bin/env bash
# Installs cargo-generate 0.26.0 on this toolchain (rustc 1.95), once.
#
# Why not plain `cargo install cargo-generate@0.26.0 --locked`: its lock file pins crates that
# no longer build here, and without --locked the resolver picks versions that need a newer
# rustc. The fix (found by trial, see issue 3) is to take the crate's own lock file and move two
# crates to versions that build: cargo-util-schemas 0.14.1 and kstring 2.0.2.
#
# The crate source is fetched with cargo itself (a throw-away manifest that depends on it), so
# this needs nothing but the crates.io registry. Idempotent: exits at once when the right
# version is already installed.
set -euo pipefail

want=0.26.0
if command -v cargo-generate >/dev/null 2>&1 \
  && cargo-generate --version 2>/dev/null | grep -q "$want"; then
  echo "cargo-generate $want already installed"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/fetch/src"
cat >"$work/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-cargo-generate"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
cargo-generate = "=$want"
TOML
touch "$work/fetch/src/lib.rs"
# `cargo fetch` downloads and unpacks the source into Cargo's registry cache.
(cd "$work/fetch" && cargo fetch --quiet)

src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cargo-generate-"$want" | head -n 1)
[ -d "$src" ] || { echo "error: cargo fetch did not unpack cargo-generate $want" >&2; exit 1; }

cp -r "$src" "$work/cargo-generate"
cd "$work/cargo-generate"
cargo update --quiet -p cargo-util-schemas --precise 0.14.1
cargo update --quiet -p kstring --precise 2.0.2
# A test tool, not a product: its own release profile (fat LTO, one codegen unit) took most of
# the install's minutes on 2 cores. Without LTO, at opt-level 1, with parallel codegen, it builds
# in a fraction of that and renders a template as fast as we need.
#
# Without its `git` feature (gix, reqwest and their TLS stack, a C build among them): the tests
# only ever render the local `template/` folder (`--path`), which needs no git and no network.
CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
  cargo install --path . --locked --quiet --no-default-features --features new-ui
cargo-generate --version
