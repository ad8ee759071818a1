//! The workshop's lab guide (`template/docs/workshop/`), run as an attendee runs it, so the guide
//! cannot drift from the code: a project generated from `examples/workshop.toml`, then each lab
//! in order, its steps as the Markdown gives them and `make lab-check LAB=n` after them, which
//! must pass.
//!
//! What the runner reads in a lab file (the guide's index explains the same to attendees):
//! a ```` ```sh ```` block is a step, run with `bash -e` in the project; a ```` ```sh dev ````
//! block is the long-running `make dev` of the first terminal, started in the background once
//! it prints `ready: <url>` (a running one is stopped first, as the lab says to); the comment
//! `<!-- lab-runner: stop dev -->` is the lab's Ctrl-C; ```` ```sh aws ```` blocks need an AWS
//! account and are skipped, and so is the checkpoint of a lab made only of them (the deploy
//! lab: `make smoke` against `make dev` in lab 1 covers what can run locally; the matrix's
//! rehearsal covers the deploy commands against the stand-in). Every other block is read, not
//! run.
//!
//! `make labs` runs it after the matrix (`make test`), with `LABS_TARGET`, the target folder of
//! the matrix's `make dev` check, so the services, `local` and `smoke` are already compiled
//! there in the project's `dev-local` profile; and `LABS_NODE_CACHE`, the matrix's node_modules
//! installs, so the web build needs no `npm ci`. `make bench` (labs 2, 3 and 5) builds with
//! `make dev`'s profile too (with `URL`, or `BENCH_PROFILE=dev-local` as lab 3 says), so no lab
//! waits for a release build. Every command has a time limit; a hang fails with what it waited
//! for.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);
/// A step's limit: the first `make dev` or `make smoke` may compile, the rest take seconds.
const STEP_LIMIT: Duration = Duration::from_secs(10 * 60);
/// How long `make dev` may take to print `ready:` (a build of the services first).
const READY_LIMIT: Duration = Duration::from_secs(10 * 60);
/// How long Ctrl-C may take to stop `make dev` and every process it started.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// One thing a lab file asks for, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A ```` ```sh ```` block.
    Step(String),
    /// A ```` ```sh dev ```` block: the first terminal's `make dev`.
    Dev(String),
    /// A ```` ```sh aws ```` block: needs an AWS account.
    Aws(String),
    /// `<!-- lab-runner: stop dev -->`: Ctrl-C in the first terminal.
    StopDev,
}

/// The items of a lab file: fenced blocks (indented ones too, inside a list) and the stop
/// marker, in order.
fn items(markdown: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "<!-- lab-runner: stop dev -->" {
            items.push(Item::StopDev);
            continue;
        }
        let Some(info) = trimmed.strip_prefix("```") else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        let mut body = String::new();
        for inner in lines.by_ref() {
            if inner.trim() == "```" {
                break;
            }
            body.push_str(inner.get(indent..).unwrap_or(inner.trim_start()));
            body.push('\n');
        }
        match info.split_whitespace().collect::<Vec<_>>()[..] {
            ["sh"] => items.push(Item::Step(body)),
            ["sh", "dev"] => items.push(Item::Dev(body)),
            ["sh", "aws"] => items.push(Item::Aws(body)),
            _ => {}
        }
    }
    items
}

/// The lab files, `<n>-<name>.md`, by number.
fn labs(dir: &Path) -> Vec<(u32, PathBuf)> {
    let mut labs: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            let number = name.strip_suffix(".md")?.split_once('-')?.0.parse().ok()?;
            Some((number, path))
        })
        .collect();
    labs.sort();
    labs
}

/// The environment every command of the labs gets.
struct Env {
    project: PathBuf,
    target: PathBuf,
    path: std::ffi::OsString,
    port: u16,
}

