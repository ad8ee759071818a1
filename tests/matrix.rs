//! Builds and checks every generated combination: every strategy subset (15 of 4 strategies)
//! x 2 IaC flavors. Every combination is generated and built; each check runs at the
//! dimension it depends on.
//!
//! - **Rust and web, once per strategy subset.** The CDK and SAM projects of a subset are the
//!   same but for `infra/<iac>`, the answers record, the README and the Makefile's `IAC :=`
//!   line (`the_two_flavors_differ_only_in_their_infrastructure` in tests/snapshots.rs keeps
//!   that true), and none of those is read by these checks, so they run in the CDK project.
//!   - Everywhere: `cargo fmt --check`, `cargo clippy --workspace --all-targets -D warnings`
//!     (which compiles every test), `make web` (tsc, the build and its size budget) and the
//!     lock check.
//!   - The complete suites where they can tell something new: the all-strategies project and
//!     each one-strategy project (`cargo test --workspace`, `make web-test` with ESLint). A
//!     strategy's code that reaches into another strategy's fails in that strategy's
//!     one-strategy project, and a strategy's own tests do not change with what else is
//!     present. The mixed projects run the one test whose answer depends on the mix: the
//!     local stack's discovery test (config.json lists exactly the strategies present, absent
//!     ones 404).
//!   - The all-strategies project also gets `make smoke` against `make dev` as the README
//!     shows, Playwright (`make e2e`) and `make infra-test-frontend`; a one-strategy project
//!     (websocket) gets Playwright and infra-test-frontend too. These run in copies of the
//!     projects sharing one target folder, built by `make dev` with the projects' own
//!     `dev-local` profile (`release_checks` says why).
//! - **Infrastructure, per subset and flavor** (the templates differ): `synth` (CDK: `cdk
//!   synth` with cdk-nag; SAM: `sam validate --lint`, the samtranslator transform) everywhere,
//!   with the tools of `MATRIX_INFRA_VENV` (made by scripts/install-test-deps.sh); `unit`
//!   (CDK: tsc, vitest; SAM: unittest, the router's node tests), `cfn-lint` and `checkov`
//!   where the Rust suites run complete, for the same reason: a strategy's infrastructure
//!   tests are files of its own folders, its template is the same in every mix, and what the
//!   mix composes is what the synth and its linting read (`infra_checks`).
//! - **The deploy rehearsal, per flavor of the all-strategies subset** (`rehearse`): `make
//!   build` (cargo-lambda, for this machine's architecture), the README's deploy commands
//!   against the AWS stand-in (tests/standin), the stage twin running the deployed zips under
//!   `make smoke`, a change of strategies on the deployed stage, the destroys. The release
//!   build runs first on the Rust thread (`lambda_build`), the rehearsals last on the other.
//!
//! - **A strategy added as a folder** (tests/scratch): a copy of the SSE strategy under a new
//!   key, in a scratch template, checked as a subset is (and for parity, `add` and `remove`),
//!   in a row of its own. `MATRIX_ONLY=scratch` runs it alone.
//!
//! Caches, all outside the clone and all only saving time (a cold machine runs the same
//! checks): the projects that cargo builds in are kept between runs, file times and all, and
//! share one cargo target folder (`MATRIX_TARGET_DIR`), so the dependencies compile once per
//! machine and an unchanged workspace crate compiles once per change (see `generate_kept` for
//! why that is correct), with line tables for debug info; each npm lock file is installed
//! once per machine into `MATRIX_CACHE/node_modules/<hash of lock and Node version>` and
//! hard-linked into every project that ships that lock. The projects are in `MATRIX_CACHE/projects` and `kept`.
//!
//! Every command runs with a time limit; one that outlives it is killed with its process group
//! and its cell says what it was waiting for.
//!
//! A plain program (harness = false): it prints two tables of check x seconds with totals per
//! check, and fails on any red cell. `make matrix` runs it; `MATRIX_ONLY="websocket sse,rest"`
//! limits it to those subsets.

mod common;
mod scratch;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The outcome of one check in one project.
struct Cell {
    check: &'static str,
    ok: bool,
    seconds: f64,
}

/// Where the matrix keeps its projects, its target folder and its shared npm installs.
#[derive(Clone)]
struct Env {
    target: PathBuf,
    cache: PathBuf,
    venv: PathBuf,
    /// Node.js 22, which `make install-test-deps` installs (`MATRIX_NODE22`): the AWS SDK for
    /// JavaScript, under the CDK CLI, needs it from January 2027, and the projects say they run
    /// on 20.19+ and 22. The all-strategies project's web tests and CDK checks run on it
    /// ([`Env::on_node22`]); every other Node check runs on the machine's.
    node22: PathBuf,
    path: std::ffi::OsString,
}

impl Env {
    fn new() -> Env {
        let var = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("{name} is not set (make matrix sets it)"))
        };
        let venv = var("MATRIX_INFRA_VENV");
        let node22 = var("MATRIX_NODE22").join("bin");
        assert!(
            node22.join("node").exists(),
            "no Node.js 22 at {}: make install-test-deps installs it",
            node22.display()
        );
        let path = std::env::join_paths(std::iter::once(venv.join("bin")).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .expect("PATH entries join");
        Env {
            target: var("MATRIX_TARGET_DIR"),
            cache: var("MATRIX_CACHE"),
            venv,
            node22,
            path,
        }
    }

    /// This environment with Node.js 22 first on PATH.
    fn on_node22(&self) -> Env {
        let path = std::env::join_paths(
            std::iter::once(self.node22.clone()).chain(std::env::split_paths(&self.path)),
        )
        .expect("PATH entries join");
        Env {
            path,
            ..self.clone()
        }
    }

    /// `program` in `dir`, with the matrix's environment: its target folder, CI=true, the
    /// infrastructure tools first on PATH.
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_TERM_COLOR", "never")
            // File and line in backtraces, without the full debug info of every dependency:
            // that info made the debug builds' compile and link the longest part of a cold
            // run, and no check reads it.
            .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
            .env("CI", "true")
            .env("INFRA_VENV", &self.venv)
            .env("PATH", &self.path);
        cmd
    }
}

