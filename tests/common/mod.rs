//! Helpers shared by the integration tests: run the real binary, list a generated tree.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// Every file below `root`, relative, sorted, with `/` separators; a `.git` folder (`new`
/// makes the project a repository) is left out.
pub fn files_below(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("readable") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
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

/// Every entry below `root`, folders (with a trailing `/`) and files alike, with the files'
/// contents: what "left exactly as it was" compares. A `.git` folder is left out: its index
/// and logs differ between two generations of the same files (`refs_of` compares refs).
pub fn tree_below(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("readable") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((rel, std::fs::read(&path).expect("readable file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Every ref of the repository holding `dir`, with the commit it names, and `HEAD`: what a
/// command that must leave "the refs as they were" is checked against.
pub fn refs_of(dir: &Path) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["for-each-ref", "--format=%(refname) %(objectname)"])
        .output()
        .expect("git runs");
    let head = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("git runs");
    format!(
        "{}HEAD {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&head.stdout)
    )
}

/// The repository root (where `template/` and `examples/` are): the folder `cargo test` runs
/// each test binary in. Not `env!("CARGO_MANIFEST_DIR")`: two clones sharing a target folder
/// (`make check` keeps it in ~/.cache) can run a binary another clone built, with that
/// clone's path compiled in.
pub fn repo() -> PathBuf {
    let dir = std::env::current_dir().expect("the current directory");
    assert!(
        dir.join("template/cargo-generate.toml").is_file(),
        "run the tests with `cargo test` from the repository root (no template/ in {})",
        dir.display()
    );
    dir
}

/// The strategies the template declares, by key, in the generator's table order (the order
/// subsets and combinations list them): a strategy folder added to the template is generated,
/// built and checked without a change here.
pub fn strategies() -> Vec<&'static str> {
    genai_scaffold::strategy::Strategy::all()
        .expect("the template's strategy declarations load")
        .into_iter()
        .map(|s| s.key())
        .collect()
}

/// Every non-empty strategy subset, as a `websocket,sse`-style list: all of them first (the
/// project most checks run in), then the rest by bit mask.
pub fn subsets() -> Vec<String> {
    let strategies = strategies();
    let all = (1u32 << strategies.len()) - 1;
    std::iter::once(all)
        .chain((1..all).filter(|mask| *mask != all))
        .map(|mask| {
            strategies
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| *s)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

/// The IaC flavors.
pub const FLAVORS: [&str; 2] = ["cdk", "sam"];

/// Every combination: each strategy subset with each IaC flavor, as (`websocket,sse`-style
/// list, iac).
pub fn combinations() -> Vec<(String, &'static str)> {
    FLAVORS
        .iter()
        .flat_map(|iac| subsets().into_iter().map(move |s| (s, *iac)))
        .collect()
}

/// The resolved answers for a `websocket,sse`-style list, an IaC flavor and a project name;
/// everything else as `--yes` gives it.
pub fn answers(strategies: &str, iac: &str, name: &str) -> genai_scaffold::answers::Answers {
    use genai_scaffold::answers::{Iac, PartialAnswers, Strategy};
    PartialAnswers {
        name: Some(name.into()),
        strategies: Some(
            strategies
                .split(',')
                .map(|s| <Strategy as clap::ValueEnum>::from_str(s, false).expect("strategy"))
                .collect(),
        ),
        iac: Some(<Iac as clap::ValueEnum>::from_str(iac, false).expect("iac")),
        ..PartialAnswers::defaults()
    }
    .resolve(genai_scaffold::catalog::REVIEWED)
    .expect("valid answers")
}

/// Files that name the strategies by design.
pub const EXTENSION_POINTS: &[(&str, &str)] = &[
    (
        "template/cargo-generate.toml",
        "each strategy's placeholder and the files it owns: what both tools read to choose files",
    ),
    (
        "template/.genai-scaffold.toml",
        "the record of the answers, one line per strategy (templates substitute scalars only)",
    ),
    (
        "template/Makefile",
        "ADDABLE: how to add a strategy the project lacks, which no file present can say",
    ),
    (
        "template/PROTOCOL.md",
        "the one wire contract of services, local gateway, web client and bench (design rule \
         \"One protocol\"): a section per strategy's messages, in one file",
    ),
    (
        "template/README.md",
        "the user's guide: a line per strategy where a reader compares them (what it is, how \
         to call it locally, its stack, its deploy target), in one file",
    ),
];

/// Starts `cmd` in a process group of its own (so that killing the group stops everything it
/// started), stdin closed, stdout and stderr piped to the caller.
pub fn spawn_piped(cmd: &mut Command) -> Result<std::process::Child, String> {
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))
}

/// Runs `cmd` in a process group of its own with stdin closed, for at most `limit`, and returns
/// the tail of its stdout. On failure it returns what to print: the output's tail, or what the
/// command was still doing when its time ran out (the whole group is killed then).
pub fn run_limited(cmd: &mut Command, limit: Duration) -> Result<String, String> {
    let mut child = spawn_piped(cmd)?;
    let group = format!("-{}", child.id());
    let readers: Vec<_> = [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ]
    .into_iter()
    .map(|mut pipe| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            let _ = tx.send(out);
        });
        rx
    })
    .collect();
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => break None,
        }
    };
    // Whatever the command left behind goes with it, so the pipes close and nothing outlives
    // its cell.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let tail = |bytes: Vec<u8>| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(300)..].join("\n")
    };
    let output: Vec<String> = readers
        .into_iter()
        .map(|rx| {
            rx.recv_timeout(Duration::from_secs(10))
                .map(tail)
                .unwrap_or_else(|_| "(a process outside the group kept the pipe open)".into())
        })
        .collect();
    match status {
        Some(status) if status.success() => Ok(output[0].clone()),
        Some(status) => Err(format!(
            "exited with {status}\n{}\n{}",
            output[0], output[1]
        )),
        None => Err(format!(
            "timed out after {}s, still running; its output so far:\n{}\n{}",
            limit.as_secs(),
            output[0],
            output[1]
        )),
    }
}
