//! `genai-scaffold update` and `adopt`, through the binary: a project generated from an
//! older template (a changed copy of `template/`, through `GENAI_SCAFFOLD_TEMPLATE`) and then
//! edited as its owner would, brought up to today's template.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bin, refs_of, run_in, text, tree_below};
use genai_scaffold::template::TEMPLATE_VAR;

const STRATEGIES: &str = "sse,rest";
const HANDLER: &str = "services/sync-api/src/lib.rs";
const MAKE_LINE: &str = "RESERVED_CONCURRENCY ?= 10";
/// What the older template had on the Makefile line the test's user also changes.
const OLD_MAKE_LINE: &str = "RESERVED_CONCURRENCY ?= 5";
const USER_MAKE_LINE: &str = "RESERVED_CONCURRENCY ?= 20";

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Today's template, made older: a Makefile line and the REST handler's first line differ,
/// PROTOCOL.md has a line more and README.md one other, LICENSE-MIT is not there yet, and
/// two files are there that the template has since dropped.
fn older_template(dir: &Path) -> PathBuf {
    let old = dir.join("old-template");
    copy_dir(&common::repo().join("template"), &old);
    edit(&old.join("Makefile"), MAKE_LINE, OLD_MAKE_LINE);
    let handler = old.join(HANDLER);
    let text = fs::read_to_string(&handler).unwrap();
    let rest = &text[text.find('\n').unwrap()..];
    fs::write(&handler, format!("//! The REST strategy, as it was.{rest}")).unwrap();
    let mut protocol = fs::read_to_string(old.join("PROTOCOL.md")).unwrap();
    protocol.push_str("\nAn old note.\n");
    fs::write(old.join("PROTOCOL.md"), protocol).unwrap();
    let mut readme = fs::read_to_string(old.join("README.md")).unwrap();
    readme.push_str("\nAn old paragraph.\n");
    fs::write(old.join("README.md"), readme).unwrap();
    fs::remove_file(old.join("LICENSE-MIT")).unwrap();
    fs::create_dir_all(old.join("notes")).unwrap();
    fs::write(old.join("notes/design.md"), "The old design.\n").unwrap();
    fs::write(old.join("notes/obsolete.md"), "Obsolete.\n").unwrap();
    old
}

/// `new app` in `dir` from `template` (today's when `None`).
fn generate(dir: &Path, template: Option<&Path>, extra: &[&str]) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let mut cmd = bin();
    if let Some(template) = template {
        cmd.env(TEMPLATE_VAR, template);
    }
    let out = cmd
        .args(["new", "app", "--yes", "--strategies", STRATEGIES])
        .args(extra)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "new: {}", text(&out).1);
    dir.join("app")
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out).1);
    out
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// The user's edits: an addition at the handler's end, PROTOCOL.md deleted, a file of their
/// own, the Makefile line the template also changes, a change to a file the template drops.
const HANDLER_ADDITION: &str =
    "\n/// The user's own helper.\npub fn user_helper() -> u8 {\n    7\n}\n";

fn edit_as_a_user(project: &Path) {
    let mut handler = fs::read_to_string(project.join(HANDLER)).unwrap();
    handler.push_str(HANDLER_ADDITION);
    fs::write(project.join(HANDLER), handler).unwrap();
    fs::remove_file(project.join("PROTOCOL.md")).unwrap();
    fs::write(project.join("NOTES.md"), "Mine.\n").unwrap();
    edit(&project.join("Makefile"), OLD_MAKE_LINE, USER_MAKE_LINE);
    fs::write(project.join("notes/design.md"), "My design.\n").unwrap();
    commit_all(project, "my edits");
}

fn files(tree: Vec<(String, Vec<u8>)>) -> BTreeMap<String, Vec<u8>> {
    tree.into_iter()
        .filter(|(p, _)| !p.ends_with('/'))
        .collect()
}

