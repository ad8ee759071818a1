//! Compiles the service's declared frame floor (`[package.metadata.genai-scaffold.frames]` in
//! Cargo.toml) into the binary, so the declaration is the one place the default is written:
//! the deployed functions need no setting, and `make dev`, the bench and the README read the
//! same declaration.

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
    let frames = table
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("genai-scaffold"))
        .and_then(|g| g.get("frames"))
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
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by Cargo")).join("frames.rs");
    let code = format!(
        "/// The declared least time between two chunk frames, in milliseconds.\n\
         pub const DEFAULT_MIN_FRAME_MS: u64 = {ms};\n\
         /// The variable that overrides [`DEFAULT_MIN_FRAME_MS`] for a function.\n\
         pub const MIN_FRAME_ENV: &str = {env:?};\n"
    );
    std::fs::write(&out, code).expect("write to OUT_DIR");
}
