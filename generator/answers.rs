//! The answers a project is generated from: where they come from (answers file, flags,
//! prompts, defaults), how each is checked, and the template variables they become.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::error::{Error, Result};

pub use crate::strategy::Strategy;

/// Infrastructure-as-code flavor of the generated project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Iac {
    /// AWS CDK in TypeScript (`infra/cdk`).
    Cdk,
    /// AWS SAM templates (`infra/sam`).
    Sam,
}

impl Iac {
    /// Every flavor, default first.
    pub const ALL: [Iac; 2] = [Iac::Cdk, Iac::Sam];

    /// The name used in flags, answers files and template placeholders.
    pub fn key(self) -> &'static str {
        match self {
            Iac::Cdk => "cdk",
            Iac::Sam => "sam",
        }
    }

    /// A one-line description for prompts and `list`.
    pub fn describe(self) -> &'static str {
        match self {
            Iac::Cdk => "AWS CDK in TypeScript",
            Iac::Sam => "AWS SAM templates",
        }
    }
}

/// CPU architecture of the Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum Arch {
    /// Graviton: cheaper per millisecond; the default.
    #[value(name = "arm64")]
    #[serde(rename = "arm64")]
    Arm64,
    /// Intel/AMD.
    #[value(name = "x86_64")]
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Arch {
    /// Every architecture, default first.
    pub const ALL: [Arch; 2] = [Arch::Arm64, Arch::X86_64];

    /// A one-line description for prompts and `list`.
    pub fn describe(self) -> &'static str {
        match self {
            Arch::Arm64 => "Graviton, cheaper per millisecond",
            Arch::X86_64 => "Intel or AMD",
        }
    }

    /// The name Lambda and the template use.
    pub fn key(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }
}

/// A validated project name: kebab-case, usable as a folder, a Cargo package prefix and an
/// AWS resource name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

/// Lambda's limit on a function name (Lambda API reference, CreateFunction, FunctionName).
pub const FUNCTION_NAME_LIMIT: usize = 64;

/// The stage a project deploys when none is named: the generated Makefile's `STAGE ?= dev`
/// (a unit test keeps the two in step). Functions are named `<project>-<stage>-<function>`.
pub const DEFAULT_STAGE: &str = "dev";

/// Names cargo refuses for packages, and names that would shadow a crate every project uses.
const RESERVED_NAMES: &[&str] = &[
    "test",
    "core",
    "std",
    "alloc",
    "proc-macro",
    "self",
    "super",
    "crate",
    "build",
    "deps",
    "examples",
    "incremental",
    "genai",
];

impl ProjectName {
    /// Checks a name like cargo-generate does, but refuses instead of silently converting:
    /// lowercase letters, digits and single dashes, starting with a letter, at most 40
    /// characters (the name prefixes AWS resources whose names are capped at 64).
    /// [`ProjectName::check_functions`] then checks it against the chosen strategies.
    pub fn parse(name: &str) -> Result<Self> {
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let well_formed = valid_chars
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && !name.contains("--");
        if name.is_empty() {
            return Err(Error::usage(
                "the project name is empty. Give one, e.g. `genai-scaffold new my-genai-app`.",
            ));
        }
        if !well_formed {
            return Err(Error::usage(format!(
                "'{name}' is not a valid project name: use kebab-case (lowercase letters, digits \
                 and single dashes, starting with a letter), e.g. '{}'.",
                suggest_kebab(name)
            )));
        }
        if name.len() > 40 {
            return Err(Error::usage(format!(
                "the project name '{name}' is {} characters long; use at most 40, because it \
                 prefixes AWS resource names.",
                name.len()
            )));
        }
        let service = crate::strategy::table()?.iter().any(|s| s.service == name);
        if RESERVED_NAMES.contains(&name) || service {
            return Err(Error::usage(format!(
                "'{name}' is reserved (by Cargo or by a crate every project has); choose another \
                 name, e.g. '{name}-app'."
            )));
        }
        Ok(ProjectName(name.to_string()))
    }

