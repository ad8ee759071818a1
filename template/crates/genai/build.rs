//! Compiles the crate's declaration (`[package.metadata.genai-scaffold]` in Cargo.toml) into
//! the library, so the manifest is the one place the names the deployment and the code share
//! are written: the services read them from here, the deploy model (infra/project.py) from the
//! same manifest.

use std::path::PathBuf;

/// Each declared name, the constant it becomes and what that constant is for.
const DECLARED: [(&str, &str, &str); 3] = [
    (
        "config-env",
        "CONFIG_ENV",
        "The variable naming the SSM path a deployed service reads its configuration from.",
    ),
    (
        "origin-secret-env",
        "ORIGIN_SECRET_ENV",
        "The variable giving a function the origin secrets it accepts (comma separated).",
    ),
    (
        "origin-secret-header",
        "ORIGIN_SECRET_HEADER",
        "The header CloudFront adds, holding the origin secret.",
    ),
];

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
        .and_then(|m| m.get("genai-scaffold"));
    let mut code = String::new();
    for (key, constant, doc) in DECLARED {
        let value = declared
            .and_then(|g| g.get(key))
            .and_then(toml::Value::as_str)
            .unwrap_or_else(|| panic!("[package.metadata.genai-scaffold] lacks `{key}`"));
        code += &format!(
            "/// {doc}\n/// (`{key}` in this crate's Cargo.toml, which the infrastructure reads too.)\n\
             pub const {constant}: &str = {value:?};\n"
        );
    }
    // The request limits, for `config::Limits::default()`.
    code += "/// The declared request limits (`[package.metadata.genai-scaffold.limits]`).\n\
             mod declared_limits {\n";
    for (key, constant, kind) in [
        ("max-prompt-bytes", "MAX_PROMPT_BYTES", "usize"),
        ("max-tokens", "MAX_TOKENS", "u32"),
        ("default-max-tokens", "DEFAULT_MAX_TOKENS", "u32"),
    ] {
        let value = declared
            .and_then(|g| g.get("limits"))
            .and_then(|l| l.get(key))
            .and_then(toml::Value::as_integer)
            .filter(|v| (1..=i64::from(u32::MAX)).contains(v))
            .unwrap_or_else(|| {
                panic!("[package.metadata.genai-scaffold.limits] lacks `{key}`, a positive integer")
            });
        code += &format!("    pub const {constant}: {kind} = {value};\n");
    }
    code += "}\n";
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by Cargo")).join("declared.rs");
    std::fs::write(&out, code).expect("write to OUT_DIR");
}
