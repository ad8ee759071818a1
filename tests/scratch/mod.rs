//! The proof that a strategy is a folder: the SSE strategy's folders are copied under a new
//! key into a scratch copy of `template/`, the extension points learn the key, and the new
//! strategy is then generated, built, linted, tested, synthesized in both flavors, checked
//! for cargo-generate parity, added and removed, with no other file of the template edited.
//! It prints the files it had to touch outside the new folders; any beyond the extension
//! points (`common::EXTENSION_POINTS`) and `Cargo.lock` turn its `scaffold` cell red.
//!
//! The generator renders the copy through `GENAI_SCAFFOLD_TEMPLATE`, the binary as built.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{Cell, Env, MINUTE, cell, cell_expecting, common, install_node_modules, lock_check};

/// The strategy copied (key, service) and the one it becomes.
const FROM: (&str, &str) = ("sse", "stream-sse");
const TO: (&str, &str) = ("events", "stream-events");
/// The name of every project generated here, so that `add` and a fresh `new` compare.
const NAME: &str = "scratch-app";

/// The scratch template and the projects generated from it.
pub struct Scratch {
    template: PathBuf,
    /// Every strategy the scratch template declares, TO's included.
    all: String,
    /// The all-strategies projects, by flavor.
    projects: Vec<(&'static str, PathBuf)>,
    /// What building the template and its first projects gave: a red cell says why.
    scaffold: Cell,
}

/// The label of the scratch strategy's rows.
pub fn label() -> String {
    format!("scratch '{}' (copy of '{}')", TO.0, FROM.0)
}

/// A path of the template as it reads for the copied strategy.
fn renamed_path(path: &str) -> String {
    path.replace(FROM.1, TO.1)
        .replace(&FROM.1.replace('-', "_"), &TO.1.replace('-', "_"))
        .split('/')
        .map(|segment| if segment == FROM.0 { TO.0 } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// The key as it starts an identifier (`SseUrl`), and the copy's.
const FROM_CAPITAL: &str = "Sse";
const TO_CAPITAL: &str = "Events";

/// A file of the strategy as it reads for the copy: its service, crate, key and the names
/// derived from the key (`sse/url`, `SseUrl`, `/sse`) renamed; prose that says "SSE" stays.
fn renamed_text(text: &str) -> String {
    let text = text
        .replace(FROM.1, TO.1)
        .replace(&FROM.1.replace('-', "_"), &TO.1.replace('-', "_"));
    let key = regex::Regex::new(&format!(r"\b{}\b", FROM.0)).expect("regex");
    let text = key.replace_all(&text, TO.0);
    let identifier = regex::Regex::new(&format!(r"\b{FROM_CAPITAL}([A-Z])")).expect("regex");
    identifier
        .replace_all(&text, format!("{TO_CAPITAL}$1").as_str())
        .into_owned()
}

fn copy_renamed(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            copy_renamed(&entry.path(), &to.join(renamed_path(&name)))?;
        }
        return Ok(());
    }
    std::fs::create_dir_all(to.parent().expect("a file has a folder"))?;
    let bytes = std::fs::read(from)?;
    match String::from_utf8(bytes) {
        Ok(text) => std::fs::write(to, renamed_text(&text)),
        Err(binary) => std::fs::write(to, binary.into_bytes()),
    }
}

/// The extension points learn the new key, as a contributor adding a strategy edits them.
fn teach_extension_points(template: &Path, owned: &[String]) -> Result<(), String> {
    let config_path = template.join("cargo-generate.toml");
    let text = std::fs::read_to_string(&config_path).map_err(|e| e.to_string())?;
    let mut config: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let placeholder = config["placeholders"][FROM.0].clone();
    let mut placeholder = placeholder
        .into_table()
        .map_err(|_| "placeholder is a table")?;
    let prompt = placeholder["prompt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    placeholder["prompt"] = toml_edit::value(renamed_text(&prompt));
    config["placeholders"][TO.0] = toml_edit::Item::Table(placeholder);
    let mut ignore = toml_edit::Array::new();
    for path in owned {
        ignore.push(renamed_path(path));
    }
    let mut conditional = toml_edit::Table::new();
    conditional["ignore"] = toml_edit::value(ignore);
    config["conditional"][&format!("!{}", TO.0)] = toml_edit::Item::Table(conditional);
    std::fs::write(&config_path, config.to_string()).map_err(|e| e.to_string())?;

    let record = template.join(".genai-scaffold.toml");
    let text = std::fs::read_to_string(&record).map_err(|e| e.to_string())?;
    let line = format!("{0} = {{{{ {0} }}}}\n", FROM.0);
    if !text.contains(&line) {
        return Err(format!(
            "{} has no line `{}`",
            record.display(),
            line.trim()
        ));
    }
    let text = text.replace(&line, &format!("{line}{0} = {{{{ {0} }}}}\n", TO.0));
    std::fs::write(&record, text).map_err(|e| e.to_string())?;

    let makefile = template.join("Makefile");
    let text = std::fs::read_to_string(&makefile).map_err(|e| e.to_string())?;
    let addable = text
        .lines()
        .find(|l| l.starts_with("ADDABLE :="))
        .ok_or("the Makefile has no ADDABLE line")?;
    let text = text.replace(addable, &format!("{addable} {}={}", TO.1, TO.0));
    std::fs::write(&makefile, text).map_err(|e| e.to_string())
}

/// A check that is plain Rust: red with its reason printed.
fn timed(check: &'static str, run: impl FnOnce() -> Result<(), String>) -> Cell {
    let start = Instant::now();
    let result = run();
    if let Err(why) = &result {
        eprintln!("--- {check} of the scratch strategy: {why}");
    }
    Cell {
        check,
        ok: result.is_ok(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// `genai-scaffold` as built, rendering from `template`.
fn scaffold(template: &Path, dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_genai-scaffold"))
        .env(genai_scaffold::template::TEMPLATE_VAR, template)
        .env("NO_COLOR", "1")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("genai-scaffold {args:?}: {stderr}"))
    }
}

fn generate(
    template: &Path,
    dir: &Path,
    folder: &str,
    strategies: &str,
    iac: &str,
) -> Result<PathBuf, String> {
    let root = dir.join(folder);
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| e.to_string())?;
    }
    let path = root.to_string_lossy().into_owned();
    scaffold(
        template,
        dir,
        &[
            "new",
            &path,
            "--name",
            NAME,
            "--yes",
            "--strategies",
            strategies,
            "--iac",
            iac,
        ],
    )?;
    Ok(root)
}

/// Every file below `root` but build outputs, with its bytes.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    common::tree_below(root)
}

