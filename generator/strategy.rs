//! The strategies a project can have, as the embedded template declares them.
//!
//! A strategy is a folder: `template/services/<service>/Cargo.toml.liquid` declares its key
//! (`[package.metadata.genai-scaffold] strategy`), its one-line description (the package's
//! `description`) and the Lambda functions it deploys (the service's own, named after its
//! folder, and the worker's `function` when `[package.metadata.genai-scaffold.worker]`
//! declares one), and `template/cargo-generate.toml` has the bool placeholder of
//! that key and the `[conditional.'!<placeholder>']` list of the files it owns (the
//! placeholder is the key with `-` written `_`: cargo-generate evaluates a condition as a Rhai
//! expression, where `!rest-stream` would be a subtraction). The generator names
//! no strategy: flags, prompts, the answers file, `list` and `add`/`remove` all read this
//! table, so a new strategy folder needs no change here.

use std::sync::LazyLock;

use include_dir::Dir;

use crate::error::{Error, Result};
use crate::template::TEMPLATE;

/// One strategy, as its service folder declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyInfo {
    /// The name in flags and answers files (`websocket`, `rest-stream`).
    pub key: String,
    /// Its service crate's folder under `services/` (`realtime-ws`).
    pub service: String,
    /// The service crate's description, for prompts and `list`.
    pub description: String,
    /// The Lambda functions it deploys, by name within a stage: the service's own (its
    /// folder's name), then its worker's, when it declares one (`realtime-ws-generate`).
    pub functions: Vec<String>,
}

impl StrategyInfo {
    /// Its bool placeholder: the key with `-` written `_`, since cargo-generate reads the
    /// `[conditional]` keys as Rhai expressions, whose names cannot hold a `-`.
    pub fn placeholder(&self) -> String {
        self.key.replace('-', "_")
    }
}

/// The table, read once from the embedded template, in the order of the service folders.
static TABLE: LazyLock<std::result::Result<Vec<StrategyInfo>, String>> =
    LazyLock::new(|| read_table(&TEMPLATE));

/// The same table as values, for clap.
static ALL: LazyLock<Vec<Strategy>> = LazyLock::new(|| {
    let count = TABLE.as_ref().map_or(0, Vec::len);
    (0..count).map(Strategy).collect()
});

/// Every strategy the template declares; an error if its declarations are inconsistent.
pub fn table() -> Result<&'static [StrategyInfo]> {
    TABLE
        .as_deref()
        .map_err(|message| Error::Template(message.clone()))
}

/// A strategy of the table: an index into it, so it is `Copy` and sorts in table order.
/// One exists only when the table loaded ([`table`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Strategy(usize);

impl Strategy {
    /// Every strategy, in table order.
    pub fn all() -> Result<Vec<Strategy>> {
        Ok((0..table()?.len()).map(Strategy).collect())
    }

    /// The strategy of a key (`websocket`), if the template declares one.
    pub fn from_key(key: &str) -> Option<Strategy> {
        let table = TABLE.as_ref().ok()?;
        table.iter().position(|s| s.key == key).map(Strategy)
    }

    fn info(self) -> &'static StrategyInfo {
        // A Strategy is only made from an index of the loaded table.
        &TABLE
            .as_ref()
            .expect("a Strategy exists only once the table loaded")[self.0]
    }

    /// The name used in flags and answers files (`rest-stream`).
    pub fn key(self) -> &'static str {
        &self.info().key
    }

    /// Its bool placeholder in `template/cargo-generate.toml` (`rest_stream`), whose
    /// negation, `[conditional.'!<placeholder>']`, lists the files it owns.
    pub fn placeholder(self) -> String {
        self.info().placeholder()
    }

    /// The service crate the strategy brings (its folder under `services/`).
    pub fn service(self) -> &'static str {
        &self.info().service
    }

    /// A one-line description for prompts and `list`.
    pub fn describe(self) -> &'static str {
        &self.info().description
    }

    /// The Lambda functions it deploys, by name within a stage (each deployed as
    /// `<project>-<stage>-<function>`).
    pub fn functions(self) -> &'static [String] {
        &self.info().functions
    }
}

impl clap::ValueEnum for Strategy {
    fn value_variants<'a>() -> &'a [Self] {
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.key()).help(self.describe()))
    }
}

