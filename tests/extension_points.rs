//! "A strategy is a folder": where a strategy's name appears outside its own folders.
//!
//! For every strategy the template declares (`genai_scaffold::strategy::table`), this scans
//! the template, the generator, the deploy stand-in (tests/standin) and scripts/ for its
//! service name (`realtime-ws`) anywhere, its route (`/ws`) as a whole word, and its key
//! (`websocket`) as a quoted string (or the start of a quoted path: `"websocket/domain"`), a
//! path segment (`/deploy/websocket/`), a TOML key, a placeholder or a negated condition,
//! skipping the paths the strategy owns (its `[conditional.'!<key>']` list), the lock files
//! cargo and npm write, and comment lines in code (Markdown counts whole: a strategy's
//! documentation belongs in its folder too). Each file found must be one of
//! [`common::EXTENSION_POINTS`], the files meant to name strategies, each with its reason (at
//! most 5).
//!
//! A file not on the list fails the test (a new coupling); a file on the list that no longer
//! names a strategy fails it too, so the list stays true. The test prints it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use genai_scaffold::strategy;
use genai_scaffold::template::TemplateConfig;

/// Written by cargo and npm, not by hand: they list the workspace's packages; and by the
/// bench, the run README.md's measured section is rendered from (`dev/bench/reference.json`,
/// `make bench-readme`), whose rows are the strategies it measured.
const TOOL_WRITTEN: &[&str] = &["Cargo.lock", "package-lock.json", "reference.json"];

fn files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if !["node_modules", "target", "dist"].contains(&name.as_ref()) {
                files(root, &path, out);
            }
        } else if !TOOL_WRITTEN.contains(&name.as_ref()) {
            let rel = path.strip_prefix(root).expect("below root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The path a service declares on the app's origin (`route` in its manifest's metadata).
fn route_of(repo: &Path, service: &str) -> String {
    let manifest = repo.join(format!("template/services/{service}/Cargo.toml.liquid"));
    let manifest: toml::Table = std::fs::read_to_string(manifest).unwrap().parse().unwrap();
    manifest["package"]["metadata"]["genai-scaffold"]["route"]
        .as_str()
        .expect("each service declares its route")
        .to_string()
}

/// Where each file names a strategy: `file -> ["line: name", ...]`.
fn couplings() -> BTreeMap<String, Vec<String>> {
    let repo = common::repo();
    let config = TemplateConfig::embedded().unwrap();
    let mut all = Vec::new();
    files(&repo, &repo.join("template"), &mut all);
    files(&repo, &repo.join("generator"), &mut all);
    // The rehearsal's checks of a deployed stage read the project's declarations, and the
    // bench report finds the services and their benchmarks in the project.
    files(&repo, &repo.join("tests/standin"), &mut all);
    files(&repo, &repo.join("scripts"), &mut all);
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in strategy::table().unwrap() {
        let owned: Vec<String> = config.conditional[&format!("!{}", s.placeholder())]
            .ignore
            .iter()
            .map(|p| format!("template/{p}"))
            .collect();
        let key = regex::escape(&s.key);
        let route = regex::escape(&route_of(&repo, &s.service));
        let pattern = regex::Regex::new(&format!(
            r#"{}|['"`]{key}['"`/]|^\s*{key}\s*=|\{{\{{ {key} \}}\}}|'!{key}'|(?:^|[\s'"`(]){route}(?:$|[\s'"`/*)])|/{key}/"#,
            regex::escape(&s.service)
        ))
        .unwrap();
        for file in &all {
            if owned
                .iter()
                .any(|o| file == o || file.starts_with(&format!("{o}/")))
            {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(repo.join(file)) else {
                continue;
            };
            // The generator's own unit tests may name strategies as data.
            let text = if file.starts_with("generator/") {
                text.split("#[cfg(test)]")
                    .next()
                    .unwrap_or_default()
                    .to_string()
            } else {
                text
            };
            let prose = file.ends_with(".md");
            for (n, line) in text.lines().enumerate() {
                // In code, a comment that names a strategy as an example couples nothing.
                let comment = ["//", "#", "*", "/*", "<!--"]
                    .iter()
                    .any(|c| line.trim_start().starts_with(c));
                if comment && !prose {
                    continue;
                }
                if let Some(m) = pattern.find(line) {
                    found.entry(file.clone()).or_default().push(format!(
                        "{}: {}",
                        n + 1,
                        m.as_str()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn strategies_are_named_only_in_their_folders_and_the_listed_extension_points() {
    let found = couplings();
    let listed = |file: &str| common::EXTENSION_POINTS.iter().any(|(f, _)| *f == file);
    let new: Vec<String> = found
        .iter()
        .filter(|(file, _)| !listed(file))
        .map(|(file, lines)| format!("  {file} (line {})", lines.join(", line ")))
        .collect();
    let stale: Vec<&str> = common::EXTENSION_POINTS
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| !found.contains_key(*f))
        .collect();

    println!(
        "extension points ({}, at most 5):",
        common::EXTENSION_POINTS.len()
    );
    for (file, why) in common::EXTENSION_POINTS {
        println!("  {file}: {why}");
    }
    assert!(
        new.is_empty(),
        "these files name a strategy outside its folders; derive what they need from the \
         strategies' declarations (services/<service>/Cargo.toml), or, if a file must, list it \
         with its reason:\n{}",
        new.join("\n")
    );
    assert!(
        stale.is_empty(),
        "these listed files no longer name a strategy: take them off the list: {stale:?}"
    );
    assert!(common::EXTENSION_POINTS.len() <= 5);
}
