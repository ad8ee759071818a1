//! `genai-scaffold add` and `remove` on generated projects, through the binary: the tree they
//! leave is the tree `new` writes for the same strategies, byte for byte (Cargo.lock included:
//! the template ships one lock resolved for every strategy, so it is the same file in every
//! subset and neither command touches it), they refuse rather than lose a user's change, and a
//! failure midway leaves the project as it was.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{run_in, text, tree_below};
use genai_scaffold::answers::Strategy;
use genai_scaffold::project::{self, Change};
use genai_scaffold::write::Step;

/// `new` with `strategies` and `iac`, project `app`, in a fresh folder below `tmp`.
fn generate(tmp: &Path, folder: &str, strategies: &str, iac: &str) -> PathBuf {
    let dir = tmp.join(folder);
    fs::create_dir_all(&dir).unwrap();
    let out = run_in(
        &dir,
        &[
            "new",
            "app",
            "--yes",
            "--strategies",
            strategies,
            "--iac",
            iac,
        ],
    );
    assert!(out.status.success(), "new {strategies}: {}", text(&out).1);
    dir.join("app")
}

fn change(project: &Path, args: &[&str]) -> std::process::Output {
    run_in(project, args)
}

fn union(set: &str, extra: &str) -> String {
    common::strategies()
        .into_iter()
        .filter(|s| set.split(',').any(|x| x == *s) || *s == extra)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn add_gives_the_tree_of_new_with_the_union_and_remove_takes_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = 0;
    for (subset, iac) in common::combinations() {
        for added in common::strategies() {
            if subset.split(',').any(|s| s == added) {
                continue;
            }
            cases += 1;
            let label = format!("{subset} + {added} ({iac})");
            let project = generate(tmp.path(), &format!("{cases}-changed"), &subset, iac);
            let fresh = generate(
                tmp.path(),
                &format!("{cases}-union"),
                &union(&subset, added),
                iac,
            );
            let smaller = generate(tmp.path(), &format!("{cases}-subset"), &subset, iac);

            let out = change(&project, &["add", added]);
            assert!(out.status.success(), "{label}: {}", text(&out).1);
            assert!(
                tree_below(&project) == tree_below(&fresh),
                "{label}: add did not give the tree of new with the union"
            );

            let out = change(&project, &["remove", added]);
            assert!(out.status.success(), "{label}: {}", text(&out).1);
            assert!(
                tree_below(&project) == tree_below(&smaller),
                "{label}: remove did not give back the tree of new with {subset}"
            );
        }
    }
    // Each subset of k of the n strategies misses n - k: n * 2^(n-1) - n cases per flavor.
    let n = common::strategies().len();
    assert_eq!(cases, 2 * (n * (1 << (n - 1)) - n));
}