    /// Checks that every Lambda function `strategies` deploy, named
    /// `<project>-<stage>-<function>`, fits Lambda's limit on the default stage; else says how
    /// long a name these strategies leave room for. A name can pass [`ProjectName::parse`] and
    /// still be too long for a strategy with a long function name (a worker's).
    pub fn check_functions(&self, strategies: &[Strategy]) -> Result<()> {
        let Some(longest) = strategies
            .iter()
            .flat_map(|s| s.functions())
            .max_by_key(|f| f.len())
        else {
            return Ok(());
        };
        let function = format!("{}-{DEFAULT_STAGE}-{longest}", self.0);
        if function.len() <= FUNCTION_NAME_LIMIT {
            return Ok(());
        }
        let allowed = FUNCTION_NAME_LIMIT.saturating_sub(function.len() - self.0.len());
        if allowed == 0 {
            return Err(Error::Template(format!(
                "the function name `{longest}` leaves no room for a project name in Lambda's \
                 {FUNCTION_NAME_LIMIT} characters"
            )));
        }
        Err(Error::usage(format!(
            "the project name '{}' is too long for the strategies {}: the Lambda function \
             `{function}` (stage {DEFAULT_STAGE}) would be {} characters, over Lambda's \
             {FUNCTION_NAME_LIMIT} for a function name: use a name of at most {allowed} \
             characters with these strategies.",
            self.0,
            crate::strategy::keys(strategies),
            function.len()
        )))
    }

