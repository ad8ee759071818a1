//! Builds every generated combination: 7 strategy subsets x 2 IaC flavors. For each, the
//! checks a user's CI would run (`cargo fmt --check`, `cargo clippy -D warnings`, `cargo
//! test`, and for the web app `make web` and `make web-test`: npm ci, the build with its size
//! budget, tsc, ESLint, unit tests, the clients against the local stack), plus a release build
//! of the all-strategies workspace and `make dev` in it, asked for an answer with `curl` as the
//! README shows, and Playwright (`make e2e`) in the all-strategies project and a one-strategy
//! one. All projects share one target folder (`MATRIX_TARGET_DIR`) so dependencies compile once.
//! The infrastructure is checked offline in every combination: `synth` (CDK: tsc, unit tests,
//! `cdk synth` with cdk-nag; SAM: `sam validate --lint`, the samtranslator transform, unit
//! tests), then `cfn-lint` and `checkov` on the resulting CloudFormation, with the tools of
//! `MATRIX_INFRA_VENV` (made by scripts/install-test-deps.sh). `deploy-fe` runs
//! `make deploy-frontend` against moto's fake AWS, once per flavor.
//!
//! A plain program (harness = false): it prints a table of combination x check x seconds and
//! fails on any red cell. `make matrix` runs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use genai_scaffold::answers::{Iac, PartialAnswers, Strategy};

/// One check: a name for the table and the cargo arguments.
struct Check {
    name: &'static str,
    args: &'static [&'static str],
}

