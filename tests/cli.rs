//! The command line as a user drives it: headless generation, answers files, bad input,
//! conflicts, --force, --dry-run, and a failure in the middle of a write.

mod common;

use common::{files_below, repo, run_in, text};
use std::fs;

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn record(dir: &std::path::Path) -> toml::Table {
    let text = fs::read_to_string(dir.join(".genai-scaffold.toml")).expect("record written");
    text.parse().expect("record is TOML")
}

#[test]
fn every_example_answers_file_generates_its_project() {
    let tmp = scratch();
    for entry in fs::read_dir(repo().join("examples")).expect("examples/") {
        let path = entry.expect("entry").path();
        let file = path.to_str().expect("utf-8 path");
        // --yes fills what a partial file leaves open; a full file needs nothing else.
        let out = run_in(tmp.path(), &["new", "--answers", file, "--yes"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{file}: {stderr}");
        let answers: toml::Table = fs::read_to_string(&path).unwrap().parse().unwrap();
        let name = answers["name"]
            .as_str()
            .expect("examples name their project");
        let project = tmp.path().join(name);
        assert!(
            stdout.contains(&format!("cd {name}")),
            "next steps missing: {stdout}"
        );
        let rec = record(&project);
        for key in ["iac", "model", "region", "arch"] {
            if let Some(value) = answers.get(key) {
                assert_eq!(&rec[key], value, "{file}: {key}");
            }
        }
        let chosen = answers["strategies"].as_table().unwrap();
        for (strategy, service) in [
            ("websocket", "realtime-ws"),
            ("sse", "stream-sse"),
            ("rest", "sync-api"),
        ] {
            let on = chosen
                .get(strategy)
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            assert_eq!(
                rec["strategies"][strategy].as_bool(),
                Some(on),
                "{file}: {strategy}"
            );
            assert_eq!(
                project.join("services").join(service).exists(),
                on,
                "{file}: {service}"
            );
        }
    }
}

#[test]
fn flags_override_the_answers_file_and_the_record_keeps_the_result() {
    let tmp = scratch();
    let workshop = repo().join("examples/workshop.toml");
    let out = run_in(
        tmp.path(),
        &[
            "new",
            "custom",
            "--answers",
            workshop.to_str().unwrap(),
            "--iac",
            "sam",
            "--region",
            "eu-central-1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let rec = record(&tmp.path().join("custom"));
    assert_eq!(
        rec["name"].as_str(),
        Some("custom"),
        "the folder names the project"
    );
    assert_eq!(rec["iac"].as_str(), Some("sam"));
    assert_eq!(rec["region"].as_str(), Some("eu-central-1"));
    assert_eq!(rec["model_id"].as_str(), Some("eu.amazon.nova-micro-v1:0"));
    // The IAM grant covers every region the eu. profile may route to.
    let regions = rec["model_regions"].as_str().unwrap_or_default();
    assert!(
        regions.split(',').any(|r| r == "eu-central-1") && regions.split(',').count() > 1,
        "model_regions: {regions}"
    );
    assert_eq!(
        rec["generator"]["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // A project's record seeds a sibling with the same answers.
    let seed = tmp.path().join("custom/.genai-scaffold.toml");
    let out = run_in(
        tmp.path(),
        &["new", "sibling", "--answers", seed.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let sibling = record(&tmp.path().join("sibling"));
    for key in ["iac", "region", "model", "model_id", "arch", "strategies"] {
        assert_eq!(sibling[key], rec[key], "{key}");
    }
}

#[test]
fn headless_without_answers_is_an_error_that_lists_the_flags() {
    let tmp = scratch();
    let out = run_in(tmp.path(), &["new", "app"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    for flag in [
        "--strategies",
        "--model",
        "--iac",
        "--region",
        "--arch",
        "--yes",
    ] {
        assert!(stderr.contains(flag), "{flag} not named: {stderr}");
    }
    assert!(!tmp.path().join("app").exists());
}

#[test]
fn bad_input_exits_2_with_advice_and_writes_nothing() {
    let tmp = scratch();
    fs::write(tmp.path().join("bad.toml"), "iac = \"pulumi\"\n").unwrap();
    fs::write(tmp.path().join("unknown.toml"), "colour = \"blue\"\n").unwrap();
    fs::write(tmp.path().join("broken.toml"), "name = \n").unwrap();
    fs::write(tmp.path().join("none.toml"), "[strategies]\n").unwrap();
    fs::write(tmp.path().join("a-file"), "").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["new", "My App", "--yes"], "kebab-case"),
        (&["new", "my_app", "--yes"], "'my-app'"),
        (&["new", "1st", "--yes"], "starting with a letter"),
        (&["new", "test", "--yes"], "reserved"),
        (
            &["new", "app", "--yes", "--strategies", "grpc"],
            "possible values",
        ),
        (&["new", "app", "--yes", "--strategies", ""], "strateg"),
        (
            &["new", "app", "--yes", "--model", "gpt-4o"],
            "genai-scaffold list",
        ),
        (
            &["new", "app", "--yes", "--model", "arn:aws:s3:::bucket"],
            "ARN",
        ),
        (
            &[
                "new",
                "app",
                "--yes",
                "--model",
                "nova-micro",
                "--region",
                "sa-east-1",
            ],
            "not offered in region sa-east-1",
        ),
        (
            &["new", "app", "--yes", "--region", "moon-base-1"],
            "not an AWS region",
        ),
        (
            &["new", "app", "--yes", "--region", "US-EAST-1"],
            "not an AWS region",
        ),
        (
            &["new", "app", "--yes", "--iac", "pulumi"],
            "possible values",
        ),
        (
            &["new", "app", "--yes", "--arch", "riscv"],
            "possible values",
        ),
        (
            &["new", "app", "--yes", "--answers", "missing.toml"],
            "cannot read answers file",
        ),
        (
            &["new", "app", "--yes", "--answers", "bad.toml"],
            "not a valid answers file",
        ),
        (
            &["new", "app", "--yes", "--answers", "unknown.toml"],
            "unknown field",
        ),
        (
            &["new", "app", "--yes", "--answers", "broken.toml"],
            "not a valid answers file",
        ),
        (
            &["new", "app", "--yes", "--answers", "none.toml"],
            "at least one strategy",
        ),
        (&["new", "a-file", "--yes"], "not a folder"),
        (&["new", "--yes"], "<PATH>"),
        (&["new", "app", "--yes", "--name", ""], "empty"),
        (&["frobnicate"], "unrecognized subcommand"),
        (&["new", "app", "--colour"], "unexpected argument"),
    ];
    for (args, hint) in cases {
        let out = run_in(tmp.path(), args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(hint),
            "{args:?}: expected '{hint}' in: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let left: Vec<String> = files_below(tmp.path());
    assert_eq!(
        left,
        [
            "a-file",
            "bad.toml",
            "broken.toml",
            "none.toml",
            "unknown.toml"
        ]
    );
}

#[test]
fn an_io_failure_exits_1() {
    let tmp = scratch();
    fs::write(tmp.path().join("plain-file"), "").unwrap();
    // The parent of the target is a file: the folder cannot be created.
    let out = run_in(tmp.path(), &["new", "plain-file/app", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    assert!(text(&out).1.contains("failed"));
}

#[test]
fn a_non_empty_target_is_refused_and_force_replaces_only_listed_files() {
    let tmp = scratch();
    let target = tmp.path().join("app");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("README.md"), "my notes").unwrap();
    fs::write(target.join("keep.txt"), "mine").unwrap();

    let out = run_in(tmp.path(), &["new", "app", "--yes"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("README.md") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("keep.txt"),
        "only conflicting files are listed: {stderr}"
    );
    assert_eq!(
        fs::read_to_string(target.join("README.md")).unwrap(),
        "my notes"
    );
    assert_eq!(files_below(&target), ["README.md", "keep.txt"]);

    let out = run_in(tmp.path(), &["new", "app", "--yes", "--force"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_ne!(
        fs::read_to_string(target.join("README.md")).unwrap(),
        "my notes"
    );
    assert_eq!(fs::read_to_string(target.join("keep.txt")).unwrap(), "mine");
    assert!(target.join("Cargo.toml").exists());
    assert!(text(&out).0.contains("replaced 1 existing files"));
}

/// --force replaces files only: a folder where the project has a file holds the user's work.
#[test]
fn force_refuses_a_folder_where_the_project_has_a_file() {
    let tmp = scratch();
    let target = tmp.path().join("app");
    fs::create_dir_all(target.join("Makefile")).unwrap();
    fs::write(target.join("Makefile/notes.txt"), "mine").unwrap();
    let out = run_in(tmp.path(), &["new", "app", "--yes", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains("is a folder where the project has a file"),
        "{}",
        text(&out).1
    );
    assert_eq!(files_below(&target), ["Makefile/notes.txt"]);
}

#[test]
fn an_empty_existing_folder_is_fine_and_dot_names_the_project_after_it() {
    let tmp = scratch();
    let target = tmp.path().join("here-app");
    fs::create_dir(&target).unwrap();
    let out = run_in(&target, &["new", ".", "--yes"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(record(&target)["name"].as_str(), Some("here-app"));
}

#[test]
fn dry_run_lists_files_with_sizes_and_writes_nothing() {
    let tmp = scratch();
    let out = run_in(
        tmp.path(),
        &["new", "app", "--yes", "--dry-run", "--strategies", "sse"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("services/stream-sse/src/main.rs"),
        "{stdout}"
    );
    assert!(!stdout.contains("services/sync-api"), "{stdout}");
    assert!(stdout.contains(" B ") || stdout.contains("KiB"), "{stdout}");
    assert!(stdout.contains("Nothing was written"), "{stdout}");
    assert!(files_below(tmp.path()).is_empty());
}

/// The rendered files of a project named `app` with the default answers.
fn default_project_files() -> Vec<genai_scaffold::template::RenderedFile> {
    let answers = genai_scaffold::answers::PartialAnswers {
        name: Some("app".into()),
        ..genai_scaffold::answers::PartialAnswers::defaults()
    }
    .resolve(genai_scaffold::catalog::REVIEWED)
    .unwrap();
    genai_scaffold::render(&answers).unwrap()
}

#[test]
fn a_failure_mid_write_leaves_no_partial_tree() {
    let tmp = scratch();
    let files = default_project_files();
    let target = tmp.path().join("app");
    for fail_at in [0, files.len() / 2, files.len() - 1] {
        let mut seen = 0;
        let result = genai_scaffold::write::write_project_with(&target, &files, false, |_| {
            seen += 1;
            if seen > fail_at {
                Err(std::io::Error::other("injected fault"))
            } else {
                Ok(())
            }
        });
        let err = result.expect_err("the fault surfaces");
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("injected fault"));
        assert!(
            !target.exists(),
            "partial project left after failing at file {fail_at}"
        );
        assert!(
            common::tree_below(tmp.path()).is_empty(),
            "staging (files or folders) left behind"
        );
    }
    // And the same files write fine without the fault.
    genai_scaffold::write::write_project(&target, &files, false).unwrap();
    assert_eq!(files_below(&target).len(), files.len());
}

#[test]
fn a_failure_while_force_moves_files_in_leaves_the_folder_exactly_as_it_was() {
    use genai_scaffold::write::Step;
    let tmp = scratch();
    let files = default_project_files();
    let target = tmp.path().join("app");
    // A user's folder: their own files, and some the project replaces (one in a subfolder).
    fs::create_dir_all(target.join("notes")).unwrap();
    fs::write(target.join("notes/todo.md"), "mine").unwrap();
    fs::write(target.join("README.md"), "my readme").unwrap();
    fs::create_dir_all(target.join("crates/genai")).unwrap();
    fs::write(target.join("crates/genai/Cargo.toml"), "my manifest").unwrap();
    let before = common::tree_below(tmp.path());
    for fail_at in [0, 1, files.len() / 2, files.len() - 1] {
        let mut moves = 0;
        let result =
            genai_scaffold::write::write_project_with(&target, &files, true, |step| match step {
                Step::Move(_) if moves == fail_at => Err(std::io::Error::other("injected fault")),
                Step::Move(_) => {
                    moves += 1;
                    Ok(())
                }
                Step::Stage(_) | Step::Delete(_) | Step::Finish => Ok(()),
            });
        let err = result.expect_err("the fault surfaces");
        assert!(err.to_string().contains("injected fault"), "{err}");
        // Same entries, folders included (no staging or backup folder beside it), same bytes.
        assert!(
            common::tree_below(tmp.path()) == before,
            "the folder changed after failing at move {fail_at}"
        );
    }
    // Without the fault, --force writes the project and keeps the user's own file.
    genai_scaffold::write::write_project(&target, &files, true).unwrap();
    assert_eq!(
        fs::read_to_string(target.join("notes/todo.md")).unwrap(),
        "mine"
    );
    assert_ne!(
        fs::read_to_string(target.join("README.md")).unwrap(),
        "my readme"
    );
    assert!(
        common::tree_below(tmp.path())
            .iter()
            .all(|(path, _)| !path.starts_with('.')),
        "no temporary folder left"
    );
}

#[test]
fn list_shows_strategies_models_with_profile_ids_and_iac_flavors() {
    let tmp = scratch();
    let out = run_in(tmp.path(), &["list"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    for needle in [
        "websocket",
        "sse",
        "rest",
        "claude-haiku-4.5",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "nova-lite",
        "nova-micro",
        "global.",
        "eu.",
        "apac.",
        "cdk",
        "sam",
        "arm64",
    ] {
        assert!(
            stdout.contains(needle),
            "{needle} missing from list:\n{stdout}"
        );
    }
    assert!(!stdout.contains('\u{1b}'), "NO_COLOR is respected");
}

#[test]
fn shell_completions_are_printed() {
    let out = run_in(&repo(), &["completions", "bash"]);
    assert!(out.status.success());
    assert!(text(&out).0.contains("genai-scaffold"));
}

#[test]
fn the_generated_makefile_finds_the_strategies_present_and_refuses_absent_ones() {
    let tmp = scratch();
    let out = run_in(
        tmp.path(),
        &["new", "mk-app", "--yes", "--strategies", "sse,rest"],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let project = tmp.path().join("mk-app");
    let make = |target: &str| {
        std::process::Command::new("make")
            .arg(target)
            .current_dir(&project)
            .output()
            .expect("make runs")
    };
    let help = make("help");
    assert!(help.status.success());
    let (stdout, _) = text(&help);
    assert!(
        stdout.contains("Strategies present: stream-sse sync-api"),
        "{stdout}"
    );
    for target in [
        "bootstrap",
        "build",
        "deploy-all",
        "deploy-services",
        "deploy-stream-sse",
        "deploy-sync-api",
        "deploy-cdn",
        "deploy-frontend",
        "destroy",
        "clean-all",
        "dev",
        "test",
        "lint",
    ] {
        assert!(stdout.contains(target), "help lacks {target}: {stdout}");
    }
    assert!(!stdout.contains("deploy-realtime-ws"), "{stdout}");
    let absent = make("deploy-realtime-ws");
    assert!(!absent.status.success());
    assert!(
        text(&absent)
            .1
            .contains("Add that strategy with `genai-scaffold add websocket`"),
        "{}",
        text(&absent).1
    );
}

/// Lambda names each function `<project>-<stage>-<function>`, at most 64 characters: a name
/// that leaves the longest function its strategies deploy no room on the default stage is
/// refused before anything is written, with the longest name those strategies allow.
#[test]
fn a_name_too_long_for_its_strategies_functions_is_refused_with_the_longest_allowed() {
    let tmp = scratch();
    let name = "an-unusually-long-generative-ai-project1";
    assert_eq!(name.len(), 40, "the longest name `new` accepts at all");
    for extra in [&[][..], &["--dry-run"]] {
        let args = [
            &["new", name, "--yes", "--strategies", "websocket,sse"][..],
            extra,
        ]
        .concat();
        let out = run_in(tmp.path(), &args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "`{name}-dev-realtime-ws-generate` (stage dev) would be 65 characters, over \
                 Lambda's 64 for a function name: use a name of at most 39 characters with \
                 these strategies."
            )),
            "{args:?}: {stderr}"
        );
        assert!(files_below(tmp.path()).is_empty(), "{args:?} wrote files");
    }
    // The same name deploys only short function names with sse; one character less fits the
    // WebSocket strategy's worker.
    let out = run_in(tmp.path(), &["new", name, "--yes", "--strategies", "sse"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let shorter = &name[..39];
    let out = run_in(
        tmp.path(),
        &["new", shorter, "--yes", "--strategies", "websocket"],
    );
    assert!(out.status.success(), "{}", text(&out).1);
}

/// An executable of the test's own PATH, by absolute path: the commands under test get a PATH
/// of their own.
fn on_path(name: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}

/// `make ARGS` in `project`, with `bin` as the whole PATH and SKIP as given, for at most a
/// minute (coreutils' timeout ends make and what it started).
fn make_with_path(
    project: &std::path::Path,
    bin: &std::path::Path,
    skip: Option<&str>,
    args: &[&str],
) -> (Option<i32>, String) {
    let goal = args.join(" ");
    let mut cmd = std::process::Command::new(on_path("timeout"));
    cmd.args(["--kill-after=5", "60"])
        .arg(on_path("make"))
        .args(args)
        .current_dir(project)
        .env("PATH", bin)
        .env_remove("SKIP")
        .env_remove("MAKEFLAGS")
        .stdin(std::process::Stdio::null());
    if let Some(skip) = skip {
        cmd.env("SKIP", skip);
    }
    let out = cmd.output().expect("timeout runs");
    let (stdout, stderr) = text(&out);
    assert_ne!(
        out.status.code(),
        Some(124),
        "make {goal} ran past 60 s:\n{stdout}\n{stderr}"
    );
    (out.status.code(), format!("{stdout}{stderr}"))
}

/// A check never passes by leaving a part out unasked. `make test` and `make lint` look for the
/// tools of every part the project has before anything builds: without Node.js they stop at
/// once with the command that installs it; SKIP leaves a part out by name, and the run's last
/// line says so. The tools here are stand-ins (a script that logs its arguments and succeeds)
/// on a PATH that has nothing else: what is checked is the Makefile's decisions, and that
/// cargo never starts when the check fails.
#[test]
fn make_test_and_lint_fail_on_a_missing_tool_and_skip_only_what_skip_names() {
    let tmp = scratch();
    let out = run_in(
        tmp.path(),
        &[
            "new",
            "tools-app",
            "--yes",
            "--strategies",
            "sse",
            "--iac",
            "cdk",
        ],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let project = tmp.path().join("tools-app");
    let calls = tmp.path().join("calls");
    let stub = |bin: &std::path::Path, tool: &str| {
        use std::os::unix::fs::PermissionsExt;
        fs::create_dir_all(bin).unwrap();
        let path = bin.join(tool);
        fs::write(
            &path,
            format!("#!/bin/sh\necho \"{tool} $*\" >> '{}'\n", calls.display()),
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    };
    let logged = || fs::read_to_string(&calls).unwrap_or_default();
    // No node, no npm, none of the infrastructure's tools: cargo alone.
    let bare = tmp.path().join("bare");
    stub(&bare, "cargo");

    for goal in ["test", "lint"] {
        let (code, output) = make_with_path(&project, &bare, None, &[goal]);
        assert_ne!(code, Some(0), "make {goal} passed without npm:\n{output}");
        assert!(
            output.contains(&format!(
                "make {goal}: the web app's checks need node, npm (not found): install Node.js \
                 20.19 or later (https://nodejs.org), then run make {goal} again, or SKIP=web \
                 make {goal} to leave the web app out."
            )),
            "{output}"
        );
        assert_eq!(
            logged(),
            "",
            "make {goal} started building before its check"
        );
    }
    // Past the web part, the infrastructure's tools are looked for in turn.
    let (code, output) = make_with_path(&project, &bare, Some("web"), &["test"]);
    assert_ne!(code, Some(0), "{output}");
    assert!(
        output.contains("make test: the infrastructure checks need node, npm, cfn-lint, checkov, moto (not found): install Node.js 20.19 or later (https://nodejs.org), then run make infra-tools, then make test again, or SKIP=infra make test to leave the infrastructure out."),
        "{output}"
    );
    assert_eq!(logged(), "");
    // A part named that does not exist is refused, not ignored.
    let (code, output) = make_with_path(&project, &bare, Some("wbe"), &["test"]);
    assert_ne!(code, Some(0), "{output}");
    assert!(
        output.contains("SKIP=wbe: there is no part wbe to skip; the parts are web, infra."),
        "{output}"
    );
    // Skipped by name: the rest runs, and the last line says what was left out.
    for (goal, skip, ran, last) in [
        (
            "test",
            "web,infra",
            "cargo test --workspace\n",
            "make test: skipped web, infra (SKIP=web,infra)",
        ),
        (
            "test",
            "infra web",
            "cargo test --workspace\n",
            "make test: skipped web, infra (SKIP=infra web)",
        ),
        (
            "lint",
            "web",
            "cargo fmt --all --check\ncargo clippy --workspace --all-targets -- -D warnings\n",
            "make lint: skipped web (SKIP=web)",
        ),
    ] {
        fs::remove_file(&calls).ok();
        let (code, output) = make_with_path(&project, &bare, Some(skip), &[goal]);
        assert_eq!(code, Some(0), "SKIP={skip} make {goal}:\n{output}");
        assert_eq!(logged(), ran, "SKIP={skip} make {goal}");
        assert_eq!(output.trim_end().lines().last(), Some(last), "{output}");
    }
    // With Node.js there, the web part runs; only what SKIP names is left out.
    let node = tmp.path().join("node");
    for tool in ["cargo", "node", "npm"] {
        stub(&node, tool);
    }
    fs::remove_file(&calls).ok();
    let (code, output) = make_with_path(&project, &node, Some("infra"), &["test"]);
    assert_eq!(code, Some(0), "{output}");
    let ran = logged();
    for step in [
        "cargo test --workspace",
        "run lint",
        "npm --prefix client/web --no-audit --no-fund test",
        "run test:stack",
    ] {
        assert!(ran.contains(step), "{step} did not run:\n{ran}");
    }
    assert_eq!(
        output.trim_end().lines().last(),
        Some("make test: skipped infra (SKIP=infra)"),
        "{output}"
    );
    // make dev is a run, not a check: without npm it serves the API alone and says so.
    let (code, output) = make_with_path(&project, &bare, None, &["-n", "dev"]);
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains("No npm found: serving the API without the web app"),
        "{output}"
    );
}