/// The files of `scratch` that differ from `template/` or are new, outside `owned`.
fn touched(repo_template: &Path, scratch: &Path, owned: &[String]) -> Vec<String> {
    let before: std::collections::BTreeMap<_, _> = tree(repo_template).into_iter().collect();
    tree(scratch)
        .into_iter()
        .filter(|(path, bytes)| {
            !owned
                .iter()
                .any(|o| path == o || path.starts_with(&format!("{o}/")))
                && before.get(path) != Some(bytes)
        })
        .map(|(path, _)| path)
        .collect()
}

impl Scratch {
    /// Copies the template and the strategy, teaches the extension points, resolves the lock
    /// for the new crate, and generates the all-strategies project of each flavor.
    pub fn prepare(env: &Env, dir: &Path) -> Scratch {
        let start = Instant::now();
        let template = dir.join("scratch-template");
        let mut scratch = Scratch {
            template: template.clone(),
            all: String::new(),
            projects: Vec::new(),
            scaffold: Cell {
                check: "scaffold",
                ok: false,
                seconds: 0.0,
            },
        };
        match scratch.build(env, dir) {
            Ok(touched) => {
                let allowed: BTreeSet<String> = common::EXTENSION_POINTS
                    .iter()
                    .map(|(path, _)| path.trim_start_matches("template/").to_string())
                    .chain(["Cargo.lock".to_string()])
                    .collect();
                eprintln!(
                    "scratch: adding '{}' as a copy of '{}' touched, outside its own folders: {}",
                    TO.0,
                    FROM.0,
                    touched.join(", ")
                );
                let beyond: Vec<_> = touched.iter().filter(|t| !allowed.contains(*t)).collect();
                if beyond.is_empty() {
                    scratch.scaffold.ok = true;
                } else {
                    eprintln!(
                        "--- scaffold: beyond the extension points and Cargo.lock: {beyond:?}"
                    );
                }
            }
            Err(why) => eprintln!("--- scaffold in {}: {why}", template.display()),
        }
        scratch.scaffold.seconds = start.elapsed().as_secs_f64();
        scratch
    }

