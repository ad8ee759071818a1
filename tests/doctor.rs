//! `make doctor` in a generated project: every prerequisite with its state, and a missing one
//! with the line that fixes it (here Node.js, on a PATH that has everything else).

mod common;

use std::path::Path;
use std::process::Command;

/// A folder of links to every program on `PATH` but `left_out`, first found first, as a PATH
/// lacking exactly those programs.
fn path_without(dir: &Path, left_out: &[&str]) -> String {
    let path = std::env::var_os("PATH").expect("PATH is set");
    for folder in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = dir.join(&name);
            if left_out.iter().any(|n| name == *n) || link.exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(entry.path(), &link);
        }
    }
    dir.display().to_string()
}

fn doctor(project: &Path, path: &str) -> (bool, String) {
    let out = Command::new("make")
        .args(["--no-print-directory", "doctor"])
        .current_dir(project)
        .env("PATH", path)
        // Any free port: the default may be taken on a CI machine.
        .env("PORT", "1")
        .output()
        .expect("make runs");
    let (stdout, stderr) = common::text(&out);
    (out.status.success(), format!("{stdout}{stderr}"))
}

#[test]
fn doctor_lists_each_prerequisite_and_gives_the_fix_of_a_missing_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = common::run_in(dir.path(), &["new", "app", "--yes"]);
    assert!(out.status.success(), "{:?}", common::text(&out));
    let project = dir.path().join("app");
    let bin = tempfile::tempdir().expect("temp dir");
    // The version the web app asks for, which doctor must read from the same place.
    let package: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("client/web/package.json")).expect("package.json"),
    )
    .expect("JSON");
    let engines = package["engines"]["node"].as_str().expect("engines.node");
    let node = format!("Node.js {}+", engines.trim_start_matches(">="));

    // With node: every line is there, Rust's and Node's with the versions the project states.
    let full = path_without(bin.path(), &[]);
    let (_, report) = doctor(&project, &full);
    for what in ["Rust 1.", &node, "npm", "Python 3", "port 1", "disk space"] {
        assert!(report.contains(what), "no `{what}` line:\n{report}");
    }

    // Without it: the Node.js line says so, with its fix, and doctor fails.
    let without = tempfile::tempdir().expect("temp dir");
    let lacking = path_without(without.path(), &["node", "npm", "npx"]);
    let (ok, report) = doctor(&project, &lacking);
    assert!(!ok, "doctor passed without node:\n{report}");
    let line = report
        .lines()
        .position(|l| l.starts_with("missing") && l.contains(&node))
        .unwrap_or_else(|| panic!("no missing `{node}` line:\n{report}"));
    assert!(
        report.lines().nth(line).unwrap().contains("node not found"),
        "{report}"
    );
    assert!(
        report
            .lines()
            .nth(line + 1)
            .unwrap()
            .contains("fix: install Node.js"),
        "{report}"
    );
    assert!(
        report.contains("make doctor: fix the lines above"),
        "{report}"
    );
}

/// A project unpacked from a workshop bundle: doctor reports the bundle, and one that lost a
/// part (here its npm packages) fails with the fix.
#[test]
fn doctor_checks_a_workshop_bundle_when_the_project_came_from_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = common::run_in(dir.path(), &["new", "app", "--yes", "--no-git"]);
    assert!(out.status.success(), "{:?}", common::text(&out));
    let project = dir.path().join("app");
    let path = std::env::var("PATH").expect("PATH is set");

    let (_, report) = doctor(&project, &path);
    assert!(
        !report.contains("workshop bundle"),
        "no bundle here:\n{report}"
    );

    // What make workshop-bundle writes, with two crates standing for the vendored ones.
    for folder in [
        ".workshop/vendor/a-1.0.0",
        ".workshop/vendor/b-1.0.0",
        ".workshop/npm-cache",
        ".cargo",
    ] {
        std::fs::create_dir_all(project.join(folder)).expect("folder");
    }
    let platform = Command::new("uname")
        .arg("-sm")
        .output()
        .expect("uname runs");
    std::fs::write(project.join(".workshop/platform"), &platform.stdout).expect("platform");
    std::fs::write(
        project.join(".cargo/config.toml"),
        "[source.crates-io]\nreplace-with = \"workshop-bundle\"\n\n[source.workshop-bundle]\ndirectory = \".workshop/vendor\"\n",
    )
    .expect("config");
    let (_, report) = doctor(&project, &path);
    assert!(
        report.lines().any(|l| l.starts_with("ok")
            && l.contains("workshop bundle")
            && l.contains("2 crates")),
        "no ok bundle line:\n{report}"
    );

    // make dev's compiled dependencies: usable with the Rust that made them, else the fix that
    // makes them usable.
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .expect("rustc runs");
    std::fs::write(project.join(".workshop/rustc"), &rustc.stdout).expect("rustc");
    let (_, report) = doctor(&project, &path);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("compiled dependencies")),
        "no ok line for the compiled dependencies:\n{report}"
    );
    std::fs::write(
        project.join(".workshop/rustc"),
        "rustc 1.80.1 (3f5fd8dd4 2024-08-06)\n",
    )
    .expect("rustc");
    let (_, report) = doctor(&project, &path);
    assert!(
        report.contains("made by rustc 1.80.1")
            && report.contains("fix: on the same platform, use that Rust in this folder: rustup override set 1.80.1"),
        "no fix for compiled dependencies of another Rust:\n{report}"
    );

    std::fs::remove_dir(project.join(".workshop/npm-cache")).expect("remove");
    let (ok, report) = doctor(&project, &path);
    assert!(!ok, "doctor passed with a broken bundle:\n{report}");
    assert!(
        report.contains("broken") && report.contains("fix: unpack the instructor's archive again"),
        "{report}"
    );
}