    /// The kebab-case name (`my-genai-app`), cargo-generate's `project-name`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The snake_case name (`my_genai_app`), cargo-generate's `crate_name`.
    pub fn crate_name(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A best-effort kebab-case spelling of a bad name, for the error message.
fn suggest_kebab(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('-');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    let trimmed = out
        .trim_matches('-')
        .trim_start_matches(|c: char| c.is_ascii_digit());
    let trimmed = trimmed.trim_start_matches('-');
    if trimmed.is_empty() {
        "my-genai-app".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The model a project invokes: a catalog entry, or an id/ARN the user vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// A model from [`catalog::MODELS`], by key.
    Catalog(&'static str),
    /// A custom model id or ARN that passed [`catalog::validate_custom_model`].
    Custom(String),
}

impl ModelChoice {
    /// Parses `--model`: a catalog key, else a custom id or ARN; refuses retired models.
    pub fn parse(value: &str, today: &str) -> Result<Self> {
        if let Some(model) = catalog::find(value) {
            if model.is_retired(today) {
                return Err(Error::usage(format!(
                    "model '{}' reached its end of life on {}; Bedrock no longer serves it. \
                     Choose another from `genai-scaffold list`.",
                    model.key,
                    model.end_of_life.unwrap_or_default()
                )));
            }
            return Ok(ModelChoice::Catalog(model.key));
        }
        catalog::validate_custom_model(value)?;
        Ok(ModelChoice::Custom(value.to_string()))
    }

    /// What the user chose, as recorded: the catalog key or the custom id.
    pub fn as_str(&self) -> &str {
        match self {
            ModelChoice::Catalog(key) => key,
            ModelChoice::Custom(id) => id,
        }
    }

    /// The id the services invoke from `region`.
    pub fn invocation_id(&self, region: &str) -> Result<String> {
        match self {
            ModelChoice::Catalog(key) => catalog::find(key)
                .expect("catalog keys are checked on parse")
                .invocation_id(region),
            ModelChoice::Custom(id) => Ok(id.clone()),
        }
    }

    /// The regions a request from `region` may be served in, comma separated, for the IAM
    /// grant on the foundation model. A custom id gets `region` alone: the README says to add
    /// the destination regions of a custom cross-Region profile.
    pub fn destination_regions(&self, region: &str) -> String {
        match self {
            ModelChoice::Catalog(key) => catalog::find(key)
                .expect("catalog keys are checked on parse")
                .destination_regions(region)
                .join(","),
            ModelChoice::Custom(_) => region.to_string(),
        }
    }
}

/// The complete, checked answers for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// Project name.
    pub name: ProjectName,
    /// Chosen strategies, non-empty, sorted, without duplicates.
    pub strategies: Vec<Strategy>,
    /// IaC flavor.
    pub iac: Iac,
    /// Model choice.
    pub model: ModelChoice,
    /// The id to invoke, derived from model and region.
    pub model_id: String,
    /// AWS region.
    pub region: String,
    /// Lambda architecture.
    pub arch: Arch,
}

impl Answers {
    /// The template variables these answers give: every `[placeholders]` entry of
    /// `template/cargo-generate.toml` plus cargo-generate's built-ins `project-name` and
    /// `crate_name`. Values are strings or booleans, as cargo-generate holds them.
    pub fn variables(&self) -> BTreeMap<String, serde_json::Value> {
        let mut vars = BTreeMap::new();
        let mut set = |k: &str, v: serde_json::Value| {
            vars.insert(k.to_string(), v);
        };
        set("project-name", self.name.as_str().into());
        set("crate_name", self.name.crate_name().into());
        for s in Strategy::all().unwrap_or_default() {
            set(&s.placeholder(), self.strategies.contains(&s).into());
        }
        set("iac", self.iac.key().into());
        set("region", self.region.clone().into());
        set("model", self.model.as_str().into());
        set("model_id", self.model_id.clone().into());
        set(
            "model_regions",
            self.model.destination_regions(&self.region).into(),
        );
        set("arch", self.arch.key().into());
        vars
    }

    /// The `--define` arguments that make `cargo generate` write the same project.
    pub fn cargo_generate_defines(&self) -> Vec<String> {
        self.variables()
            .into_iter()
            .filter(|(k, _)| k != "project-name" && k != "crate_name")
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect()
    }
}

/// Answers that may still be missing: what an answers file, flags and prompts fill in, in
/// that order of precedence (a later source overrides an earlier one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialAnswers {
    /// Project name.
    pub name: Option<String>,
    /// Strategies.
    pub strategies: Option<Vec<Strategy>>,
    /// IaC flavor.
    pub iac: Option<Iac>,
    /// Model key or custom id.
    pub model: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Architecture.
    pub arch: Option<Arch>,
}

impl PartialAnswers {
    /// Fills every answer this one lacks from `other`; answers already present stay.
    pub fn or(self, other: PartialAnswers) -> PartialAnswers {
        PartialAnswers {
            name: self.name.or(other.name),
            strategies: self.strategies.or(other.strategies),
            iac: self.iac.or(other.iac),
            model: self.model.or(other.model),
            region: self.region.or(other.region),
            arch: self.arch.or(other.arch),
        }
    }

    /// The flags that would give the answers still missing, for the headless error message.
    pub fn missing_flags(&self) -> Vec<&str> {
        let mut missing = Vec::new();
        if self.name.is_none() {
            missing.push("<PATH> (the project folder, e.g. my-genai-app)");
        }
        if self.strategies.is_none() {
            missing.push(STRATEGIES_FLAG.as_str());
        }
        if self.model.is_none() {
            missing.push("--model <key from `genai-scaffold list`>");
        }
        if self.iac.is_none() {
            missing.push("--iac cdk|sam");
        }
        if self.region.is_none() {
            missing.push("--region <aws region>");
        }
        if self.arch.is_none() {
            missing.push("--arch arm64|x86_64");
        }
        missing
    }

    /// The defaults `--yes` takes for everything but the name.
    pub fn defaults() -> PartialAnswers {
        PartialAnswers {
            name: None,
            strategies: Some(Strategy::all().unwrap_or_default()),
            iac: Some(Iac::Cdk),
            model: Some(catalog::DEFAULT_MODEL.to_string()),
            region: Some(catalog::DEFAULT_REGION.to_string()),
            arch: Some(Arch::Arm64),
        }
    }

    /// Checks every answer and derives the model id. Fails on the first bad or missing one.
    pub fn resolve(self, today: &str) -> Result<Answers> {
        let missing = self.missing_flags();
        if !missing.is_empty() {
            return Err(Error::usage(format!(
                "missing answers: {}",
                missing.join(", ")
            )));
        }
        let name = ProjectName::parse(self.name.as_deref().unwrap_or_default())?;
        let mut strategies = self.strategies.unwrap_or_default();
        strategies.sort();
        strategies.dedup();
        if strategies.is_empty() {
            return Err(Error::usage(format!(
                "choose at least one strategy: {} (any of them).",
                STRATEGIES_FLAG.as_str()
            )));
        }
        let region = self.region.unwrap_or_default();
        catalog::validate_region(&region)?;
        let model = ModelChoice::parse(self.model.as_deref().unwrap_or_default(), today)?;
        let model_id = model.invocation_id(&region)?;
        Ok(Answers {
            name,
            strategies,
            iac: self.iac.unwrap_or(Iac::Cdk),
            model,
            model_id,
            region,
            arch: self.arch.unwrap_or(Arch::Arm64),
        })
    }
}

/// The TOML form of answers: `--answers FILE`, the files in `examples/`, and the
/// `.genai-scaffold.toml` a generated project records (whose extra keys are accepted and
/// ignored, so a project's record can seed a sibling project).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswersFile {
    name: Option<String>,
    strategies: Option<StrategiesTable>,
    iac: Option<Iac>,
    model: Option<String>,
    region: Option<String>,
    arch: Option<Arch>,
    /// Written by the generator into `.genai-scaffold.toml`; derived, so ignored on input.
    #[serde(default, rename = "model_id")]
    _model_id: Option<String>,
    /// Written by the generator into `.genai-scaffold.toml`; derived, so ignored on input.
    #[serde(default, rename = "model_regions")]
    _model_regions: Option<String>,
    /// Written by the generator into `.genai-scaffold.toml`; not an answer.
    #[serde(default, rename = "generator")]
    _generator: Option<toml::Table>,
}

/// `[strategies]`: each strategy on or off, by key; a strategy not named is off.
type StrategiesTable = BTreeMap<String, bool>;

/// `--strategies` with every strategy, for messages.
static STRATEGIES_FLAG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "--strategies {}",
        crate::strategy::keys(&Strategy::all().unwrap_or_default())
    )
});

