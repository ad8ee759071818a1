//! Helpers shared by the integration tests: run the real binary, list a generated tree.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `genai-scaffold` binary.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genai-scaffold"));
    cmd.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    cmd
}

/// Runs the binary with `args` in `dir`, stdin closed (headless, as in CI).
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs")
}

/// Stdout and stderr of an output, as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file below `root`, relative, sorted, with `/` separators.
pub fn files_below(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel: PathBuf = path.strip_prefix(root).expect("below root").into();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The repository root (where `template/` and `examples/` are).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The 14 combinations: every non-empty strategy subset with each IaC flavor, as
/// (`websocket,sse`-style list, iac).
pub fn combinations() -> Vec<(String, &'static str)> {
    let strategies = ["websocket", "sse", "rest"];
    let mut out = Vec::new();
    for iac in ["cdk", "sam"] {
        for mask in 1..8u8 {
            let chosen: Vec<&str> = (0..3)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| strategies[i])
                .collect();
            out.push((chosen.join(","), iac));
        }
    }
    out
}