    fn build(&mut self, env: &Env, dir: &Path) -> Result<Vec<String>, String> {
        let repo_template = common::repo().join("template");
        if self.template.exists() {
            std::fs::remove_dir_all(&self.template).map_err(|e| e.to_string())?;
        }
        let status = Command::new("cp")
            .arg("-a")
            .arg(&repo_template)
            .arg(&self.template)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("cp -a {} failed", repo_template.display()));
        }
        let config = genai_scaffold::template::TemplateConfig::parse(
            &std::fs::read_to_string(self.template.join("cargo-generate.toml"))
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let owned = config
            .conditional
            .get(&format!("!{}", FROM.0))
            .map(|c| c.ignore.clone())
            .ok_or_else(|| format!("cargo-generate.toml has no [conditional.'!{}']", FROM.0))?;
        for path in &owned {
            copy_renamed(
                &self.template.join(path),
                &self.template.join(renamed_path(path)),
            )
            .map_err(|e| format!("copying {path}: {e}"))?;
        }
        teach_extension_points(&self.template, &owned)?;

        let mut keys = common::strategies();
        keys.push(TO.0);
        self.all = keys.join(",");
        // Cargo.lock, resolved again for the new crate as a contributor would: cargo adds the
        // workspace member and changes nothing else. Not --offline: on a fresh machine no
        // project has fetched the registry's index yet, and this runs first.
        let first = generate(&self.template, dir, "s-all-cdk", &self.all, "cdk")?;
        let mut update = env.command(env!("CARGO"), &first);
        update.args(["update", "--workspace"]);
        crate::common::run_limited(&mut update, 5 * MINUTE)?;
        std::fs::copy(first.join("Cargo.lock"), self.template.join("Cargo.lock"))
            .map_err(|e| e.to_string())?;
        for iac in common::FLAVORS {
            let project = generate(&self.template, dir, &format!("s-all-{iac}"), &self.all, iac)?;
            self.projects.push((iac, project));
        }
        let mut owned_now = owned.clone();
        owned_now.extend(owned.iter().map(|p| renamed_path(p)));
        Ok(touched(&repo_template, &self.template, &owned_now))
    }

    fn project(&self, iac: &str) -> Option<&Path> {
        self.projects
            .iter()
            .find(|(i, _)| *i == iac)
            .map(|(_, p)| p.as_path())
    }

    /// The cells of the template itself: building it, cargo-generate parity of the new
    /// strategy alone, and `add` then `remove` of it.
    pub fn generator_checks(&self, dir: &Path) -> Vec<Cell> {
        let mut cells = vec![Cell {
            check: "scaffold",
            ok: self.scaffold.ok,
            seconds: self.scaffold.seconds,
        }];
        if self.scaffold.ok {
            cells.push(timed("parity", || self.parity(dir)));
            cells.push(timed("add-remove", || self.add_remove(dir)));
        }
        cells
    }

    fn parity(&self, dir: &Path) -> Result<(), String> {
        let ours = generate(&self.template, dir, "s-parity-ours", TO.0, "cdk")?;
        let theirs_root = dir.join("s-parity-theirs");
        let _ = std::fs::remove_dir_all(&theirs_root);
        std::fs::create_dir_all(&theirs_root).map_err(|e| e.to_string())?;
        let record: toml::Table = std::fs::read_to_string(ours.join(".genai-scaffold.toml"))
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|e| format!("{e}"))?;
        let mut cmd = Command::new("cargo-generate");
        cmd.env("CARGO_NAME", "genai-scaffold tests")
            .args(["generate", "--path"])
            .arg(&self.template)
            .args(["--name", NAME, "--silent", "--vcs", "none", "--destination"])
            .arg(&theirs_root);
        // The record holds every answer: the top-level ones and a bool per strategy, whose
        // placeholder is its key with `-` written `_` (`genai_scaffold::strategy`).
        for (key, value) in &record {
            match value {
                toml::Value::String(s) if key != "name" => {
                    cmd.args(["--define", &format!("{key}={s}")]);
                }
                toml::Value::Table(strategies) if key == "strategies" => {
                    for (strategy, on) in strategies {
                        let placeholder = strategy.replace('-', "_");
                        cmd.args(["--define", &format!("{placeholder}={on}")]);
                    }
                }
                _ => {}
            }
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cargo-generate: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo generate failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut a = tree(&ours);
        a.retain(|(path, _)| path != genai_scaffold::lock::LOCK_FILE);
        let b = tree(&theirs_root.join(NAME));
        if a != b {
            let names =
                |t: &[(String, Vec<u8>)]| t.iter().map(|f| f.0.clone()).collect::<BTreeSet<_>>();
            let differing: Vec<_> = a
                .iter()
                .zip(&b)
                .filter(|(x, y)| x != y)
                .map(|(x, _)| x.0.clone())
                .take(5)
                .collect();
            return Err(format!(
                "the trees differ: only ours {:?}, only theirs {:?}, differing {differing:?}",
                names(&a).difference(&names(&b)).collect::<Vec<_>>(),
                names(&b).difference(&names(&a)).collect::<Vec<_>>()
            ));
        }
        Ok(())
    }

    fn add_remove(&self, dir: &Path) -> Result<(), String> {
        let project = generate(&self.template, dir, "s-changed", FROM.0, "sam")?;
        let path = project.to_string_lossy().into_owned();
        let both = format!("{},{}", FROM.0, TO.0);
        let expected = |strategies: &str, folder: &str| {
            generate(&self.template, dir, folder, strategies, "sam").map(|p| tree(&p))
        };
        scaffold(&self.template, dir, &["add", TO.0, "--path", &path])?;
        if tree(&project) != expected(&both, "s-fresh-both")? {
            return Err(format!(
                "`add {}` did not give the tree of `new --strategies {both}`",
                TO.0
            ));
        }
        scaffold(&self.template, dir, &["remove", TO.0, "--path", &path])?;
        if tree(&project) != expected(FROM.0, "s-fresh-one")? {
            return Err(format!(
                "`remove {}` did not give back the tree of `new --strategies {}`",
                TO.0, FROM.0
            ));
        }
        Ok(())
    }

    /// Built, linted and tested, in the all-strategies project: rustfmt, clippy, the copied
    /// crate's own tests and the local stack serving it, the lock, the web app and its lint.
    pub fn code_checks(&self, env: &Env) -> Vec<Cell> {
        let Some(project) = self
            .project(common::FLAVORS[0])
            .filter(|_| self.scaffold.ok)
        else {
            return Vec::new();
        };
        let cargo = |check: &'static str, args: &[&str], expect: Option<&str>| {
            let mut cmd = env.command(env!("CARGO"), project);
            cmd.args(args);
            cell_expecting(check, project, 30 * MINUTE, vec![cmd], expect)
        };
        let web = project.join("client/web");
        let mut lint = env.command("npm", &web);
        lint.args(["run", "lint"]);
        let mut build = env.command("make", project);
        build.arg("web");
        vec![
            cargo("fmt", &["fmt", "--all", "--check"], None),
            cargo(
                "clippy",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
                None,
            ),
            // The copied crate's tests, beside the original's (one integration test file each).
            cargo(
                "test",
                &["test", "--workspace", "--test", "stream"],
                Some("test result: ok."),
            ),
            // The local stack finds the new service by its declaration and serves it.
            cargo(
                "discovery",
                &[
                    "test",
                    "--workspace",
                    "--test",
                    "stack",
                    "--",
                    "--exact",
                    "every_strategy_answers_external_clients_per_the_protocol",
                ],
                Some("test result: ok. 1 passed"),
            ),
            lock_check(project, &self.template),
            install_node_modules(env, "npm", std::slice::from_ref(&web)),
            cell("web", project, 10 * MINUTE, vec![build]),
            cell("web-lint", project, 10 * MINUTE, vec![lint]),
        ]
    }

    /// Synthesized and checked in both flavors, as the matrix checks every subset.
    pub fn infra_checks(&self, env: &Env) -> Vec<(String, Vec<Cell>)> {
        if !self.scaffold.ok {
            return Vec::new();
        }
        self.projects
            .iter()
            .map(|(iac, project)| {
                (
                    format!("{} / {iac}", label()),
                    super::infra_checks(env, project, iac, true),
                )
            })
            .collect()
    }
}