/// Parses an answers file's text. `origin` names it in error messages.
pub fn parse_answers(text: &str, origin: &str) -> Result<PartialAnswers> {
    let file: AnswersFile = toml::from_str(text).map_err(|e| {
        Error::usage(format!(
            "{origin} is not a valid answers file: {}\n\
             An answers file looks like examples/workshop.toml: name, [strategies] {} \
             = true|false, iac = \"cdk\"|\"sam\", model, region, arch = \"arm64\"|\"x86_64\".",
            e.message().trim(),
            crate::strategy::keys(&Strategy::all().unwrap_or_default()).replace(',', "/")
        ))
    })?;
    let strategies = match file.strategies {
        None => None,
        Some(table) => {
            let mut chosen = Vec::new();
            for (key, on) in table {
                let strategy = Strategy::from_key(&key).ok_or_else(|| {
                    Error::usage(format!(
                        "{origin}: [strategies] names '{key}', which is not a strategy. The \
                         strategies are {} (`genai-scaffold list`).",
                        crate::strategy::keys(&Strategy::all().unwrap_or_default())
                    ))
                })?;
                if on {
                    chosen.push(strategy);
                }
            }
            chosen.sort();
            Some(chosen)
        }
    };
    Ok(PartialAnswers {
        name: file.name,
        strategies,
        iac: file.iac,
        model: file.model,
        region: file.region,
        arch: file.arch,
    })
}

