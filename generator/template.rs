//! The embedded template and how it becomes a project's files, in memory.
//!
//! The file choice comes only from `template/cargo-generate.toml`, which cargo-generate reads
//! too; this module implements the subset of its semantics that the template uses (see the
//! rules at the top of that file) and refuses anything outside it, so the two tools cannot
//! drift apart silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use std::sync::LazyLock;

use include_dir::{Dir, DirEntry, File, include_dir};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The template tree embedded at build time: the installed binary needs no files on disk.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/template");

/// Names a folder to render from instead of the embedded template. For the tests that render
/// a changed template (a strategy copied under a new key, an older template for an update);
/// not a user option, so no flag shows it.
pub const TEMPLATE_VAR: &str = "GENAI_SCAFFOLD_TEMPLATE";

/// The template tree: the embedded one, or the folder `GENAI_SCAFFOLD_TEMPLATE` names, read
/// once. A folder that cannot be read ends the process with the reason: nothing could be
/// rendered from it.
pub static TEMPLATE: LazyLock<Dir<'static>> =
    LazyLock::new(|| match std::env::var_os(TEMPLATE_VAR) {
        None => EMBEDDED.clone(),
        Some(folder) => read_folder(Path::new(&folder)).unwrap_or_else(|e| {
            eprintln!(
                "error: {TEMPLATE_VAR}={}: cannot read the template there: {e}",
                Path::new(&folder).display()
            );
            std::process::exit(2)
        }),
    });

/// A template folder as include_dir would embed it: paths relative to the folder, in name
/// order. The tree lives as long as the process (it is read once, as the embedded one is).
fn read_folder(root: &Path) -> std::io::Result<Dir<'static>> {
    fn leak(text: String) -> &'static str {
        Box::leak(text.into_boxed_str())
    }
    fn walk(root: &Path, dir: &Path) -> std::io::Result<Vec<DirEntry<'static>>> {
        let mut items = std::fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
        items.sort_by_key(|item| item.file_name());
        let mut entries = Vec::new();
        for item in items {
            let path = item.path();
            let relative = leak(slash_path(path.strip_prefix(root).unwrap_or(&path)));
            if item.file_type()?.is_dir() {
                let children: &'static [DirEntry<'static>] =
                    Box::leak(walk(root, &path)?.into_boxed_slice());
                entries.push(DirEntry::Dir(Dir::new(relative, children)));
            } else {
                let contents: &'static [u8] = Box::leak(std::fs::read(&path)?.into_boxed_slice());
                entries.push(DirEntry::File(File::new(relative, contents)));
            }
        }
        Ok(entries)
    }
    let entries: &'static [DirEntry<'static>] = Box::leak(walk(root, root)?.into_boxed_slice());
    Ok(Dir::new("", entries))
}

/// The name of the declaration file, as cargo-generate knows it. It is not copied.
pub const CONFIG_FILE: &str = "cargo-generate.toml";

/// cargo-generate's suffix for files it should render and then rename.
const LIQUID_SUFFIX: &str = ".liquid";

/// Placeholders cargo-generate defines itself, which templates may use.
pub const BUILTIN_VARIABLES: [&str; 2] = ["project-name", "crate_name"];

/// `template/cargo-generate.toml`, the parts of it we use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// `[template]`.
    pub template: TemplateSection,
    /// `[placeholders.<name>]`, the answers the template needs.
    pub placeholders: BTreeMap<String, Placeholder>,
    /// `[conditional.'<expr>']`, files to leave out when the expression holds.
    #[serde(default)]
    pub conditional: BTreeMap<String, Conditional>,
}

/// `[template]` of cargo-generate.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    /// The cargo-generate versions the template is written for.
    pub cargo_generate_version: String,
    /// Files copied byte for byte, not rendered.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// One `[placeholders.<name>]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placeholder {
    /// `bool` or `string`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The question cargo-generate asks.
    pub prompt: String,
    /// Allowed values, for choice placeholders.
    pub choices: Option<Vec<String>>,
    /// The value cargo-generate takes in `--silent` mode.
    pub default: toml::Value,
    /// A pattern cargo-generate checks string answers against.
    pub regex: Option<String>,
}