/// One check: runs each command in turn (stopping at the first failure) and times them.
fn cell(check: &'static str, dir: &Path, limit: Duration, commands: Vec<Command>) -> Cell {
    cell_expecting(check, dir, limit, commands, None)
}

/// [`cell`], also red unless the last command's stdout holds `expect`.
fn cell_expecting(
    check: &'static str,
    dir: &Path,
    limit: Duration,
    commands: Vec<Command>,
    expect: Option<&str>,
) -> Cell {
    let start = Instant::now();
    let mut ok = true;
    for mut cmd in commands {
        if let Err(why) = common::run_limited(&mut cmd, limit).and_then(|stdout| {
            // A test filter that matches nothing passes: the one that must run, ran.
            match expect {
                Some(text) if !stdout.contains(text) => {
                    Err(format!("passed without printing `{text}`:\n{stdout}"))
                }
                _ => Ok(()),
            }
        }) {
            eprintln!(
                "--- {check} in {}: {:?} {why}",
                dir.display(),
                cmd.get_args().collect::<Vec<_>>()
            );
            ok = false;
            break;
        }
    }
    Cell {
        check,
        ok,
        seconds: start.elapsed().as_secs_f64(),
    }
}

const MINUTE: Duration = Duration::from_secs(60);

fn cargo(env: &Env, check: &'static str, dir: &Path, limit: Duration, args: &[&str]) -> Cell {
    let mut cmd = env.command(env!("CARGO"), dir);
    cmd.args(args);
    cell(check, dir, limit, vec![cmd])
}

fn make(env: &Env, check: &'static str, dir: &Path, limit: Duration, goals: &[&str]) -> Cell {
    let commands = goals
        .iter()
        .map(|goal| {
            let mut cmd = env.command("make", dir);
            cmd.arg(goal);
            cmd
        })
        .collect();
    cell(check, dir, limit, commands)
}

