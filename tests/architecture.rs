//! ARCHITECTURE.md names no path that does not exist.
//!
//! What counts as a path: in inline code and in fenced blocks, each whitespace-separated word
//! that holds a `/` or ends in one of [`EXTENSIONS`]; and each markdown link target. Skipped:
//! words with a URL scheme, a leading `/` (origin routes, SSM parameter paths, system files) or
//! `~` (home), words that do not start with a letter, digit, `.`, `_`, `<` or `*` (`#!/`,
//! `[table]`, `{{`), and words holding `=`, `::` or quotes (settings, Rust paths, TOML).
//!
//! Where a path may be: under the repository root, `template/` (a generated project's paths
//! are written as the project has them) or `generator/`; under a path named in the part's
//! heading (`src/main.rs` below `### services/<service>`); or beside a path named earlier in
//! the same paragraph (`src/gateway/`, then `mod.rs`). A file `X` is also found as the stored
//! `X.liquid` (`crates/genai/Cargo.toml`). Placeholders are wildcards that must match at
//! least one existing entry: a `<name>` (or a segment part such as `<service>.yaml`) matches
//! any name, `*` any run of characters, `**` any depth of folders. `.genai-scaffold.lock` is
//! written by generation, not stored, so it needs no file.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Extensions that make a word a file name even without a `/`.
const EXTENSIONS: &[&str] = &[
    "rs", "ts", "tsx", "md", "py", "toml", "yaml", "yml", "json", "js", "mjs", "sh", "lock",
    "liquid", "html", "css", "txt", "snap",
];

/// Files a generated project has that the repository does not store.
const GENERATED: &[&str] = &[".genai-scaffold.lock"];

/// Folders a wildcard never looks into: build outputs and VCS data.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", ".git", "dist"];

/// A path the document names, with the line it is on.
#[derive(Debug)]
struct Mention {
    line: usize,
    path: String,
}

/// The outcome of checking a document: how many mentions were checked, and the missing ones.
struct Report {
    checked: usize,
    distinct: usize,
    missing: Vec<String>,
}

#[test]
fn architecture_md_names_only_paths_that_exist() {
    let repo = common::repo();
    let doc = std::fs::read_to_string(repo.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let report = check(&doc, &repo);
    println!(
        "ARCHITECTURE.md: checked {} path mentions ({} distinct paths)",
        report.checked, report.distinct
    );
    // A broken extractor would pass vacuously; the document names far more than this.
    assert!(
        report.checked >= 50,
        "only {} paths found in ARCHITECTURE.md: is the extraction broken?",
        report.checked
    );
    assert!(
        report.missing.is_empty(),
        "ARCHITECTURE.md names {} of its {} path mentions that do not exist (see the rules at \
         the top of tests/architecture.rs):\n  {}",
        report.missing.len(),
        report.checked,
        report.missing.join("\n  ")
    );
}

/// The check itself can fail: bogus paths in each form are reported, real ones are not.
#[test]
fn the_check_reports_each_missing_path() {
    let repo = common::repo();
    let doc = "\
# Title

### `dev/local`

Real: `src/runtime.rs`, `services/<service>/Cargo.toml`, `generator/lib.rs`, `lock.rs`,
[link](README.md), `/config.json`, `https://example.com/x.rs`, `WAF=on`, `{{ name }}`,
`src/gateway/` with `proxy.rs`, `crates/genai/Cargo.toml`, `infra/sam/<service>.yaml`,
`client/web/src/**/*.test.ts`, `.genai-scaffold.lock`.

Bogus: `src/nowhere.rs`, `services/<service>/missing.toml`, `no-such-file.md`,
[link](docs/none.md), `proxy.rs` (no folder named before it here), `template/nothing/`.

```
generator/absent.rs ─► ok
```
";
    let report = check(doc, &repo);
    let missing: Vec<&str> = report
        .missing
        .iter()
        .map(|m| m.split('`').nth(1).expect("quoted path"))
        .collect();
    assert_eq!(
        missing,
        [
            "src/nowhere.rs",
            "services/<service>/missing.toml",
            "no-such-file.md",
            "docs/none.md",
            "proxy.rs",
            "template/nothing/",
            "generator/absent.rs",
        ],
        "{:?}",
        report.missing
    );
}

/// Checks every path `doc` mentions against the tree at `repo`.
fn check(doc: &str, repo: &Path) -> Report {
    let roots: Vec<PathBuf> = ["", "template", "generator"]
        .iter()
        .map(|r| repo.join(r))
        .collect();
    let mut checked = 0;
    let mut distinct = BTreeSet::new();
    let mut missing = Vec::new();
    // Folders of the paths named in the current part's heading.
    let mut heading_dirs: Vec<PathBuf> = Vec::new();
    for block in blocks(doc) {
        // Folders of the paths named so far in this paragraph.
        let mut paragraph_dirs: Vec<PathBuf> = Vec::new();
        let mentions = mentions(&block);
        if block.heading {
            heading_dirs.clear();
        }
        for mention in mentions {
            checked += 1;
            distinct.insert(mention.path.clone());
            if GENERATED.contains(&mention.path.as_str()) {
                continue;
            }
            let found: Vec<PathBuf> = roots
                .iter()
                .chain(&heading_dirs)
                .chain(&paragraph_dirs)
                .flat_map(|base| resolve(base, &mention.path))
                .collect();
            if found.is_empty() {
                missing.push(format!("line {}: `{}`", mention.line, mention.path));
                continue;
            }
            let dirs = found.iter().map(|f| {
                if f.is_dir() {
                    f.clone()
                } else {
                    f.parent().expect("a found file has a folder").to_path_buf()
                }
            });
            if block.heading {
                heading_dirs.extend(dirs);
            } else {
                paragraph_dirs.extend(dirs);
            }
        }
    }
    Report {
        checked,
        distinct: distinct.len(),
        missing,
    }
}

/// A heading, a paragraph (lines up to a blank one) or a fenced block, with its first line.
struct Block {
    line: usize,
    text: String,
    heading: bool,
    fenced: bool,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    let mut in_fence = false;
    for (i, line) in doc.lines().enumerate() {
        let number = i + 1;
        if line.trim_start().starts_with("```") {
            blocks.extend(current.take());
            if in_fence {
                in_fence = false;
            } else {
                in_fence = true;
                current = Some(Block {
                    line: number + 1,
                    text: String::new(),
                    heading: false,
                    fenced: true,
                });
            }
            continue;
        }
        if in_fence {
            let block = current.as_mut().expect("a fence is open");
            block.text.push_str(line);
            block.text.push('\n');
            continue;
        }
        if line.trim().is_empty() {
            blocks.extend(current.take());
        } else if line.starts_with('#') {
            blocks.extend(current.take());
            blocks.push(Block {
                line: number,
                text: line.to_string(),
                heading: true,
                fenced: false,
            });
        } else {
            let block = current.get_or_insert_with(|| Block {
                line: number,
                text: String::new(),
                heading: false,
                fenced: false,
            });
            block.text.push_str(line);
            block.text.push('\n');
        }
    }
    blocks.extend(current);
    blocks
}

/// The paths a block mentions, in order.
fn mentions(block: &Block) -> Vec<Mention> {
    let line_at = |offset: usize| block.line + block.text[..offset].matches('\n').count();
    let mut found = Vec::new();
    let mut push_words = |text: &str, offset: usize| {
        let mut start = 0;
        for piece in text.split_inclusive(|c: char| c.is_whitespace() || !c.is_ascii()) {
            let word = piece.trim_end_matches(|c: char| c.is_whitespace() || !c.is_ascii());
            let word = word
                .trim_start_matches('(')
                .trim_end_matches([')', ',', ';', ':']);
            if looks_like_a_path(word) {
                found.push((offset + start, word.to_string()));
            }
            start += piece.len();
        }
    };
    if block.fenced {
        push_words(&block.text, 0);
    } else {
        // Inline code: text between a pair of backticks, which may span lines.
        let mut rest = block.text.as_str();
        let mut offset = 0;
        while let Some(open) = rest.find('`') {
            let Some(len) = rest[open + 1..].find('`') else {
                break;
            };
            let code = &rest[open + 1..open + 1 + len];
            push_words(code, offset + open);
            offset += open + len + 2;
            rest = &rest[open + len + 2..];
        }
        // Link targets: `](target)`.
        let text = block.text.as_str();
        let mut from = 0;
        while let Some(at) = text[from..].find("](") {
            let start = from + at + 2;
            let Some(len) = text[start..].find(')') else {
                break;
            };
            let target = text[start..start + len]
                .split('#')
                .next()
                .unwrap_or_default();
            if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
                found.push((start, target.to_string()));
            }
            from = start + len;
        }
        found.sort_by_key(|(offset, _)| *offset);
    }
    found
        .into_iter()
        .map(|(offset, path)| Mention {
            line: line_at(offset),
            path,
        })
        .collect()
}