#[test]
fn remove_refuses_to_delete_a_changed_file_and_lists_it_then_force_deletes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "p", "websocket,sse,rest", "cdk");
    let changed = project.join("services/sync-api/src/lib.rs");
    let mut text_of = fs::read_to_string(&changed).unwrap();
    text_of.push_str("// my change\n");
    fs::write(&changed, text_of).unwrap();
    let before = tree_below(tmp.path());

    for args in [&["remove", "rest"][..], &["remove", "rest", "--dry-run"]] {
        let out = change(&project, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let (_, stderr) = text(&out);
        assert!(
            stderr.contains("(git keeps your history):\n  services/sync-api/src/lib.rs\n"),
            "{stderr}"
        );
        assert!(stderr.contains("--force"), "{stderr}");
        assert!(
            tree_below(tmp.path()) == before,
            "{args:?} changed the project"
        );
    }

    // A file of the user's own in the strategy's folders is listed too: left alone, it would
    // keep a service folder without its Cargo.toml, which cargo refuses as a member.
    fs::write(project.join("services/sync-api/NOTES.md"), "mine").unwrap();
    fs::create_dir_all(project.join("services/sync-api/scratch")).unwrap();
    let out = change(&project, &["remove", "rest"]);
    assert_eq!(out.status.code(), Some(2));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("did not write these files in the strategy's folders; move them out"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  services/sync-api/NOTES.md\n  services/sync-api/scratch"),
        "{stderr}"
    );

    let out = change(&project, &["remove", "rest", "--force"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(
        text(&out).0.contains("  make destroy-sync-api\n"),
        "{}",
        text(&out).0
    );
    // The stage keeps its settings (infra/project.py): the CDN deploy needs none restated.
    assert!(
        !text(&out).0.contains("ALLOWED_ORIGINS"),
        "{}",
        text(&out).0
    );
    assert!(
        !project.join("services/sync-api").exists(),
        "{:?}",
        common::files_below(&project.join("services"))
    );
    assert!(!project.join("client/web/src/strategies/rest").exists());
}

#[test]
fn add_refuses_to_replace_a_file_with_other_content_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "p", "websocket", "sam");
    fs::create_dir_all(project.join("services/sync-api")).unwrap();
    fs::write(project.join("services/sync-api/Cargo.toml"), "[package]\n").unwrap();
    // A comment of the user's in the record is kept: only its strategies change.
    let record = project.join(".genai-scaffold.toml");
    let mut edited = fs::read_to_string(&record).unwrap();
    edited.push_str("# my note\n");
    fs::write(&record, &edited).unwrap();
    // A folder where the strategy has a file is the user's, not the command's to replace.
    fs::create_dir_all(project.join("client/web/src/strategies/sse/index.ts")).unwrap();
    let before = tree_below(tmp.path());

    let out = change(&project, &["add", "rest", "sse"]);
    assert_eq!(out.status.code(), Some(2));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("would be replaced; move them away, then run again:\n  client/web/src/strategies/sse/index.ts\n  services/sync-api/Cargo.toml\n"),
        "{stderr}"
    );
    assert!(
        tree_below(tmp.path()) == before,
        "a refused add changed the project"
    );

    fs::remove_file(project.join("services/sync-api/Cargo.toml")).unwrap();
    fs::remove_dir(project.join("client/web/src/strategies/sse/index.ts")).unwrap();
    let dry = change(&project, &["add", "rest", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry).1);
    let (stdout, _) = text(&dry);
    assert!(
        stdout.contains("  write   services/sync-api/src/lib.rs\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Nothing was changed (--dry-run)."),
        "{stdout}"
    );
    assert!(!project.join("services/sync-api/src").exists());

    // From elsewhere, with --path; the record keeps the note and gains the strategy.
    let out = run_in(tmp.path(), &["add", "rest", "--path", "p/app"]);
    assert!(out.status.success(), "{}", text(&out).1);
    // What deploys it; the stage keeps its settings, so no setting needs restating.
    let (stdout, _) = text(&out);
    assert!(stdout.contains("make deploy-sync-api "), "{stdout}");
    assert!(
        stdout.contains("make deploy-cdn deploy-frontend") && !stdout.contains("ALLOWED_ORIGINS"),
        "{stdout}"
    );
    let record = fs::read_to_string(&record).unwrap();
    assert!(record.ends_with("# my note\n"), "{record}");
    assert!(record.contains("\nrest = true\n"), "{record}");
    assert!(project.join("services/sync-api/src/lib.rs").is_file());
}