/// The template ships the all-strategies lock. In a subset Cargo drops the packages nobody
/// uses (so `--locked` cannot be passed), but it must never pick a version the lock did not
/// have: every (name, version) left in the project's lock must be in the template's.
fn lock_check(project: &Path, template: &Path) -> Cell {
    let start = Instant::now();
    let packages = |path: &Path| -> Vec<(String, String)> {
        let text = std::fs::read_to_string(path).expect("lock file");
        let lock: toml::Table = text.parse().expect("lock is TOML");
        lock["package"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["version"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let shipped = packages(&template.join("Cargo.lock"));
    let used = packages(&project.join("Cargo.lock"));
    let strays: Vec<_> = used.iter().filter(|p| !shipped.contains(p)).collect();
    if !strays.is_empty() {
        eprintln!(
            "--- lock in {}: versions not in {}: {strays:?}",
            project.display(),
            template.join("Cargo.lock").display()
        );
    }
    Cell {
        check: "lock",
        ok: strays.is_empty(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Generates project `name` into `dir/name`, afresh: whatever an earlier run left there goes.
/// For the projects cargo never builds in (the infrastructure checks').
fn generate(dir: &Path, name: &str, strategies: &str, iac: &str) -> PathBuf {
    let root = dir.join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root).expect("removes the last run's project");
    }
    let files = genai_scaffold::render(&common::answers(strategies, iac, name)).expect("renders");
    genai_scaffold::write::write_project(&root, &files, false).expect("writes");
    root
}

/// Generates project `name` into `dir/name` for this machine's architecture, so that the
/// deploy rehearsal runs `make build` as a user on this machine would (no cross compiler, no
/// other rustup target) and the stage twin runs the very code it deployed.
/// Kept between runs as [`generate_kept`] keeps its projects, so that a second run's `make
/// build` finds the release build of unchanged crates done.
fn generate_for_this_machine(dir: &Path, name: &str, strategies: &str, iac: &str) -> PathBuf {
    use genai_scaffold::answers::Arch;
    let mut answers = common::answers(strategies, iac, name);
    answers.arch = match std::env::consts::ARCH {
        "x86_64" => Arch::X86_64,
        "aarch64" => Arch::Arm64,
        other => panic!("Lambda has no {other} functions: the rehearsal runs on x86_64 or aarch64"),
    };
    write_kept(&dir.join(name), &answers)
}

/// Generates project `name` into `dir/name`, kept between runs: the tree ends up exactly as a
/// fresh generation writes it (whatever generation would not write, build outputs included,
/// is removed), but a file whose bytes did not change keeps its time, so cargo's fingerprints
/// let the next run reuse what it built.
///
/// Sound in a target folder shared by several projects too: cargo names a workspace crate by
/// its path inside the workspace, so the same crate of two projects shares one artifact, and
/// a crate's files are the same bytes in every project that has it, none compiling in its
/// project's path (`a_workspace_crate_is_the_same_in_every_project_that_has_it` in
/// tests/snapshots.rs).
fn generate_kept(dir: &Path, name: &str, strategies: &str, iac: &str) -> PathBuf {
    write_kept(&dir.join(name), &common::answers(strategies, iac, name))
}

/// Writes the project of `answers` into `root` as [`generate_kept`] says.
fn write_kept(root: &Path, answers: &genai_scaffold::answers::Answers) -> PathBuf {
    use std::collections::HashSet;
    use std::os::unix::fs::PermissionsExt;
    let root = root.to_path_buf();
    let files = genai_scaffold::render(answers).expect("renders");
    let wanted: HashSet<PathBuf> = files.iter().map(|f| root.join(&f.path)).collect();
    let wanted_dirs: HashSet<&Path> = wanted.iter().flat_map(|p| p.ancestors()).collect();
    fn prune(dir: &Path, wanted: &HashSet<PathBuf>, wanted_dirs: &HashSet<&Path>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.map(|e| e.expect("entry")) {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() && wanted_dirs.contains(path.as_path()) {
                prune(&path, wanted, wanted_dirs);
            } else if kind.is_dir() {
                std::fs::remove_dir_all(&path).expect("removes a folder");
            } else if !wanted.contains(&path) {
                std::fs::remove_file(&path).expect("removes a file");
            }
        }
    }
    prune(&root, &wanted, &wanted_dirs);
    for file in &files {
        let path = root.join(&file.path);
        if std::fs::read(&path).ok().as_deref() != Some(&file.contents[..]) {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
            std::fs::write(&path, &file.contents).expect("writes");
        }
        let mode = if file.executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("mode");
    }
    root
}

/// FNV-1a: a stable hash for cache keys (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Gives `dir` (a folder with a package-lock.json) its node_modules as `npm ci` would, from one
/// install per lock file and Node version kept under the matrix's cache, hard-linked in. The
/// project's Makefile runs `npm ci` when node_modules/.package-lock.json is older than the
/// lock, so that file is a fresh copy, not a link.
fn node_modules(env: &Env, dir: &Path) -> Result<(), String> {
    // The code and infrastructure checks run side by side: one install at a time.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let lock = std::fs::read(dir.join("package-lock.json")).map_err(|e| e.to_string())?;
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node: {e}"))?
        .stdout;
    let key = format!("{:016x}", fnv1a(&[lock, node].concat()));
    let shared = env.cache.join("node_modules").join(&key);
    if !shared.join("node_modules/.package-lock.json").exists() {
        let staging = env
            .cache
            .join("node_modules")
            .join(format!("{key}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(dir.join(file), staging.join(file)).map_err(|e| e.to_string())?;
        }
        let mut ci = env.command("npm", &staging);
        ci.args(["ci", "--no-audit", "--no-fund"]);
        common::run_limited(&mut ci, 10 * MINUTE)?;
        let _ = std::fs::remove_dir_all(&shared);
        std::fs::rename(&staging, &shared).map_err(|e| e.to_string())?;
    }
    let target = dir.join("node_modules");
    let _ = std::fs::remove_dir_all(&target);
    let mut link = Command::new("cp");
    link.arg("-al")
        .arg(shared.join("node_modules"))
        .arg(&target);
    common::run_limited(&mut link, 5 * MINUTE)?;
    let marker = target.join(".package-lock.json");
    std::fs::remove_file(&marker).map_err(|e| e.to_string())?;
    std::fs::copy(shared.join("node_modules/.package-lock.json"), &marker)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A cell for installing node_modules in each of `dirs` that has a lock, red when that fails.
fn install_node_modules(env: &Env, check: &'static str, dirs: &[PathBuf]) -> Cell {
    let start = Instant::now();
    let result = dirs
        .iter()
        .filter(|dir| dir.join("package-lock.json").exists())
        .try_for_each(|dir| node_modules(env, dir).map_err(|why| (dir, why)));
    if let Err((dir, why)) = &result {
        eprintln!("--- npm install for {}: {why}", dir.display());
    }
    Cell {
        check,
        ok: result.is_ok(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Starts `cmd` in a process group of its own (so it can be stopped with everything it
/// starts) and hands over the URL of the first `ready: <url>` line it prints.
fn start_until_ready(mut cmd: Command) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} starts: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("ready: ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    (child, rx)
}

/// The original sample's own three clients (`tests/sample-clients`, copied unmodified), each
/// asked once through the origin at `url` for the strategies it serves: the protocol keeps the
/// shapes those clients read. On Node 22, with the project's TypeScript.
fn sample_clients(env: &Env, project: &Path, url: &str) -> bool {
    let mut run = env.command(&env.node22.join("node").display().to_string(), project);
    run.arg(common::repo().join("tests/sample-clients/run.mjs"))
        .arg(url)
        .arg(project.join("client/web/package.json"));
    match common::run_limited(&mut run, 5 * MINUTE) {
        Ok(out) => {
            println!("{out}");
            true
        }
        Err(e) => {
            eprintln!("--- the sample's clients through {url}: {e}");
            false
        }
    }
}

/// `make dev` as a user runs it: it prints `ready: <url>`, answers `curl` on SSE and REST,
/// and Ctrl-C (SIGINT to its process group) stops it and every process it started.
fn dev_check(env: &Env, project: &Path) -> Cell {
    smoke_through_dev(env, project, "smoke", &[], &|cmd| cmd)
}

/// `make dev` with `args` (each command made by `env` and passed through `with`), then `make
/// smoke` against it, then Ctrl-C: the cell `check`.
fn smoke_through_dev(
    env: &Env,
    project: &Path,
    check: &'static str,
    args: &[&str],
    with: &dyn Fn(Command) -> Command,
) -> Cell {
    let start = Instant::now();
    let mut dev = with(env.command("make", project));
    dev.args(["dev", "PORT=0"]).args(args);
    let (mut make, rx) = start_until_ready(dev);
    // The README's check of a deployed stage, against the local stack: every strategy through
    // the one origin, the SSE GET and signed POST, a WebSocket answer past 29 s, bad input.
    let answered = match rx.recv_timeout(10 * MINUTE) {
        Ok(url) => {
            let mut smoke = with(env.command("make", project));
            smoke.args(["smoke", &format!("URL={url}")]);
            match common::run_limited(&mut smoke, 5 * MINUTE) {
                // A row skipped for any reason but needing a real stage (which smoke declares)
                // fails the cell: no check may go missing quietly against make dev.
                Ok(out) => {
                    let unexpected: Vec<&str> = out
                        .lines()
                        .filter(|l| l.starts_with("[skip]") && !l.contains(": real stage only: "))
                        .collect();
                    for line in &unexpected {
                        eprintln!("--- make smoke skipped a row make dev can run: {line}");
                    }
                    out.contains("smoke: ")
                        && out.contains(" 0 failed")
                        && unexpected.is_empty()
                        && sample_clients(env, project, &url)
                }
                Err(e) => {
                    eprintln!(
                        "--- make smoke against make dev in {}: {e}",
                        project.display()
                    );
                    false
                }
            }
        }
        Err(_) => {
            eprintln!(
                "--- make dev {} printed no `ready:` line within 10 minutes",
                args.join(" ")
            );
            false
        }
    };
    let group = format!("-{}", make.id());
    let _ = Command::new("kill").args(["-INT", "--", &group]).status();
    let _ = make.wait();
    // Nothing of the group may outlive Ctrl-C.
    std::thread::sleep(Duration::from_millis(500));
    let left = Command::new("kill")
        .args(["-0", "--", &group])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if left {
        eprintln!("--- make dev left processes running");
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }
    Cell {
        check,
        ok: answered && !left,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The property tests over the protocol's parsing and framing (arbitrary bytes, arbitrary
/// Unicode, sizes around every limit), each named here, run again with their output shown:
/// each prints how many cases ran and that none failed or panicked, and CI's log shows it.
/// Red unless every one of them printed its line.
const PROPERTY_TESTS: [&str; 3] = [
    "any_body_is_a_valid_request_or_the_protocols_error",
    "chunks_of_any_text_fit_and_give_it_back",
    "any_message_is_read_without_panic",
];

fn properties(env: &Env, project: &Path) -> Cell {
    let start = Instant::now();
    let mut cmd = env.command(env!("CARGO"), project);
    cmd.args([
        "test",
        "--workspace",
        "--lib",
        "--",
        "--nocapture",
        "--exact",
    ])
    .args(PROPERTY_TESTS.iter().map(|name| format!("tests::{name}")));
    let ok = match common::run_limited(&mut cmd, 10 * MINUTE) {
        Ok(stdout) => {
            let reports: Vec<&str> = stdout
                .lines()
                .filter(|l| l.contains("cases, none failed or panicked"))
                .collect();
            for report in &reports {
                println!("properties: {report}");
            }
            if reports.len() != PROPERTY_TESTS.len() {
                eprintln!(
                    "--- properties in {}: {} of {} property tests reported their cases:\n{stdout}",
                    project.display(),
                    reports.len(),
                    PROPERTY_TESTS.len()
                );
            }
            reports.len() == PROPERTY_TESTS.len()
        }
        Err(why) => {
            eprintln!("--- properties in {}: {why}", project.display());
            false
        }
    };
    Cell {
        check: "properties",
        ok,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The Rust and web checks of one strategy subset, in its CDK project.
fn code_checks(env: &Env, project: &Path, strategies: &str) -> Vec<Cell> {
    let count = strategies.split(',').count();
    let full = complete_suites(strategies);
    let web = project.join("client/web");
    let mut cells = vec![
        cargo(env, "fmt", project, MINUTE, &["fmt", "--all", "--check"]),
        cargo(
            env,
            "clippy",
            project,
            30 * MINUTE,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    if full {
        cells.push(cargo(
            env,
            "test",
            project,
            30 * MINUTE,
            &["test", "--workspace"],
        ));
        if all_strategies(strategies) {
            cells.push(properties(env, project));
        }
    } else {
        // The whole workspace, as `clippy` and `test` select it: with `-p local` Cargo
        // unifies features over fewer packages and compiles the dependencies again.
        let mut discovery = env.command(env!("CARGO"), project);
        discovery.args([
            "test",
            "--workspace",
            "--test",
            "stack",
            "--",
            "--exact",
            "every_strategy_answers_external_clients_per_the_protocol",
        ]);
        cells.push(cell_expecting(
            "discovery",
            project,
            20 * MINUTE,
            vec![discovery],
            Some("test result: ok. 1 passed"),
        ));
    }
    cells.push(lock_check(project, &common::repo().join("template")));
    cells.push(install_node_modules(env, "npm", std::slice::from_ref(&web)));
    cells.push(make(env, "web", project, 10 * MINUTE, &["web"]));
    // ESLint reads each file alone, and every file of a mixed subset is linted, with the
    // same bytes, in the all-strategies project's `web-test`; `web` type-checks the mix.
    if full {
        // On Node.js 22 in the all-strategies project; the one-strategy ones keep the
        // machine's Node.js (20 here), so both versions run the web app's tests.
        let node = if count == 1 {
            env.clone()
        } else {
            env.on_node22()
        };
        cells.push(make(&node, "web-test", project, 15 * MINUTE, &["web-test"]));
    }
    cells
}

/// What runs on `make dev`, in the projects that have them: the all-strategies one (`make
/// dev` checked with `make smoke`, Playwright, deploy-frontend) and a one-strategy one
/// (Playwright alone: no winners, one panel; deploy-frontend).
///
/// These checks drive the running services and the page, built as `make dev` builds them (the
/// project's `dev-local` profile: `panic = "abort"` as in Lambda, no size optimisation), by
/// `make dev` itself, so the first cell of each project includes that build (unless the
/// stage twin's, in the same folder, came first). The deployed binaries are `make build`'s
/// (cargo-lambda), which the rehearsal runs. The projects share a target folder of their own (sound
/// for the reason `generate_kept` gives), apart from the debug builds' so that neither thread
/// waits for the other's cargo lock: the one-strategy project, built second, compiles its own
/// workspace crates and no dependency, and switching back and forth rebuilds nothing.
fn release_checks(env: &Env, project: &Path, strategies: &str) -> Vec<Cell> {
    let all = all_strategies(strategies);
    let env = Env {
        target: env.cache.join("kept/dev-local.target"),
        ..env.clone()
    };
    let mut cells = vec![install_node_modules(
        &env,
        "npm-e2e",
        &[project.join("client/web")],
    )];
    if all {
        cells.push(dev_check(&env, project));
    }
    // The two release projects' checks run at the same time (one per thread of `main`), so
    // each Playwright starts its `make dev` on a port of its own, not on the default 8787.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port");
    let mut e2e = env.command("make", project);
    e2e.arg("e2e").env("E2E_PORT", port.to_string());
    cells.push(cell("e2e", project, 15 * MINUTE, vec![e2e]));
    cells.push(make(
        &env,
        "deploy-fe",
        project,
        10 * MINUTE,
        &["infra-test-frontend"],
    ));
    cells
}

/// The copy of a project that [`release_checks`] builds in, kept between runs.
fn release_project(env: &Env, strategies: &str) -> PathBuf {
    let iac = common::FLAVORS[0];
    let name = format!("e-{}-{iac}", strategies.replace(',', "-"));
    generate_kept(&env.cache.join("kept"), &name, strategies, iac)
}

/// Whether a subset runs the complete test suites (Rust, web, and the infrastructure's unit
/// tests): the all-strategies subset and each one-strategy subset. A strategy's tests live in
/// its own folders and do not change with what else is present, so the two-strategy subsets
/// run only what depends on the mix (see the module doc).
fn complete_suites(strategies: &str) -> bool {
    strategies.split(',').count() == 1 || all_strategies(strategies)
}

/// Whether a subset is every strategy of the template.
fn all_strategies(strategies: &str) -> bool {
    strategies.split(',').count() == common::strategies().len()
}

/// The infrastructure checks of one project; `full` where the complete suites run: its unit
/// tests (`check-unit`: CDK's tsc and vitest, SAM's unittest and the router's node tests),
/// cfn-lint and checkov. The synth reads what the mix composes (the CDN, the stacks'
/// parameters) and runs everywhere, with its own linting: cdk-nag over the composed app, or
/// `sam validate --lint` (cfn-lint) over the composed templates. cfn-lint and checkov read
/// each template alone, and a strategy's template is the same in every mix (its stack reads
/// the others' outputs from SSM at deploy, never from theirs), so a mixed subset's templates
/// are checked in its strategies' one-strategy projects and the all-strategies one.
fn infra_checks(env: &Env, project: &Path, iac: &str, full: bool) -> Vec<Cell> {
    let infra = project.join("infra").join(iac);
    let mut cells = Vec::new();
    if infra.join("package-lock.json").exists() {
        cells.push(install_node_modules(
            env,
            "npm",
            std::slice::from_ref(&infra),
        ));
    }
    if full {
        cells.push(make(env, "unit", &infra, 15 * MINUTE, &["check-unit"]));
    }
    cells.push(make(env, "synth", &infra, 15 * MINUTE, &["check-synth"]));
    if full {
        cells.push(make(
            env,
            "cfn-lint",
            &infra,
            5 * MINUTE,
            &["check-cfn-lint"],
        ));
        cells.push(make(env, "checkov", &infra, 5 * MINUTE, &["check-checkov"]));
    }
    cells
}

/// The deploy rehearsal: the README's deploy commands, each as a user types it (`make
/// bootstrap`, `make deploy-all`, `make check-access`, the stage twin `make dev STAGE=dev`
/// answering `make smoke` (its own column), `make outputs`, `make
/// rotate-origin-secret`, a change of strategies on the deployed stage as `genai-scaffold
/// remove` and `add` say to deploy it, then `make check-access` again, then `destroy-cdn`,
/// `destroy-services` and `destroy-all`, which is `destroy`), through the real Makefile with
/// its parallel jobs, the real CDK or SAM CLI and the scripts in `infra/`, against moto's
/// server patched where it lacks what the stacks use (tests/standin), in a
/// region other than the project's. The functions are `make build`'s, built for this machine
/// (the project is generated for its architecture), and the twin runs the code the stand-in
/// keeps for each: what was deployed. Afterwards nothing of the stage may be left.
///
/// `make build`'s release profile (fat LTO, one codegen unit) costs minutes cold: both
/// rehearsals build in `kept/lambda.target`, where [`lambda_build`] built the same crates
/// first, so `make deploy-all`'s own `make build` finds them built and only zips them.
/// Not the region the projects record (us-east-1), so that nothing of the deploy may take the
/// record's region for the stage's; one of the model's regions, as a user would choose.
const REHEARSAL_REGION: &str = "us-west-2";

fn rehearse(env: &Env, project: &Path) -> Vec<Cell> {
    let start = Instant::now();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let standin_path = common::repo().join("tests/standin");
    let mut server = env.command(&env.venv.join("bin/python").display().to_string(), project);
    server
        .args(["-m", "genai_standin.server", "--port", &port.to_string()])
        .env("PYTHONPATH", &standin_path);
    let (mut standin, rx) = start_until_ready(server);
    let mut twin = None;
    let ok = match rx.recv_timeout(2 * MINUTE) {
        Err(_) => {
            eprintln!("--- rehearse: the stand-in printed no `ready:` line within 2 minutes");
            false
        }
        Ok(url) => {
            let project_name = project.file_name().unwrap().to_string_lossy().into_owned();
            // The stand-in's endpoint and dummy credentials, never a profile of the machine's.
            let aws = |mut cmd: Command| {
                cmd.env("AWS_ENDPOINT_URL", &url)
                    .env("AWS_ACCESS_KEY_ID", "testing")
                    .env("AWS_SECRET_ACCESS_KEY", "testing")
                    .env("AWS_REGION", REHEARSAL_REGION)
                    .env("AWS_DEFAULT_REGION", REHEARSAL_REGION)
                    .env_remove("AWS_PROFILE")
                    .env("PYTHONPATH", &standin_path);
                cmd
            };
            // Every removal target, each on what the one before left: destroy-all (= destroy)
            // then finds stacks already gone, as a second destroy would. The deploy sets the
            // README's options (an extra origin, alarm mail, a budget, the web ACL); the
            // rotation, which redeploys the strategies and the CDN, names none of them, and the
            // stage keeps them: its allowed origins, the rotated origin secret and the web ACL
            // are read back.
            let make = |args: &[&str]| {
                let mut cmd = aws(lambda_make(env, project));
                cmd.args(args);
                cmd
            };
            let standin = |module: &str, args: &[&str]| {
                let mut cmd = aws(env.command("python3", project));
                cmd.args(["-m", module, &project_name, "dev"]).args(args);
                cmd
            };
            // The strategy taken out and put back: the last one, whose service's stack goes
            // and comes back while the others and the CDN stay (stack updates in place).
            let strategy = *common::strategies().last().expect("a strategy");
            let service = genai_scaffold::strategy::Strategy::all()
                .expect("the declarations load")
                .into_iter()
                .find(|s| s.key() == strategy)
                .expect("declared")
                .service()
                .to_string();
            let generator = |change: &str| {
                let mut cmd = common::bin();
                cmd.args([change, strategy, "--path"]).arg(project);
                cmd
            };
            let settings = [
                "ALLOWED_ORIGINS=http://localhost:5173",
                "ALERT_EMAIL=ops@example.com",
                "BUDGET_USD=20",
            ];
            let deploy = vec![
                make(&["bootstrap"]),
                // The web ACL only here: the rotation, which does not say, must keep it.
                make(&[&["deploy-all", "WAF=on"], &settings[..]].concat()),
                // Every call between the stage's parts, against the policies it deployed.
                make(&["check-access"]),
            ];
            let changes = vec![
                make(&["outputs"]),
                standin("genai_standin.asynchronous", &[]),
                make(&["rotate-origin-secret"]),
                standin("genai_standin.origins", &["http://localhost:5173"]),
                // What `remove` prints, then what `add` prints, on the deployed stage.
                generator("remove"),
                make(&[&format!("destroy-{service}"), "CONFIRM=yes"]),
                make(&["deploy-cdn", "deploy-frontend"]),
                generator("add"),
                make(&[
                    &format!("deploy-{service}"),
                    "deploy-cdn",
                    "deploy-frontend",
                ]),
                make(&["check-access"]),
                standin("genai_standin.origins", &["http://localhost:5173"]),
                make(&["destroy-cdn", "CONFIRM=yes"]),
                make(&["destroy-services", "CONFIRM=yes"]),
                make(&["destroy-all", "CONFIRM=yes"]),
                standin("genai_standin.stacks", &[]),
            ];
            // The stage as deployed, run on loopback (`make dev STAGE=dev`: each function's
            // environment, timeout, concurrency and name, the CDN's origin headers, the SSM
            // parameters), answering `make smoke` as the stage would; built as `make dev`
            // builds, in the target folder of the make dev checks, which then reuse it.
            let twin_env = Env {
                target: env.cache.join("kept/dev-local.target"),
                ..env.clone()
            };
            if cell("rehearse", project, 15 * MINUTE, deploy).ok {
                let smoke = smoke_through_dev(&twin_env, project, "twin", &["STAGE=dev"], &aws);
                let answered = smoke.ok;
                twin = Some(smoke);
                answered && cell("rehearse", project, 15 * MINUTE, changes).ok
            } else {
                false
            }
        }
    };
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", standin.id())])
        .status();
    let _ = standin.wait();
    let twin_seconds = twin.as_ref().map_or(0.0, |cell| cell.seconds);
    let mut cells = vec![Cell {
        check: "rehearse",
        ok,
        seconds: start.elapsed().as_secs_f64() - twin_seconds,
    }];
    cells.extend(twin);
    cells
}

/// The environment of `make build` in the rehearsal projects: their own target folder, kept
/// between runs, which no other check locks.
///
/// The release profile's size work (`opt-level = "z"`, fat LTO, one codegen unit) is left out
/// here: it doubled the build's CPU (593 s against 345 s cold on 2 cores), pushing a cold CI
/// run past its budget, and changes no behaviour the rehearsal checks; `panic = "abort"` and
/// `strip` stay, and `make bench` measures the size work's zips. The command is still `make
/// build`: cargo-lambda, its zig linker, the zips the stacks deploy.
fn lambda_env(env: &Env) -> Env {
    Env {
        target: env.cache.join("kept/lambda.target"),
        ..env.clone()
    }
}

/// `make` in a rehearsal project: [`lambda_env`]'s, without the release profile's size work.
fn lambda_make(env: &Env, project: &Path) -> Command {
    let mut cmd = lambda_env(env).command("make", project);
    cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256");
    cmd
}

/// `make build` in a rehearsal project, ahead of the rehearsals (on the Rust thread, while the
/// infrastructure thread checks the other subsets): the release build of every service, which
/// the rehearsals' own `make build` then finds done.
fn lambda_build(env: &Env, project: &Path) -> Cell {
    let mut build = lambda_make(env, project);
    build.arg("build");
    cell("build", project, 30 * MINUTE, vec![build])
}

/// Prints one table: a row per label, a column per check, a total per check.
fn table(title: &str, columns: &[&str], rows: &[(String, Vec<Cell>)]) {
    println!("\n{title}");
    // As wide as the longest label (the scratch strategy's are long), so columns line up.
    let width = rows
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0)
        .max(28);
    print!("{:<width$}", "");
    for column in columns {
        print!(" {column:>9}");
    }
    println!();
    let mut totals = vec![0.0; columns.len()];
    for (label, cells) in rows {
        print!("{label:<width$}");
        for (i, column) in columns.iter().enumerate() {
            let text = match cells.iter().find(|c| c.check == *column) {
                None => "-".to_string(),
                Some(c) => {
                    totals[i] += c.seconds;
                    if c.ok {
                        format!("{:.1}s", c.seconds)
                    } else {
                        format!("RED {:.0}s", c.seconds)
                    }
                }
            };
            print!(" {text:>9}");
        }
        println!();
    }
    print!("{:<width$}", "total");
    for total in totals {
        print!(" {:>9}", format!("{total:.0}s"));
    }
    println!();
}

fn main() {
    let env = Env::new();
    let node22 = Command::new(env.node22.join("node"))
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    eprintln!(
        "matrix: the all-strategies projects' web tests and infrastructure checks run on Node.js {node22}"
    );
    // In the cache's file system, so node_modules can be hard-linked; a failed run's projects
    // stay for a look until the next run generates them again.
    let projects = env.cache.join("projects");
    std::fs::create_dir_all(&projects).expect("projects folder");
    let only: Option<Vec<String>> = std::env::var("MATRIX_ONLY")
        .ok()
        .map(|s| s.split_whitespace().map(String::from).collect());
    // A filter that selects nothing would pass with nothing checked: each word must select.
    if let Some(words) = &only {
        // The strategy subsets, and the strategy copied under a new key (tests/scratch).
        let selectable: Vec<String> = common::subsets()
            .into_iter()
            .chain(["scratch".to_string()])
            .collect();
        let unknown: Vec<&str> = words
            .iter()
            .filter(|w| !selectable.contains(w))
            .map(String::as_str)
            .collect();
        if words.is_empty() || !unknown.is_empty() {
            let what = if words.is_empty() {
                "it".to_string()
            } else {
                unknown.join(" ")
            };
            eprintln!(
                "matrix: MATRIX_ONLY={:?}: {what} selects nothing; give it words separated by \
                 spaces, each one of: {}",
                std::env::var("MATRIX_ONLY").unwrap_or_default(),
                selectable.join(" ")
            );
            std::process::exit(2);
        }
    }
    let subsets: Vec<String> = common::subsets()
        .into_iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.contains(s)))
        .collect();
    let started = Instant::now();
    let name = |prefix: &str, strategies: &str, iac: &str| {
        format!("{prefix}-{}-{iac}", strategies.replace(',', "-"))
    };
    // Two threads, each about half of a cold run: the rehearsals' `make build`, then the Rust
    // and web checks (one target folder, so one at a time), then the `make dev` checks of the
    // one-strategy and the all-strategies projects; and beside them the infrastructure checks,
    // which mostly wait on one core (node, python, the stand-in), followed by the deploy
    // rehearsals. The first stage twin and the `make dev` checks build in one target folder:
    // whichever comes first builds what `make dev` builds, the other waits on cargo's lock and
    // finds it built. (With the all-strategies checks after the rehearsals, a cold run's
    // second rehearsal ran alone on the machine for minutes.)
    // Each part has projects of its own. The generated tests that race the machine wait on
    // the local stack's status page, not on sleeps, so this load cannot reorder them.
    // Every project cargo builds in is written before the first build: with unchanged files
    // keeping their times, no source is newer than anything this run builds, so a crate two
    // projects share (the same bytes and dependencies) compiles once, not once per project.
    let code_projects: Vec<PathBuf> = subsets
        .iter()
        .map(|s| {
            generate_kept(
                &projects,
                &name("c", s, common::FLAVORS[0]),
                s,
                common::FLAVORS[0],
            )
        })
        .collect();
    // The deploy rehearsal's projects, one per flavor of the all-strategies subset: written
    // here too, so that the second flavor's `make build` finds the first's crates built.
    let rehearsal_projects: Vec<(String, &str, PathBuf)> = subsets
        .iter()
        .filter(|s| all_strategies(s))
        .flat_map(|s| {
            common::FLAVORS.map(|iac| {
                let project = generate_for_this_machine(&projects, &name("r", s, iac), s, iac);
                (s.clone(), iac, project)
            })
        })
        .collect();
    // The projects of the `make dev` checks (release_checks), all strategies first: with the
    // longest checks, and the one-strategy project then builds only its own crates.
    let release_projects: Vec<(String, PathBuf)> = subsets
        .iter()
        .filter(|s| all_strategies(s) || *s == "websocket")
        .map(|s| (s.clone(), release_project(&env, s)))
        .collect();
    // The proof that a strategy is a folder (tests/scratch): a strategy copied under a new key,
    // checked as the subsets are. `MATRIX_ONLY=scratch` selects it alone.
    let scratch = only
        .as_ref()
        .is_none_or(|o| o.iter().any(|s| s == "scratch"))
        .then(|| scratch::Scratch::prepare(&env, &projects));
    // `make build` of the rehearsals, made on the Rust thread first and handed over (see
    // lambda_build); the rehearsals wait for it.
    let (lambda_built, lambda_cell) = std::sync::mpsc::channel::<Cell>();
    let lambda_cell = std::sync::Mutex::new(lambda_cell);
    let (code_rows, infra_rows) = std::thread::scope(|scope| {
        let infra = scope.spawn(|| {
            let label = |strategies: &str, iac: &str| format!("{strategies} / {iac}");
            let mut rows = Vec::new();
            for strategies in &subsets {
                for iac in common::FLAVORS {
                    let project = generate(&projects, &name("i", strategies, iac), strategies, iac);
                    // The all-strategies projects' checks on Node.js 22 (see Env).
                    let node = if all_strategies(strategies) {
                        env.on_node22()
                    } else {
                        env.clone()
                    };
                    let cells = infra_checks(&node, &project, iac, complete_suites(strategies));
                    report(&label(strategies, iac), &cells);
                    rows.push((label(strategies, iac), cells));
                }
            }
            if let Some(scratch) = &scratch {
                for (label, cells) in scratch.infra_checks(&env) {
                    report(&label, &cells);
                    rows.push((label, cells));
                }
            }
            // The rehearsals last, so that `make build` (lambda_build) is done by then: this
            // thread mostly waits on one core while the other builds it.
            let mut lambda = (!rehearsal_projects.is_empty()).then(|| {
                let received = lambda_cell
                    .lock()
                    .expect("only this thread receives")
                    .recv_timeout(45 * MINUTE);
                received.unwrap_or_else(|_| {
                    eprintln!(
                        "--- build: the Rust thread gave no make build of the rehearsal projects \
                         (it ended, or 45 minutes passed)"
                    );
                    Cell {
                        check: "build",
                        ok: false,
                        seconds: 0.0,
                    }
                })
            });
            let built = lambda.as_ref().is_some_and(|cell| cell.ok);
            for (strategies, iac, project) in &rehearsal_projects {
                // The build's cell in the first flavor's row, where it was made.
                let mut cells: Vec<Cell> = lambda.take().into_iter().collect();
                let dirs = [project.join("client/web"), project.join("infra").join(iac)];
                cells.push(install_node_modules(&env, "npm-copy", &dirs));
                if built {
                    cells.extend(rehearse(&env, project));
                }
                let label = label(strategies, iac);
                report(&label, &cells);
                let row = rows
                    .iter_mut()
                    .find(|(l, _)| *l == label)
                    .expect("checked above");
                row.1.extend(cells);
            }
            rows
        });
        if let Some((_, _, project)) = rehearsal_projects.first() {
            let cell = lambda_build(&env, project);
            report("make build (rehearsals)", std::slice::from_ref(&cell));
            let _ = lambda_built.send(cell);
        }
        // In the first flavor's project: the second's differs only in what these do not read.
        let mut code: Vec<_> = subsets
            .iter()
            .zip(&code_projects)
            .map(|(strategies, project)| {
                let cells = code_checks(&env, project, strategies);
                report(strategies, &cells);
                (strategies.clone(), cells)
            })
            .collect();
        if let Some(scratch) = &scratch {
            let mut cells = scratch.generator_checks(&projects);
            cells.extend(scratch.code_checks(&env));
            report(&scratch::label(), &cells);
            code.push((scratch::label(), cells));
        }
        for (strategies, project) in &release_projects {
            if let Some((_, row)) = code.iter_mut().find(|(s, _)| s == strategies) {
                let cells = release_checks(&env, project, strategies);
                report(&format!("{strategies} (make dev)"), &cells);
                row.extend(cells);
            }
        }
        let infra = infra.join().expect("the infrastructure checks ran");
        (code, infra)
    });
    table(
        "Rust and web, once per strategy subset (seconds)",
        &[
            "scaffold",
            "parity",
            "add-remove",
            "fmt",
            "clippy",
            "test",
            "properties",
            "discovery",
            "lock",
            "npm",
            "web",
            "web-test",
            "web-lint",
            "npm-e2e",
            "smoke",
            "e2e",
            "deploy-fe",
        ],
        &code_rows,
    );
    table(
        "Infrastructure, per subset and flavor (seconds)",
        &[
            "npm", "unit", "synth", "cfn-lint", "checkov", "build", "npm-copy", "rehearse", "twin",
        ],
        &infra_rows,
    );
    let cells = code_rows.iter().chain(&infra_rows).flat_map(|(_, c)| c);
    let (passed, failed) = cells.fold(
        (0, 0),
        |(p, f), c| if c.ok { (p + 1, f) } else { (p, f + 1) },
    );
    println!("\nmatrix took {:.0}s", started.elapsed().as_secs_f64());
    println!("matrix: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// One progress line per project, as its checks finish.
fn report(label: &str, cells: &[Cell]) {
    let line: Vec<String> = cells
        .iter()
        .map(|c| {
            format!(
                "{} {} {:.1}s",
                c.check,
                if c.ok { "ok" } else { "FAILED" },
                c.seconds
            )
        })
        .collect();
    eprintln!("{label:<28} {}", line.join("  "));
}