/// One `[conditional.'<expr>']` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditional {
    /// Paths (files or folders) removed from the project when the expression holds.
    pub ignore: Vec<String>,
}

/// One file of a generated project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Path relative to the project root.
    pub path: PathBuf,
    /// Exact bytes to write.
    pub contents: Vec<u8>,
    /// Whether to mark it executable (template files that start with `#!/`).
    pub executable: bool,
}

/// A condition of the subset we support: `name`, `!name`, `name == "v"`, `name != "v"`.
#[derive(Debug, PartialEq, Eq)]
enum Condition {
    Truthy {
        name: String,
        negated: bool,
    },
    Compare {
        name: String,
        value: String,
        equal: bool,
    },
}

impl Condition {
    fn parse(expr: &str) -> Result<Condition> {
        let expr = expr.trim();
        let is_name = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        for (op, equal) in [("==", true), ("!=", false)] {
            if let Some((lhs, rhs)) = expr.split_once(op) {
                let (name, rhs) = (lhs.trim(), rhs.trim());
                let value = rhs
                    .strip_prefix('"')
                    .and_then(|r| r.strip_suffix('"'))
                    .filter(|v| !v.contains('"'));
                if let (true, Some(value)) = (is_name(name), value) {
                    return Ok(Condition::Compare {
                        name: name.to_string(),
                        value: value.to_string(),
                        equal,
                    });
                }
            }
        }
        let (negated, name) = match expr.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, expr),
        };
        if is_name(name) {
            return Ok(Condition::Truthy {
                name: name.to_string(),
                negated,
            });
        }
        Err(Error::Template(format!(
            "conditional '{expr}' is outside the supported forms (name, !name, name == \"v\", name != \"v\")"
        )))
    }

    fn holds(&self, vars: &BTreeMap<String, serde_json::Value>) -> Result<bool> {
        let lookup = |name: &str| {
            vars.get(name).ok_or_else(|| {
                Error::Template(format!(
                    "conditional names '{name}', which is not a placeholder"
                ))
            })
        };
        match self {
            Condition::Truthy { name, negated } => match lookup(name)? {
                serde_json::Value::Bool(b) => Ok(*b != *negated),
                _ => Err(Error::Template(format!(
                    "conditional tests '{name}', which is not a bool"
                ))),
            },
            Condition::Compare { name, value, equal } => match lookup(name)? {
                serde_json::Value::String(s) => Ok((s == value) == *equal),
                _ => Err(Error::Template(format!(
                    "conditional compares '{name}', which is not a string"
                ))),
            },
        }
    }
}

impl TemplateConfig {
    /// Parses the embedded `cargo-generate.toml`.
    pub fn embedded() -> Result<TemplateConfig> {
        let file = TEMPLATE
            .get_file(CONFIG_FILE)
            .ok_or_else(|| Error::Template(format!("{CONFIG_FILE} is missing")))?;
        let text = file
            .contents_utf8()
            .ok_or_else(|| Error::Template(format!("{CONFIG_FILE} is not UTF-8")))?;
        TemplateConfig::parse(text)
    }

    /// Parses a `cargo-generate.toml` and checks it stays within the supported subset.
    pub fn parse(text: &str) -> Result<TemplateConfig> {
        let config: TemplateConfig = toml::from_str(text)
            .map_err(|e| Error::Template(format!("{CONFIG_FILE}: {}", e.message())))?;
        for pattern in &config.template.exclude {
            literal_path(pattern, "exclude")?;
            if !pattern.trim_matches('/').contains('/') {
                return Err(Error::Template(format!(
                    "exclude entry '{pattern}' has no '/' inside it: cargo-generate would match it \
                     at any depth (gitignore rules); write the full path from the template root"
                )));
            }
        }
        for (expr, cond) in &config.conditional {
            Condition::parse(expr)?;
            for path in &cond.ignore {
                literal_path(path, "ignore")?;
            }
        }
        Ok(config)
    }