const CHECKS: &[Check] = &[
    Check {
        name: "fmt",
        args: &["fmt", "--all", "--check"],
    },
    Check {
        name: "clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    },
    Check {
        name: "test",
        args: &["test", "--workspace"],
    },
];

const RELEASE: Check = Check {
    name: "release",
    args: &["build", "--workspace", "--release"],
};

/// The template ships the all-strategies lock. In a subset Cargo drops the packages nobody
/// uses (so `--locked` cannot be passed), but it must never pick a version the lock did not
/// have: every (name, version) left in the project's lock must be in the template's.
fn lock_check(project: &Path) -> Cell {
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
    let shipped = packages(&common::repo().join("template/Cargo.lock"));
    let used = packages(&project.join("Cargo.lock"));
    let strays: Vec<_> = used.iter().filter(|p| !shipped.contains(p)).collect();
    if !strays.is_empty() {
        eprintln!(
            "--- lock in {}: versions not in template/Cargo.lock: {strays:?}",
            project.display()
        );
    }
    Cell {
        check: "lock",
        ok: strays.is_empty(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

struct Cell {
    check: &'static str,
    ok: bool,
    seconds: f64,
}

fn generate(dir: &Path, strategies: &str, iac: &str) -> PathBuf {
    let answers = PartialAnswers {
        name: Some(format!("m-{}-{iac}", strategies.replace(',', "-"))),
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
    .expect("valid answers");
    let path = dir.join(answers.name.as_str());
    let files = genai_scaffold::render(&answers).expect("renders");
    genai_scaffold::write::write_project(&path, &files, false).expect("writes");
    path
}

fn run(project: &Path, target: &Path, check: &Check) -> Cell {
    let start = Instant::now();
    let out = Command::new(env!("CARGO"))
        .args(check.args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    let ok = out.status.success();
    if !ok {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!(
            "--- {} failed in {}:\n{stdout}\n{stderr}",
            check.name,
            project.display()
        );
    }
    Cell {
        check: check.name,
        ok,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The virtualenv with the infrastructure tools (cfn-lint, checkov, SAM CLI, moto).
fn infra_venv() -> PathBuf {
    std::env::var_os("MATRIX_INFRA_VENV")
        .map(PathBuf::from)
        .expect("MATRIX_INFRA_VENV names the tools' virtualenv (make matrix sets it)")
}

/// A `make` target of the generated project (or of a folder in it), as a user runs it.
fn make(dir: &Path, target: &Path, name: &'static str, targets: &[&str]) -> Cell {
    let start = Instant::now();
    let mut ok = true;
    let venv = infra_venv();
    let path = std::env::join_paths(std::iter::once(venv.join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH entries join");
    for goal in targets {
        let out = Command::new("make")
            .arg(goal)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target)
            .env("CI", "true")
            .env("INFRA_VENV", &venv)
            .env("PATH", &path)
            .output()
            .expect("make runs");
        if !out.status.success() {
            eprintln!(
                "--- make {goal} failed in {}:\n{}\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ok = false;
            break;
        }
    }
    Cell {
        check: name,
        ok,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// `make dev` as a user runs it: it prints `ready: <url>`, answers `curl` on SSE and REST,
/// and Ctrl-C (SIGINT to its process group) stops it and every process it started.
fn dev_check(project: &Path, target: &Path) -> Cell {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    let start = Instant::now();
    let mut make = Command::new("make")
        .args(["dev", "PORT=0"])
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("make runs");
    let stdout = make.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("ready: ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let curl = |args: &[&str]| {
        Command::new("curl")
            .args(["--silent", "--max-time", "30"])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let body = r#"{"prompt":"matrix [tokens=5]"}"#;
    let answered = rx
        .recv_timeout(std::time::Duration::from_secs(600))
        .map(|url| {
            let sse = curl(&["-N", "-X", "POST", &format!("{url}/sse"), "-d", body]);
            let rest = curl(&["-X", "POST", &format!("{url}/api/generate"), "-d", body]);
            let ok = sse.contains("event: complete") && rest.contains("\"completionTokens\":5");
            if !ok {
                eprintln!("--- make dev answered:\n{sse}\n{rest}");
            }
            ok
        })
        .unwrap_or(false);
    let group = format!("-{}", make.id());
    let _ = Command::new("kill").args(["-INT", "--", &group]).status();
    let _ = make.wait();
    // Nothing of the group may outlive Ctrl-C.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let left = Command::new("kill")
        .args(["-0", "--", &group])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if left {
        eprintln!("--- make dev left processes running");
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }
    Cell {
        check: "dev",
        ok: answered && !left,
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn main() {
    let target = std::env::var_os("MATRIX_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("target/matrix"));
    let scratch = tempfile::tempdir().expect("scratch folder");
    let started = Instant::now();
    let mut rows: Vec<(String, Vec<Cell>)> = Vec::new();
    for (strategies, iac) in common::combinations() {
        let project = generate(scratch.path(), &strategies, iac);
        let mut cells: Vec<Cell> = CHECKS.iter().map(|c| run(&project, &target, c)).collect();
        cells.push(make(&project, &target, "web", &["web", "web-test"]));
        if strategies == "websocket,sse,rest" && iac == "cdk" {
            cells.push(run(&project, &target, &RELEASE));
            cells.push(dev_check(&project, &target));
        }
        // The browser run: every strategy side by side, and one alone (no winners, one panel);
        // deploy-frontend in the same two, once per IaC flavor.
        let sampled = (strategies == "websocket,sse,rest" && iac == "cdk")
            || (strategies == "websocket" && iac == "sam");
        if sampled {
            cells.push(make(&project, &target, "e2e", &["e2e"]));
        }
        let infra = project.join("infra").join(iac);
        cells.push(make(&infra, &target, "synth", &["check-synth"]));
        cells.push(make(&infra, &target, "cfn-lint", &["check-cfn-lint"]));
        cells.push(make(&infra, &target, "checkov", &["check-checkov"]));
        if sampled {
            cells.push(make(
                &project,
                &target,
                "deploy-fe",
                &["infra-test-frontend"],
            ));
        }
        cells.push(lock_check(&project));
        let label = format!("{strategies} / {iac}");
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
        rows.push((label, cells));
    }

    const COLUMNS: [&str; 12] = [
        "fmt",
        "clippy",
        "test",
        "web",
        "release",
        "dev",
        "e2e",
        "synth",
        "cfn-lint",
        "checkov",
        "deploy-fe",
        "lock",
    ];
    print!("\n{:<28}", "combination");
    for column in COLUMNS {
        print!(" {column:>9}");
    }
    println!();
    for (label, cells) in &rows {
        let cell = |name: &str| {
            cells
                .iter()
                .find(|c| c.check == name)
                .map_or("-".to_string(), |c| {
                    if c.ok {
                        format!("{:.1}s", c.seconds)
                    } else {
                        format!("RED {:.0}s", c.seconds)
                    }
                })
        };
        print!("{label:<28}");
        for column in COLUMNS {
            print!(" {:>9}", cell(column));
        }
        println!();
    }
    let failed = rows
        .iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.ok))
        .count();
    println!("\nmatrix took {:.0}s", started.elapsed().as_secs_f64());
    println!("matrix: {} passed, {failed} failed", rows.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
