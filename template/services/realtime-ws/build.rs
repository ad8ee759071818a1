//! Compiles the service's declaration (`[package.metadata.genai-scaffold]` in Cargo.toml) into
//! the binary, so it is the one place these are written: the frame floor (`frames`: the
//! deployed functions need no setting, and `make dev`, the bench and the README read the same
//! declaration) and the variables that name the worker and its ledger (`worker`: the
//! infrastructure and `make dev` set the variables the declaration names, which the functions
//! read).

use std::path::PathBuf;

fn main() {
    // Cargo runs a build script in its package's folder; the path stays relative, so nothing
    // of the project's own path is compiled in (the matrix's projects share one target folder).
    let manifest = "Cargo.toml";
    println!("cargo:rerun-if-changed={manifest}");
    let text = std::fs::read_to_string(manifest).expect("the crate's own manifest");
    let table: toml::Table = text
        .parse()
        .expect("Cargo has parsed this manifest already");
    let declared = table
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("genai-scaffold"))
        .expect("[package.metadata.genai-scaffold], the service's declaration");
    let frames = declared
        .get("frames")
        .expect("[package.metadata.genai-scaffold.frames] declares the frame floor");
    let ms = frames
        .get("min-frame-ms")
        .and_then(toml::Value::as_integer)
        .and_then(|n| u64::try_from(n).ok())
        .expect("`min-frame-ms`, a whole number of milliseconds");
    let env = frames
        .get("env")
        .and_then(toml::Value::as_str)
        .expect("`env`, the variable that overrides it");
    let worker = declared
        .get("worker")
        .expect("[package.metadata.genai-scaffold.worker] declares the generation function");
    let variable = |key: &str| {
        worker
            .get(key)
            .and_then(toml::Value::as_str)
            .unwrap_or_else(|| panic!("the worker's `{key}`, a variable name"))
            .to_string()
    };
    let (worker_env, ledger_env) = (variable("env"), variable("ledger-env"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by Cargo")).join("declared.rs");
    let code = format!(
        "/// The declared least time between two chunk frames, in milliseconds.\n\
         pub const DEFAULT_MIN_FRAME_MS: u64 = {ms};\n\
         /// The variable that overrides [`DEFAULT_MIN_FRAME_MS`] for a function.\n\
         pub const MIN_FRAME_ENV: &str = {env:?};\n\
         /// The variable that names the generation function (the worker's `env`).\n\
         pub const WORKER_ENV: &str = {worker_env:?};\n\
         /// The variable that names the worker's ledger table (its `ledger-env`).\n\
         pub const LEDGER_ENV: &str = {ledger_env:?};\n"
    );
    std::fs::write(&out, code).expect("write to OUT_DIR");
}