/// Reads and parses an answers file.
pub fn load_answers(path: &Path) -> Result<PartialAnswers> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(format!(
            "cannot read answers file {}: {e}. Pass the path of a TOML file, e.g. \
             --answers examples/workshop.toml.",
            path.display()
        ))
    })?;
    parse_answers(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cargo_generate_conventions() {
        let name = ProjectName::parse("my-genai-app").unwrap();
        assert_eq!(name.crate_name(), "my_genai_app");
        for bad in [
            "",
            "My App",
            "my_app",
            "1app",
            "-app",
            "app-",
            "a--b",
            "test",
            "realtime-ws",
        ] {
            let err = ProjectName::parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        let err = ProjectName::parse("MyGenaiApp").unwrap_err().to_string();
        assert!(err.contains("'my-genai-app'"), "{err}");
        assert!(ProjectName::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn a_name_leaves_room_for_the_longest_function_its_strategies_deploy() {
        let all = Strategy::all().unwrap();
        for strategies in all.iter().map(|s| vec![*s]).chain([all.clone()]) {
            let longest = strategies
                .iter()
                .flat_map(|s| s.functions())
                .map(String::len)
                .max()
                .unwrap();
            // `<name>-dev-<function>`: the name gets what the rest leaves of 64.
            let room = FUNCTION_NAME_LIMIT - DEFAULT_STAGE.len() - 2 - longest;
            let fits = ProjectName::parse(&"a".repeat(room.min(40))).unwrap();
            assert!(fits.check_functions(&strategies).is_ok(), "{strategies:?}");
            if room < 40 {
                let over = ProjectName::parse(&"a".repeat(room + 1)).unwrap();
                let err = over.check_functions(&strategies).unwrap_err();
                assert_eq!(err.exit_code(), 2);
                let message = err.to_string();
                assert!(
                    message.contains(&format!("use a name of at most {room} characters")),
                    "{message}"
                );
                assert!(
                    message.contains(&format!("is {} characters", room + 1))
                        || message
                            .contains(&format!("would be {} characters", FUNCTION_NAME_LIMIT + 1)),
                    "{message}"
                );
            }
        }
    }

    /// Functions are checked on the stage a deploy takes when none is named.
    #[test]
    fn the_default_stage_is_the_generated_makefiles() {
        let makefile = crate::template::TEMPLATE
            .get_file("Makefile")
            .and_then(|f| f.contents_utf8())
            .unwrap();
        assert!(
            makefile.contains(&format!("\nSTAGE ?= {DEFAULT_STAGE}\n")),
            "template/Makefile's default STAGE is not {DEFAULT_STAGE}"
        );
    }

    #[test]
    fn answers_files_give_any_subset_and_reject_unknown_keys() {
        let partial = parse_answers("iac = \"sam\"\n[strategies]\nsse = true\n", "x").unwrap();
        assert_eq!(partial.iac, Some(Iac::Sam));
        assert_eq!(
            partial.strategies,
            Some(vec![Strategy::from_key("sse").unwrap()])
        );
        assert_eq!(partial.model, None);
        let err = parse_answers("iac = \"pulumi\"", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.toml"), "{err}");
        assert!(parse_answers("colour = \"blue\"", "x").is_err());
        assert!(parse_answers("[strategies]\ngrpc = true", "x").is_err());
    }

    #[test]
    fn later_sources_only_fill_what_is_missing() {
        let flags = PartialAnswers {
            iac: Some(Iac::Sam),
            ..Default::default()
        };
        let file = PartialAnswers {
            iac: Some(Iac::Cdk),
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        let merged = flags.or(file);
        assert_eq!(merged.iac, Some(Iac::Sam));
        assert_eq!(merged.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn resolving_derives_the_profile_id_from_model_and_region() {
        let answers = PartialAnswers {
            name: Some("app".into()),
            model: Some("nova-lite".into()),
            region: Some("eu-central-1".into()),
            ..PartialAnswers::defaults()
        }
        .resolve(catalog::REVIEWED)
        .unwrap();
        assert_eq!(answers.model_id, "eu.amazon.nova-lite-v1:0");
        let vars = answers.variables();
        assert_eq!(vars["websocket"], serde_json::Value::Bool(true));
        assert_eq!(vars["crate_name"], "app");
    }

    #[test]
    fn an_empty_strategy_list_is_refused() {
        let err = PartialAnswers {
            name: Some("app".into()),
            strategies: Some(vec![]),
            ..PartialAnswers::defaults()
        }
        .resolve(catalog::REVIEWED)
        .unwrap_err();
        assert!(err.to_string().contains("at least one strategy"));
    }
}
