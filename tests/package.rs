//! Packaging: the template ships inside the crate (it is embedded at build time, so
//! `cargo install` from crates.io must find it), and the template's own `.gitignore` hides
//! none of the template's files from git.

mod common;

use std::process::{Command, Stdio};

fn template_files() -> Vec<String> {
    common::files_below(&common::repo().join("template"))
        .into_iter()
        .map(|f| format!("template/{f}"))
        .collect()
}

#[test]
fn cargo_package_includes_every_template_file() {
    let out = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<&str> = listed.lines().collect();
    let missing: Vec<String> = template_files()
        .into_iter()
        .filter(|f| !listed.contains(&f.as_str()))
        .collect();
    assert!(missing.is_empty(), "cargo package leaves out: {missing:?}");
}

#[test]
fn no_template_file_is_ignored_by_git() {
    let mut child = Command::new("git")
        .args(["check-ignore", "--no-index", "--stdin"])
        .current_dir(common::repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(template_files().join("\n").as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let ignored = String::from_utf8_lossy(&out.stdout);
    assert!(
        ignored.trim().is_empty(),
        "git ignores template files: {ignored}"
    );
    // check-ignore exits 1 when nothing matched and 128 on a fatal error (e.g. not a repo).
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