#[test]
fn update_takes_the_templates_changes_keeps_the_users_and_marks_each_conflict_inline() {
    let tmp = tempfile::tempdir().unwrap();
    let old = older_template(tmp.path());
    let project = generate(&tmp.path().join("p"), Some(&old), &[]);
    let base_before = refs_of(&project);
    edit_as_a_user(&project);

    let out = run_in(&project, &["update"]);
    let (report, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let today = files(tree_below(&generate(&tmp.path().join("fresh"), None, &[])));
    let now = files(tree_below(&project));

    // Untouched by the user: the template's version, written or deleted.
    for path in ["README.md", "LICENSE-MIT", ".genai-scaffold.lock"] {
        assert!(now[path] == today[path], "{path} is not today's");
    }
    assert!(!now.contains_key("notes/obsolete.md"));
    // Both changed the handler, on other lines: merged, both changes in.
    let handler = String::from_utf8(now[HANDLER].clone()).unwrap();
    let todays_handler = String::from_utf8(today[HANDLER].clone()).unwrap();
    assert_eq!(handler, format!("{todays_handler}{HANDLER_ADDITION}"));
    // Both changed one Makefile line: exactly one conflict, inline, at the line reported.
    let makefile = String::from_utf8(now["Makefile"].clone()).unwrap();
    let marker = makefile
        .lines()
        .position(|l| l.starts_with("<<<<<<< "))
        .expect("a conflict marker")
        + 1;
    let conflict = format!(
        "<<<<<<< yours\n{USER_MAKE_LINE}\n=======\n{MAKE_LINE}\n>>>>>>> template {}\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(makefile.contains(&conflict), "{makefile}");
    assert_eq!(makefile.matches("<<<<<<<").count(), 1, "{makefile}");
    assert!(
        report.contains("Conflicts (1)")
            && report.contains(&format!("  Makefile  (line {marker})\n")),
        "{report}"
    );
    // Deleted by the user, changed by the template: still deleted, listed.
    assert!(!now.contains_key("PROTOCOL.md"));
    assert!(
        report.contains("Kept deleted") && report.contains("\n  PROTOCOL.md\n"),
        "{report}"
    );
    // Deleted by the template, changed by the user: kept, listed.
    assert_eq!(now["notes/design.md"], b"My design.\n");
    assert!(
        report.contains("Kept with your changes") && report.contains("\n  notes/design.md\n"),
        "{report}"
    );
    // The user's own file is not the update's business; no .rej or backup file anywhere.
    assert_eq!(now["NOTES.md"], b"Mine.\n");
    assert!(
        now.keys()
            .all(|p| !p.ends_with(".rej") && !p.ends_with(".orig")),
        "{:?}",
        now.keys()
    );
    for line in [
        "  README.md  (written)",
        "  LICENSE-MIT  (written)",
        "  notes/obsolete.md  (deleted)",
        &format!("  {HANDLER}  (merged with your changes)"),
        "make test",
    ] {
        assert!(report.contains(line), "{line:?} not in:\n{report}");
    }
    // The base moved to today's generation; the work tree holds the update, uncommitted.
    assert_ne!(refs_of(&project), base_before);
    let status = text(&git(&project, &["status", "--porcelain"])).0;
    assert!(status.contains(" M Makefile\n"), "{status}");

    // Resolved the user's way (their line), the tree is today's generation plus their edits.
    fs::write(
        project.join("Makefile"),
        makefile.replace(&conflict, &format!("{USER_MAKE_LINE}\n")),
    )
    .unwrap();
    let mut expected = today.clone();
    expected.remove("PROTOCOL.md");
    expected.insert("NOTES.md".into(), b"Mine.\n".to_vec());
    expected.insert("notes/design.md".into(), b"My design.\n".to_vec());
    expected.insert(HANDLER.into(), handler.clone().into_bytes());
    let todays_make = String::from_utf8(today["Makefile"].clone()).unwrap();
    expected.insert(
        "Makefile".into(),
        todays_make.replace(MAKE_LINE, USER_MAKE_LINE).into_bytes(),
    );
    let resolved = files(tree_below(&project));
    let differing: Vec<&String> = expected
        .keys()
        .chain(resolved.keys())
        .filter(|p| expected.get(*p) != resolved.get(*p))
        .collect();
    assert!(
        differing.is_empty(),
        "differs from the expected tree: {differing:?}"
    );
    commit_all(&project, "update");
    // Current now: a second update has nothing to do.
    let out = run_in(&project, &["update", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).0);
    let out = run_in(&project, &["update"]);
    assert!(text(&out).0.contains("is up to date"), "{}", text(&out).0);

    // The project builds, once resolved, and the tests of the crate the user changed pass;
    // every other crate is today's generation byte for byte, which the matrix builds and tests.
    // Run by `make test` after the matrix (`make update-builds`), on the matrix's target folder,
    // whose dependencies are then built: a cold build here would cost minutes.
    if let Some(target) = std::env::var_os("UPDATE_BUILD_TARGET") {
        let crate_name = HANDLER.split('/').nth(1).expect("services/<crate>/...");
        for args in [
            &["check", "--workspace", "--all-targets"][..],
            &["test", "-p", crate_name],
        ] {
            let out = Command::new("cargo")
                .args(args)
                .env("CARGO_TARGET_DIR", &target)
                .current_dir(&project)
                .output()
                .unwrap();
            assert!(out.status.success(), "cargo {args:?}: {}", text(&out).1);
        }
    }
}

/// The refs and every entry of the tree but `.git`'s insides.
fn snapshot(project: &Path) -> (Vec<(String, Vec<u8>)>, String) {
    (tree_below(project.parent().unwrap()), refs_of(project))
}

#[test]
fn update_refuses_a_dirty_tree_and_dry_run_or_a_failure_midway_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let old = older_template(tmp.path());
    let project = generate(&tmp.path().join("p"), Some(&old), &[]);
    edit_as_a_user(&project);

    // Uncommitted work: refused, with why and what to do, and nothing changes.
    fs::write(project.join("scratch.txt"), "wip\n").unwrap();
    let before = snapshot(&project);
    for args in [&["update"][..], &["update", "--dry-run"]] {
        let out = run_in(&project, args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("has uncommitted changes. Commit them")
                && stderr.contains("?? scratch.txt"),
            "{stderr}"
        );
        assert!(snapshot(&project) == before, "{args:?} changed something");
    }
    fs::remove_file(project.join("scratch.txt")).unwrap();

    let before = snapshot(&project);
    let out = run_in(&project, &["update", "--dry-run"]);
    let (report, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        report.contains("Would update") && report.contains("  Makefile  (line "),
        "{report}"
    );
    assert!(snapshot(&project) == before, "--dry-run changed something");

    // A fault at any step (staging a file, moving one in, deleting one, moving the base ref)
    // leaves the tree and the refs as they were.
    let plan = genai_scaffold::update::plan(
        &project,
        genai_scaffold::update::Options {
            merge: true,
            clean_tree: true,
            ..Default::default()
        },
    )
    .unwrap();
    let steps = plan.writes.len() * 2 + plan.deletes.len() + 1;
    assert!(steps > 6, "{steps} steps");
    for fail_at in [0, 1, steps / 2, steps - 2, steps - 1] {
        let mut seen = 0;
        let err = genai_scaffold::update::apply_with(&project, &plan, |step| {
            seen += 1;
            if seen > fail_at {
                Err(std::io::Error::other(format!("injected fault at {step:?}")))
            } else {
                Ok(())
            }
        })
        .expect_err("the fault surfaces");
        assert!(err.to_string().contains("injected fault"), "{err}");
        assert!(
            snapshot(&project) == before,
            "the project or its refs changed after a fault at step {fail_at} of {steps}"
        );
    }
    genai_scaffold::update::apply_with(&project, &plan, |_| Ok(())).unwrap();
    assert!(snapshot(&project) != before);
}

#[test]
fn update_check_exits_1_when_behind_and_0_when_current() {
    let tmp = tempfile::tempdir().unwrap();
    let old = older_template(tmp.path());
    let behind = generate(&tmp.path().join("behind"), Some(&old), &[]);
    let current = generate(&tmp.path().join("current"), None, &[]);
    // Checking needs no clean tree; it only compares.
    fs::write(current.join("wip.txt"), "").unwrap();
    for (project, code, says) in [
        (&behind, 1, "is behind the template"),
        (&current, 0, "is up to date"),
    ] {
        let before = snapshot(project);
        let out = run_in(project, &["update", "--check"]);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out).1);
        assert!(text(&out).0.contains(says), "{}", text(&out).0);
        assert!(snapshot(project) == before);
    }
    // Once updated, the behind one is current.
    let out = run_in(&behind, &["update"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = run_in(&behind, &["update", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).0);
}

/// `new` makes the project a repository with a first commit and the base ref, and none with
/// `--no-git` or inside a repository (where the base goes into that one).
#[test]
fn new_makes_a_repository_only_where_there_is_none() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(&tmp.path().join("own"), None, &[]);
    assert!(project.join(".git").is_dir());
    let log = text(&git(&project, &["log", "--format=%s"])).0;
    assert_eq!(
        log,
        format!(
            "Generated by genai-scaffold {}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(
        text(&git(&project, &["status", "--porcelain"]))
            .0
            .is_empty()
    );
    assert!(refs_of(&project).contains("refs/genai-scaffold/base "));

    let bare = generate(&tmp.path().join("bare"), None, &["--no-git"]);
    assert!(!bare.join(".git").exists());

    let outer = tmp.path().join("outer");
    fs::create_dir_all(&outer).unwrap();
    git(&outer, &["init", "-q"]);
    let inner = generate(&outer, None, &[]);
    assert!(!inner.join(".git").exists());
    assert!(
        refs_of(&outer).contains("refs/genai-scaffold/app/base "),
        "{}",
        refs_of(&outer)
    );
    // Committed, it updates like any other.
    commit_all(&outer, "the project");
    let out = run_in(&inner, &["update", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}

/// A project without a base (no lock: `cargo generate`, or before genai-scaffold kept one)
/// is told to adopt; `adopt` records one and keeps the user's changes as theirs.
#[test]
fn adopt_gives_a_project_without_a_base_one() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(&tmp.path().join("p"), None, &["--no-git"]);
    fs::remove_file(project.join(".genai-scaffold.lock")).unwrap();
    edit(&project.join("Makefile"), MAKE_LINE, USER_MAKE_LINE);
    git(&project, &["init", "-q"]);
    commit_all(&project, "from cargo generate");

    let out = run_in(&project, &["update"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("Run `genai-scaffold adopt` first"),
        "{}",
        text(&out).1
    );

    let out = run_in(&project, &["adopt"]);
    let (report, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        report.contains("count as your changes") && report.contains("  Makefile\n"),
        "{report}"
    );
    commit_all(&project, "adopted");
    let out = run_in(&project, &["update"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("is up to date"), "{}", text(&out).0);
    assert!(
        fs::read_to_string(project.join("Makefile"))
            .unwrap()
            .contains(USER_MAKE_LINE)
    );

    // Without the record there is nothing to adopt from.
    let out = run_in(tmp.path(), &["adopt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains("Run this in a project genai-scaffold generated"),
        "{}",
        text(&out).1
    );
}