fn looks_like_a_path(word: &str) -> bool {
    let Some(first) = word.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || "._<*".contains(first))
        || word.contains("://")
        || word.contains("::")
        || word.contains(['=', '"', '\'', '$', '{', '}'])
    {
        return false;
    }
    let extension = Path::new(word)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e));
    word.contains('/') || extension
}

/// Everything under `base` that `path` names, wildcards expanded.
fn resolve(base: &Path, path: &str) -> Vec<PathBuf> {
    let want_dir = path.ends_with('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut out = Vec::new();
    walk(base, &segments, want_dir, &mut out);
    out
}

fn walk(at: &Path, segments: &[&str], want_dir: bool, out: &mut Vec<PathBuf>) {
    let Some((segment, rest)) = segments.split_first() else {
        if at.exists() && (!want_dir || at.is_dir()) {
            out.push(at.to_path_buf());
        }
        return;
    };
    let last = rest.is_empty();
    if *segment == "**" {
        walk(at, rest, want_dir, out);
        for dir in entries(at).into_iter().filter(|e| e.is_dir()) {
            walk(&dir, segments, want_dir, out);
        }
    } else if segment.contains(['<', '*']) {
        for entry in entries(at) {
            let name = entry
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stored = name.strip_suffix(".liquid").filter(|_| last);
            if glob(segment, name) || stored.is_some_and(|n| glob(segment, n)) {
                walk(&entry, rest, want_dir, out);
            }
        }
    } else {
        let next = at.join(segment);
        let liquid = at.join(format!("{segment}.liquid"));
        if last && !want_dir && !next.exists() && liquid.is_file() {
            out.push(liquid);
        } else {
            walk(&next, rest, want_dir, out);
        }
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !SKIPPED_DIRS.contains(&name)
        })
        .collect()
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and `<...>` any
/// non-empty one.
fn glob(pattern: &str, name: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix('*') {
        return (0..=name.len()).any(|i| name.is_char_boundary(i) && glob(rest, &name[i..]));
    }
    if pattern.starts_with('<') {
        let Some(end) = pattern.find('>') else {
            return false;
        };
        let rest = &pattern[end + 1..];
        return (1..=name.len()).any(|i| name.is_char_boundary(i) && glob(rest, &name[i..]));
    }
    match (pattern.chars().next(), name.chars().next()) {
        (None, None) => true,
        (Some(p), Some(n)) if p == n => glob(&pattern[p.len_utf8()..], &name[n.len_utf8()..]),
        _ => false,
    }
}
