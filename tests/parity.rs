//! cargo-generate parity: `cargo generate --path template` with the same answers writes
//! exactly the tree `genai-scaffold new` writes, byte for byte and mode for mode, for every
//! combination, except `.genai-scaffold.lock`, which cargo-generate cannot write: that file
//! must record the hash of every file cargo-generate wrote. Needs cargo-generate 0.26 (`scripts/install-cargo-generate.sh`, run by
//! `make test`).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use genai_scaffold::answers::{Iac, PartialAnswers, Strategy};

fn tree(root: &Path) -> Vec<(String, Vec<u8>, bool)> {
    common::files_below(root)
        .into_iter()
        .map(|rel| {
            let path = root.join(&rel);
            let executable = std::fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0;
            (rel, std::fs::read(&path).unwrap(), executable)
        })
        .collect()
}

#[test]
fn cargo_generate_writes_the_same_tree_for_every_combination() {
    let version = Command::new("cargo-generate").arg("--version").output();
    let version = match version {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => panic!(
            "cargo-generate is not installed: run scripts/install-cargo-generate.sh (make test does)"
        ),
    };
    assert!(
        version.contains("0.26."),
        "expected cargo-generate 0.26, found {version}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let template = common::repo().join("template");
    for (i, (strategies, iac)) in common::combinations().into_iter().enumerate() {
        let name = format!("parity-app-{i}");
        let answers = PartialAnswers {
            name: Some(name.clone()),
            strategies: Some(
                strategies
                    .split(',')
                    .map(|s| <Strategy as clap::ValueEnum>::from_str(s, false).unwrap())
                    .collect(),
            ),
            iac: Some(<Iac as clap::ValueEnum>::from_str(iac, false).unwrap()),
            ..PartialAnswers::defaults()
        }
        .resolve(genai_scaffold::catalog::REVIEWED)
        .unwrap();

        let ours = tmp.path().join("ours").join(&name);
        let files = genai_scaffold::render(&answers).unwrap();
        genai_scaffold::write::write_project(&ours, &files, false).unwrap();

        let theirs_root = tmp.path().join("theirs");
        std::fs::create_dir_all(&theirs_root).unwrap();
        let mut cmd = Command::new("cargo-generate");
        // cargo-generate fills its `authors` placeholder (unused by this template) and, built
        // without git (scripts/install-cargo-generate.sh), finds no name where $USER is unset.
        cmd.env("CARGO_NAME", "genai-scaffold tests");
        cmd.args(["generate", "--path"])
            .arg(&template)
            .args([
                "--name",
                &name,
                "--silent",
                "--vcs",
                "none",
                "--destination",
            ])
            .arg(&theirs_root);
        for define in answers.cargo_generate_defines() {
            cmd.args(["--define", &define]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "cargo generate failed for {strategies} {iac}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = theirs_root.join(&name);

        let (mut a, b) = (tree(&ours), tree(&theirs));
        let lock = a.remove(
            a.iter()
                .position(|f| f.0 == genai_scaffold::lock::LOCK_FILE)
                .expect("genai-scaffold writes its lock file"),
        );
        let theirs_files: Vec<_> = b
            .iter()
            .map(
                |(path, contents, executable)| genai_scaffold::template::RenderedFile {
                    path: path.into(),
                    contents: contents.clone(),
                    executable: *executable,
                },
            )
            .collect();
        assert!(
            lock.1 == genai_scaffold::lock::lock_file(&theirs_files).contents,
            "the lock file does not record cargo-generate's files for {strategies} {iac}"
        );
        let names =
            |t: &[(String, Vec<u8>, bool)]| t.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&a),
            names(&b),
            "file lists differ for {strategies} {iac}"
        );
        for ((path, ours, ours_x), (_, theirs, theirs_x)) in a.iter().zip(&b) {
            assert!(
                ours == theirs,
                "{path} differs for {strategies} {iac}:\n--- genai-scaffold\n{}\n--- cargo-generate\n{}",
                String::from_utf8_lossy(ours),
                String::from_utf8_lossy(theirs)
            );
            assert_eq!(ours_x, theirs_x, "{path}: executable bit differs");
        }
    }
}