/// After a build, cargo has dropped the lock's entries the project does not use; `add` puts
/// back the versions the template ships, unless the user changed the lock's versions.
#[test]
fn add_restores_the_shipped_cargo_lock_that_cargo_pruned() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "p", "websocket", "cdk");
    let lock = project.join("Cargo.lock");
    let shipped = fs::read_to_string(&lock).unwrap();
    let entry = "[[package]]\nname = \"stream-sse\"\n";
    let start = shipped
        .find(entry)
        .expect("the shipped lock has every service");
    let end = start + shipped[start..].find("\n\n").unwrap() + 2;
    let pruned = format!("{}{}", &shipped[..start], &shipped[end..]);
    fs::write(&lock, &pruned).unwrap();
    let out = change(&project, &["add", "sse"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(fs::read_to_string(&lock).unwrap() == shipped);

    // A lock with versions of the user's own stays.
    let updated = pruned.replacen("version = \"", "version = \"9", 1);
    fs::write(&lock, &updated).unwrap();
    let out = change(&project, &["add", "rest"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(fs::read_to_string(&lock).unwrap() == updated);
}

/// A project without the lock (cargo-generate writes none) is compared with the template
/// rendered again from its record, and gets the lock from then on.
#[test]
fn a_project_without_the_lock_file_is_compared_with_the_template() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "p", "websocket,sse", "cdk");
    let lock = project.join(".genai-scaffold.lock");
    fs::remove_file(&lock).unwrap();
    let lib = project.join("services/stream-sse/src/lib.rs");
    fs::write(&lib, "// mine\n").unwrap();
    let out = change(&project, &["remove", "sse"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("  services/stream-sse/src/lib.rs\n"),
        "{}",
        text(&out).1
    );
    let out = change(&project, &["remove", "sse", "--force"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let fresh = generate(tmp.path(), "fresh", "websocket", "cdk");
    assert!(tree_below(&project) == tree_below(&fresh));
}

#[test]
fn a_project_of_another_generator_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "p", "sse", "cdk");
    let record = project.join(".genai-scaffold.toml");
    let recorded = fs::read_to_string(&record).unwrap();
    let current = format!("version = \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(recorded.contains(&current), "{recorded}");
    fs::write(&record, recorded.replace(&current, "version = \"0.0.1\"")).unwrap();
    let out = change(&project, &["add", "rest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains(".genai-scaffold.toml was generated by genai-scaffold 0.0.1"),
        "{}",
        text(&out).1
    );
}

#[test]
fn adding_or_removing_what_cannot_be_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "p", "sse", "cdk");
    for (args, says) in [
        (&["add", "sse"][..], "already has the sse strategy"),
        (
            &["remove", "rest"],
            "has no rest strategy to remove; it has: sse",
        ),
        (&["remove", "sse"], "a project keeps at least one strategy"),
        (&["add", "grpc"], "invalid value 'grpc'"),
    ] {
        let out = change(&project, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out).1.contains(says), "{args:?}: {}", text(&out).1);
    }
    let out = run_in(tmp.path(), &["add", "rest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains("Run this in a project genai-scaffold generated, or pass --path"),
        "{}",
        text(&out).1
    );
}

/// A project's name fits the functions of its strategies, not necessarily those of one added
/// later: `add` refuses a strategy whose function name the name leaves no room for on the
/// default stage, says the longest name allowed, and changes nothing.
#[test]
fn adding_a_strategy_whose_function_name_would_be_too_long_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "an-unusually-long-generative-ai-project1";
    let out = run_in(tmp.path(), &["new", name, "--yes", "--strategies", "sse"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let project = tmp.path().join(name);
    let before = tree_below(tmp.path());
    for args in [
        &["add", "websocket"][..],
        &["add", "websocket", "--dry-run"],
    ] {
        let out = change(&project, args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "`{name}-dev-realtime-ws-generate` (stage dev) would be 65 characters"
            )) && stderr.contains("use a name of at most 39 characters"),
            "{args:?}: {stderr}"
        );
        assert!(
            tree_below(tmp.path()) == before,
            "{args:?} changed the project"
        );
    }
    // A strategy whose functions fit is added as usual.
    let out = change(&project, &["add", "rest"]);
    assert!(out.status.success(), "{}", text(&out).1);
}

/// A fault at any step of `add` (staging a file, moving one in) or `remove` (deleting one)
/// leaves every entry below the project's parent as it was: no staging or backup folder,
/// no half-added strategy.
#[test]
fn a_failure_midway_leaves_the_project_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let project = generate(tmp.path(), "p", "websocket,sse", "cdk");
    let parent = project.parent().unwrap().to_path_buf();
    for (what, strategy) in [
        (Change::Add, Strategy::from_key("rest").unwrap()),
        (Change::Remove, Strategy::from_key("sse").unwrap()),
    ] {
        let plan = project::plan(&project, what, &[strategy], false).unwrap();
        let steps = plan.writes.len() * 2 + plan.deletes.len();
        assert!(steps > 4, "{what:?}: {steps} steps");
        let before = tree_below(&parent);
        for fail_at in [0, 1, steps / 2, steps - 1] {
            let mut seen = 0;
            let err = project::apply_with(&project, &plan, |step: Step| {
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
                tree_below(&parent) == before,
                "{what:?}: the project changed after a fault at step {fail_at}"
            );
        }
        project::apply_with(&project, &plan, |_| Ok(())).unwrap();
    }
}