    /// The names a template file may use: placeholders and cargo-generate's built-ins.
    pub fn variable_names(&self) -> BTreeSet<String> {
        self.placeholders
            .keys()
            .cloned()
            .chain(BUILTIN_VARIABLES.iter().map(|s| s.to_string()))
            .collect()
    }

    /// Whether a template path is copied verbatim.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.template
            .exclude
            .iter()
            .any(|p| under(path, p.trim_start_matches('/').trim_end_matches('/')))
    }

    /// The paths the variables leave out of the project.
    fn ignored(&self, vars: &BTreeMap<String, serde_json::Value>) -> Result<Vec<String>> {
        let mut ignored = Vec::new();
        for (expr, cond) in &self.conditional {
            if Condition::parse(expr)?.holds(vars)? {
                ignored.extend(
                    cond.ignore
                        .iter()
                        .map(|p| p.trim_end_matches('/').to_string()),
                );
            }
        }
        Ok(ignored)
    }
}

/// Refuses glob characters: both tools must read the entry as the same literal path.
fn literal_path(path: &str, what: &str) -> Result<()> {
    if path.is_empty() || path.contains(['*', '?', '[', ']', '!', '\\']) || path.contains("..") {
        return Err(Error::Template(format!(
            "{what} entry '{path}' must be a plain relative path (no globs, no '..')"
        )));
    }
    Ok(())
}