/// The strategies' keys, comma separated (`websocket,sse,rest`), for messages.
pub fn keys(strategies: &[Strategy]) -> String {
    strategies
        .iter()
        .map(|s| s.key())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads every `services/*/Cargo.toml.liquid` of `template` that declares a strategy.
fn read_table(template: &Dir) -> std::result::Result<Vec<StrategyInfo>, String> {
    let services = template
        .get_dir("services")
        .ok_or("the template has no services/ folder")?;
    let mut table = Vec::new();
    for dir in services.dirs() {
        let service = dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let manifest_path = dir.path().join("Cargo.toml.liquid");
        let Some(manifest) = template.get_file(&manifest_path) else {
            continue;
        };
        let manifest: toml::Table = manifest
            .contents_utf8()
            .ok_or_else(|| format!("{} is not UTF-8", manifest_path.display()))?
            .parse()
            .map_err(|e: toml::de::Error| {
                format!("{}: {}", manifest_path.display(), e.message())
            })?;
        let package = manifest.get("package").and_then(|p| p.as_table());
        let declaration = package
            .and_then(|p| p.get("metadata"))
            .and_then(|m| m.get("genai-scaffold"));
        let Some(key) = declaration
            .and_then(|g| g.get("strategy"))
            .and_then(|s| s.as_str())
        else {
            continue;
        };
        let description = package
            .and_then(|p| p.get("description"))
            .and_then(|d| d.as_str())
            .ok_or_else(|| format!("{} declares no description", manifest_path.display()))?;
        let mut functions = vec![service.clone()];
        if let Some(worker) = declaration.and_then(|g| g.get("worker")) {
            let function = worker
                .get("function")
                .and_then(|f| f.as_str())
                .ok_or_else(|| {
                    format!(
                        "{}: [package.metadata.genai-scaffold.worker] declares no function",
                        manifest_path.display()
                    )
                })?;
            functions.push(function.to_string());
        }
        table.push(StrategyInfo {
            key: key.to_string(),
            service,
            description: description.to_string(),
            functions,
        });
    }
    table.sort_by(|a, b| a.service.cmp(&b.service));
    if table.is_empty() {
        return Err("no service under services/ declares a strategy".into());
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::TemplateConfig;
    use include_dir::{DirEntry, File};

    /// A template with one service folder, `services/svc`, whose manifest is `manifest`.
    fn one_service(manifest: &'static str) -> Dir<'static> {
        let file = Box::leak(Box::new([DirEntry::File(File::new(
            "services/svc/Cargo.toml.liquid",
            manifest.as_bytes(),
        ))]));
        let service = Box::leak(Box::new([DirEntry::Dir(Dir::new("services/svc", file))]));
        let services = Box::leak(Box::new([DirEntry::Dir(Dir::new("services", service))]));
        Dir::new("", services)
    }

    /// A strategy deploys its service's function, named after the folder, and its worker's.
    #[test]
    fn the_functions_are_the_service_and_its_declared_worker() {
        let plain = "[package]\ndescription = \"d\"\n\
                     [package.metadata.genai-scaffold]\nstrategy = \"k\"\n";
        assert_eq!(
            read_table(&one_service(plain)).unwrap()[0].functions,
            ["svc"]
        );
        let worker = "[package]\ndescription = \"d\"\n\
                      [package.metadata.genai-scaffold]\nstrategy = \"k\"\n\
                      [package.metadata.genai-scaffold.worker]\nfunction = \"svc-work\"\n";
        assert_eq!(
            read_table(&one_service(worker)).unwrap()[0].functions,
            ["svc", "svc-work"]
        );
        let unnamed = "[package]\ndescription = \"d\"\n\
                       [package.metadata.genai-scaffold]\nstrategy = \"k\"\n\
                       [package.metadata.genai-scaffold.worker]\nenv = \"X\"\n";
        let err = read_table(&one_service(unnamed)).unwrap_err();
        assert!(err.contains("declares no function"), "{err}");
    }

    /// Each strategy's declarations agree: its key is a bool placeholder whose negation leaves
    /// out its service folder, and every bool placeholder is a strategy.
    #[test]
    fn every_strategy_folder_is_a_placeholder_that_owns_its_files() {
        let config = TemplateConfig::embedded().unwrap();
        let table = table().unwrap();
        for s in table {
            let placeholder = &config.placeholders[&s.placeholder()];
            assert_eq!(placeholder.kind, "bool", "{}", s.key);
            let owned = &config.conditional[&format!("!{}", s.placeholder())].ignore;
            assert!(
                owned.contains(&format!("services/{}", s.service)),
                "{}: {owned:?}",
                s.key
            );
        }
        let bools: Vec<&String> = config
            .placeholders
            .iter()
            .filter(|(_, p)| p.kind == "bool")
            .map(|(k, _)| k)
            .collect();
        assert_eq!(bools.len(), table.len(), "{bools:?}");
        // Folders are read in name order; the original sample's three keep its order.
        let sample: Vec<&str> = Strategy::all()
            .unwrap()
            .into_iter()
            .map(Strategy::key)
            .filter(|k| ["websocket", "sse", "rest"].contains(k))
            .collect();
        assert_eq!(
            sample,
            ["websocket", "sse", "rest"],
            "the original sample's order"
        );
    }
}