impl Env {
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.project)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_TERM_COLOR", "never")
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env("PATH", &self.path)
            .env("PORT", self.port.to_string())
            .env_remove("URL")
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS")
            .env_remove("MAKELEVEL");
        cmd
    }

    /// A shell step: `bash -e`, as an attendee's terminal would run the lines, stopping at the
    /// first that fails.
    fn bash(&self, script: &str) -> Command {
        let mut cmd = self.command("bash");
        cmd.args(["-e", "-c", script]);
        cmd
    }
}

fn kill_group(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The first terminal: a `make dev` running in the background, its output kept for a failure.
struct Dev {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Dev {
    /// Starts `script` and waits for its `ready:` line.
    fn start(env: &Env, script: &str) -> Result<Dev, String> {
        let mut child = common::spawn_piped(&mut env.bash(script))?;
        let output = Arc::new(Mutex::new(String::new()));
        let (ready, rx) = std::sync::mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let (output, ready) = (output.clone(), ready.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if line.starts_with("ready: ") {
                        let _ = ready.send(());
                    }
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        drop(ready);
        let dev = Dev { child, output };
        match rx.recv_timeout(READY_LIMIT) {
            Ok(()) => Ok(dev),
            Err(e) => {
                let why = match e {
                    std::sync::mpsc::RecvTimeoutError::Timeout => {
                        format!("printed no `ready:` line within {}s", READY_LIMIT.as_secs())
                    }
                    std::sync::mpsc::RecvTimeoutError::Disconnected => {
                        "ended without printing `ready:`".to_string()
                    }
                };
                let output = dev.output.lock().unwrap().clone();
                drop(dev);
                Err(format!("{why}; its output:\n{output}"))
            }
        }
    }

    /// Ctrl-C, as the lab says: SIGINT to the group, which must be gone within [`STOP_LIMIT`].
    fn stop(mut self) -> Result<(), String> {
        let pid = self.child.id();
        kill_group(pid, "INT");
        let deadline = Instant::now() + STOP_LIMIT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) && !kill_group(pid, "0") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "Ctrl-C did not stop make dev and every process it started within {}s",
            STOP_LIMIT.as_secs()
        ))
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        kill_group(self.child.id(), "KILL");
        let _ = self.child.wait();
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The web app's node_modules hard-linked from the matrix's install for the same lock file and
/// Node version (tests/matrix.rs `node_modules`), when there is one; else `make dev` runs
/// `npm ci` itself.
fn link_node_modules(web: &Path, cache: Option<&Path>) {
    let (Some(cache), Ok(lock)) = (cache, std::fs::read(web.join("package-lock.json"))) else {
        return;
    };
    let Ok(node) = Command::new("node").arg("--version").output() else {
        return;
    };
    let key = format!("{:016x}", fnv1a(&[lock, node.stdout].concat()));
    let shared = cache.join(key).join("node_modules");
    if !shared.join(".package-lock.json").exists() {
        eprintln!(
            "labs: no node_modules for this lock under {}: make dev runs npm ci",
            cache.display()
        );
        return;
    }
    let target = web.join("node_modules");
    let status = Command::new("cp")
        .arg("-al")
        .arg(&shared)
        .arg(&target)
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cp -al {}",
        shared.display()
    );
    // Make compares this file's time with the lock's: a fresh copy, not a link.
    let marker = target.join(".package-lock.json");
    std::fs::remove_file(&marker).unwrap();
    std::fs::copy(shared.join(".package-lock.json"), &marker).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

#[test]
fn every_lab_reaches_its_checkpoint_in_order() {
    let target = std::env::var_os("LABS_TARGET")
        .map(PathBuf::from)
        .expect("LABS_TARGET is not set: make labs sets it (the target folder of the matrix's make dev check)");
    let node_cache = std::env::var_os("LABS_NODE_CACHE").map(PathBuf::from);
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let answers = common::repo().join("examples/workshop.toml");
    let out = common::run_in(
        tmp.path(),
        &[
            "new",
            "genai-workshop",
            "--answers",
            answers.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", common::text(&out).1);
    let project = tmp.path().join("genai-workshop");
    link_node_modules(&project.join("client/web"), node_cache.as_deref());
    // genai-scaffold on PATH, as the guide asks of attendees.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_genai-scaffold"))
        .parent()
        .unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let env = Env {
        project: project.clone(),
        target,
        path,
        port: free_port(),
    };

    let labs = labs(&project.join("docs/workshop"));
    assert!(labs.len() >= 7, "the guide's labs: {labs:?}");
    let mut dev: Option<Dev> = None;
    let mut times = Vec::new();
    for (number, file) in &labs {
        let lab_started = Instant::now();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let markdown = std::fs::read_to_string(file).unwrap();
        let items = items(&markdown);
        assert!(!items.is_empty(), "{name}: no step the runner can find");
        let fail = |what: &str, why: String| -> ! {
            panic!("lab {number} ({name}): {what}: {why}");
        };
        for item in &items {
            match item {
                Item::Step(script) => {
                    eprintln!("labs: {name}: $ {}", script.trim());
                    if let Err(why) = common::run_limited(&mut env.bash(script), STEP_LIMIT) {
                        fail(&format!("the step `{}`", script.trim()), why);
                    }
                }
                Item::Dev(script) => {
                    eprintln!("labs: {name}: (first terminal) $ {}", script.trim());
                    if let Some(running) = dev.take() {
                        running
                            .stop()
                            .unwrap_or_else(|why| fail("stopping the running make dev", why));
                    }
                    dev = Some(
                        Dev::start(&env, script)
                            .unwrap_or_else(|why| fail(&format!("`{}`", script.trim()), why)),
                    );
                }
                Item::StopDev => {
                    eprintln!("labs: {name}: (first terminal) Ctrl-C");
                    if let Some(running) = dev.take() {
                        running.stop().unwrap_or_else(|why| fail("Ctrl-C", why));
                    }
                }
                Item::Aws(script) => {
                    eprintln!("labs: {name}: skipped, needs AWS: {}", script.trim());
                }
            }
        }
        if items.iter().all(|item| matches!(item, Item::Aws(_))) {
            eprintln!("labs: {name}: every step needs AWS; its checkpoint is skipped too");
            times.push((name, lab_started.elapsed(), "skipped (AWS)"));
            continue;
        }
        let mut check = env.command("make");
        check.args([
            "--no-print-directory",
            "lab-check",
            &format!("LAB={number}"),
        ]);
        match common::run_limited(&mut check, STEP_LIMIT) {
            Ok(out) => eprintln!("{out}"),
            Err(why) => fail("its checkpoint was not reached (make lab-check)", why),
        }
        times.push((name, lab_started.elapsed(), "checkpoint reached"));
    }
    if let Some(running) = dev.take() {
        running
            .stop()
            .unwrap_or_else(|why| panic!("after the last lab: {why}"));
    }
    for (name, time, what) in &times {
        eprintln!("labs: {:>6.1}s  {name}: {what}", time.as_secs_f64());
    }
    eprintln!(
        "labs: every lab in {:.1}s (limit per step {} min)",
        started.elapsed().as_secs_f64(),
        STEP_LIMIT.as_secs() / 60
    );
    assert!(started.elapsed() < 30 * MINUTE);
}

#[test]
fn the_runner_finds_steps_dev_aws_and_the_stop_marker() {
    let markdown = "# Lab\n\n1. One:\n\n   ```sh\n   make a\n   make b\n   ```\n\n   <!-- lab-runner: stop dev -->\n\n   ```sh dev\n   make dev\n   ```\n\n```sh aws\nmake deploy-all\n```\n\n```text\nmake clean\n```\n";
    assert_eq!(
        items(markdown),
        vec![
            Item::Step("make a\nmake b\n".into()),
            Item::StopDev,
            Item::Dev("make dev\n".into()),
            Item::Aws("make deploy-all\n".into()),
        ]
    );
}