/// Whether `path` is `prefix` or lies inside the folder `prefix`.
fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file of the embedded template with its path relative to the template root
/// (`/`-separated), in a stable order.
pub fn template_files() -> Vec<(String, &'static include_dir::File<'static>)> {
    fn walk(
        dir: &'static Dir<'static>,
        out: &mut Vec<(String, &'static include_dir::File<'static>)>,
    ) {
        for file in dir.files() {
            out.push((slash_path(file.path()), file));
        }
        for sub in dir.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&TEMPLATE, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Renders the project for `vars` entirely in memory: selects files by the conditionals,
/// renders the non-excluded ones, strips `.liquid` suffixes. Nothing touches the disk.
pub fn render(
    config: &TemplateConfig,
    vars: &BTreeMap<String, serde_json::Value>,
) -> Result<Vec<RenderedFile>> {
    let expected = config.variable_names();
    let given: BTreeSet<String> = vars.keys().cloned().collect();
    if expected != given {
        return Err(Error::Template(format!(
            "the generator gives variables {given:?} but the template declares {expected:?}"
        )));
    }
    let ignored = config.ignored(vars)?;
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);

    let mut files = Vec::new();
    for (path, file) in template_files() {
        if path == CONFIG_FILE || ignored.iter().any(|i| under(&path, i)) {
            continue;
        }
        let out_path = path
            .strip_suffix(LIQUID_SUFFIX)
            .unwrap_or(&path)
            .to_string();
        // A file without `{{` renders to itself: skip the parser (the lock file alone is
        // most of the template's bytes).
        let contents = if config.is_excluded(&path) || !contains(file.contents(), b"{{") {
            file.contents().to_vec()
        } else {
            let text = file.contents_utf8().ok_or_else(|| {
                Error::Template(format!(
                    "{path} is not UTF-8; list it in [template] exclude"
                ))
            })?;
            hb.render_template(text, vars)
                .map_err(|e| Error::Template(format!("{path}: {e}")))?
                .into_bytes()
        };
        files.push(RenderedFile {
            executable: contents.starts_with(b"#!/"),
            path: PathBuf::from(out_path),
            contents,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TemplateConfig {
        TemplateConfig::embedded().expect("the embedded cargo-generate.toml parses")
    }

    /// The rule that keeps handlebars and Liquid in step: in a rendered file every `{{` opens
    /// `{{ name }}` with a declared name, and nothing else looks like template syntax.
    #[test]
    fn rendered_files_hold_only_declared_scalar_placeholders() {
        let config = config();
        let names = config.variable_names();
        let placeholder = regex::Regex::new(r"^\{\{ ([A-Za-z0-9_-]+) \}\}").unwrap();
        let mut problems = Vec::new();
        for (path, file) in template_files() {
            if path == CONFIG_FILE || config.is_excluded(&path) {
                continue;
            }
            let Some(text) = file.contents_utf8() else {
                problems.push(format!("{path}: not UTF-8 and not excluded"));
                continue;
            };
            for (at, _) in text.match_indices("{{") {
                match placeholder.captures(&text[at..]) {
                    Some(c) if names.contains(&c[1]) => {}
                    Some(c) => problems.push(format!("{path}: unknown placeholder '{}'", &c[1])),
                    None => problems.push(format!(
                        "{path}: '{{{{' that is not `{{{{ name }}}}`: {:?} (exclude the file)",
                        &text[at..text.len().min(at + 30)]
                    )),
                }
            }
            for marker in ["{%", "}}}", "\\{{"] {
                if text.contains(marker) {
                    problems.push(format!("{path}: holds '{marker}' (exclude the file)"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn scripts_are_executable_exactly_when_they_start_with_a_shebang() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::current_dir().unwrap().join("template");
        for (path, file) in template_files() {
            let mode = std::fs::metadata(root.join(&path))
                .unwrap()
                .permissions()
                .mode();
            let executable = mode & 0o111 != 0;
            assert_eq!(
                executable,
                file.contents().starts_with(b"#!/"),
                "{path}: the executable bit and a leading #!/ must agree (the generator derives one from the other)"
            );
        }
    }

    #[test]
    fn conditions_of_the_supported_subset_parse_and_others_are_refused() {
        assert_eq!(
            Condition::parse("!websocket").unwrap(),
            Condition::Truthy {
                name: "websocket".into(),
                negated: true
            }
        );
        assert_eq!(
            Condition::parse(r#"iac != "cdk""#).unwrap(),
            Condition::Compare {
                name: "iac".into(),
                value: "cdk".into(),
                equal: false
            }
        );
        for bad in ["websocket && sse", "a || b", "x == y", "", "!"] {
            assert!(Condition::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_declaration_refuses_globs_and_unanchored_excludes() {
        let base = "[template]\ncargo_generate_version = \">=0.26.0\"\n";
        assert!(
            TemplateConfig::parse(&format!(
                "{base}exclude = [\"client/**\"]\n[placeholders]\n"
            ))
            .is_err()
        );
        assert!(
            TemplateConfig::parse(&format!("{base}exclude = [\"App.tsx\"]\n[placeholders]\n"))
                .is_err()
        );
        assert!(
            TemplateConfig::parse(&format!(
                "{base}exclude = [\"client/web/src\"]\n[placeholders]\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn excluded_paths_match_the_entry_and_what_is_below_it() {
        assert!(under("client/web/src/App.tsx", "client/web/src"));
        assert!(under("client/web/src", "client/web/src"));
        assert!(!under("client/web/srcx/App.tsx", "client/web/src"));
    }
}

#[cfg(test)]
mod declaration_tests {
    use super::*;
    use crate::answers::{Arch, Iac, PartialAnswers};
    use crate::catalog;

    /// cargo-generate's `--silent` defaults must give the same project as `genai-scaffold
    /// new --yes`, and its choices must be the generator's.
    #[test]
    fn placeholder_defaults_and_choices_match_the_generator() {
        let config = TemplateConfig::embedded().unwrap();
        let defaults = PartialAnswers {
            name: Some("x".into()),
            ..PartialAnswers::defaults()
        }
        .resolve(catalog::REVIEWED)
        .unwrap();
        let vars = defaults.variables();
        for (name, placeholder) in &config.placeholders {
            let default = serde_json::to_value(&placeholder.default).unwrap();
            assert_eq!(vars[name], default, "default of placeholder '{name}'");
        }
        let choices = |name: &str| config.placeholders[name].choices.clone().unwrap();
        assert_eq!(choices("iac"), Iac::ALL.map(|i| i.key().to_string()));
        assert_eq!(choices("arch"), Arch::ALL.map(|a| a.key().to_string()));
    }
}
