//! Compiles the crate's declaration (`[package.metadata.genai-scaffold]` in Cargo.toml) into
//! the library, so the manifest is the one place the name of the configuration variable is
//! written: the services read it from here, the deploy model (infra/project.py) from the same
//! manifest.

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
    let config_env = table
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("genai-scaffold"))
        .and_then(|g| g.get("config-env"))
        .and_then(toml::Value::as_str)
        .expect("[package.metadata.genai-scaffold] `config-env`, the configuration's variable");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by Cargo")).join("declared.rs");
    let code = format!(
        "/// The variable naming the SSM path a deployed service reads its configuration from\n\
         /// (`config-env` in this crate's Cargo.toml, which the infrastructure sets).\n\
         pub const CONFIG_ENV: &str = {config_env:?};\n"
    );
    std::fs::write(&out, code).expect("write to OUT_DIR");
}
