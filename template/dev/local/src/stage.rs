//! A deployed stage's functions, as `infra/twin.py` reads them from AWS for `make dev
//! STAGE=<stage>` (the stage twin): each function's name, environment, timeout, memory,
//! reserved concurrency and, where this machine can run it, deployed code, under the name the
//! code declares it by (a service's package name, or its worker's `function`); and the CDN's
//! cache behaviours with the headers each one's origin adds. The stack then runs each function
//! the way the stage deployed it and adds those headers as CloudFront would, so code and
//! deployment that disagree (a variable renamed, a worker's name, a timeout, an origin secret)
//! fail here as they would on AWS.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The stage, as `infra/twin.py` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Deployed {
    /// The stage's name, e.g. `dev`.
    pub stage: String,
    /// The region it is deployed in: each function's `AWS_REGION`, as Lambda sets it.
    pub region: String,
    /// Each function of the stage, by the name the code declares it by.
    pub functions: HashMap<String, DeployedFunction>,
    /// The CDN's cache behaviours in the order CloudFront matches them, the default (`*`)
    /// last; none when the stage has no CDN.
    #[serde(default)]
    pub behaviours: Vec<Behaviour>,
    /// Each REST service's deployed methods (`POST /generate`), by its package name.
    #[serde(default)]
    pub rest_methods: HashMap<String, Vec<String>>,
}

/// One cache behaviour of the stage's distribution.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Behaviour {
    /// Its path pattern, e.g. `/v1/*`.
    pub path_pattern: String,
    /// The custom headers its origin adds to every request CloudFront forwards to it.
    #[serde(default)]
    pub origin_headers: BTreeMap<String, String>,
}

/// One function as the stage deployed it (Lambda's `GetFunctionConfiguration` and
/// `GetFunctionConcurrency`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeployedFunction {
    /// The function's name on AWS, e.g. `my-app-dev-realtime-ws-generate`: what another
    /// function's Invoke names it by.
    pub name: String,
    /// Its environment variables, as deployed.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Its timeout.
    pub timeout_seconds: u64,
    /// Its memory.
    pub memory_mb: u32,
    /// Its reserved concurrency, if it has one: the instances it may run at once.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// The calls its deployed role refuses, as `infra/access.py` decides them.
    #[serde(default)]
    pub refused: Vec<Refused>,
    /// Its deployed code's `bootstrap`, downloaded by `infra/twin.py` when the function runs
    /// on this machine's architecture; `None` runs this folder's build of it instead.
    #[serde(default)]
    pub code: Option<PathBuf>,
    /// How Lambda runs its asynchronous invocations, as deployed; `None` in a stage file
    /// written before `infra/twin.py` read them (the declared settings apply).
    #[serde(default)]
    pub asynchronous: Option<Asynchronous>,
}

/// A function's asynchronous settings (`GetFunctionEventInvokeConfig`, Lambda's defaults
/// without one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Asynchronous {
    /// Retries of a failed invocation (`MaximumRetryAttempts`).
    pub retries: u32,
    /// Longest an event waits in the queue (`MaximumEventAgeInSeconds`).
    pub max_event_age_seconds: u64,
    /// The function, by its name on AWS, that a failed invocation's record goes to; `None`
    /// when it goes to no function, and Lambda discards it.
    #[serde(default)]
    pub on_failure: Option<String>,
}

/// A call a function's deployed role refuses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refused {
    /// The IAM action, e.g. `bedrock:InvokeModelWithResponseStream`.
    pub action: String,
    /// The resource it was refused on.
    pub resource: String,
    /// What AWS says: `User: <role> is not authorized to perform: <action> on resource: ...`.
    pub message: String,
}

impl Refused {
    /// The variable through which the function reaches the service this action belongs to:
    /// the SDK's service-specific endpoint variable ("Service-specific endpoints", AWS SDKs and
    /// Tools Reference Guide:
    /// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>), or the
    /// project's own for Bedrock and the WebSocket callbacks. `None` for a service the
    /// functions do not call.
    pub fn endpoint_variable(&self) -> Option<&'static str> {
        match self.action.split(':').next().unwrap_or_default() {
            "bedrock" => Some(genai::config::BEDROCK_ENDPOINT_ENV),
            "ssm" => Some("AWS_ENDPOINT_URL_SSM"),
            "lambda" => Some("AWS_ENDPOINT_URL_LAMBDA"),
            "dynamodb" => Some("AWS_ENDPOINT_URL_DYNAMODB"),
            "execute-api" => Some(genai::config::WS_CALLBACK_ENV),
            _ => None,
        }
    }
}

impl DeployedFunction {
    /// Its timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

impl Deployed {
    /// Reads the file `infra/twin.py` wrote.
    pub fn read(path: &Path) -> Result<Deployed, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the stage file {}: {e}; make dev STAGE=<stage> writes it with infra/twin.py",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "the stage file {} is not what infra/twin.py writes: {e}; run make dev STAGE=<stage> again",
                path.display()
            )
        })
    }

    /// The headers CloudFront adds to a request for `path`: its origin's custom headers, from
    /// the first behaviour whose pattern matches the path.
    pub fn origin_headers(&self, path: &str) -> Option<&BTreeMap<String, String>> {
        self.behaviours
            .iter()
            .find(|b| path_matches(&b.path_pattern, path))
            .map(|b| &b.origin_headers)
    }

    /// Whether the stage's REST API of `service` has a method for `method` on `path` (itself
    /// or `ANY`); true for a service whose API the stage file does not describe.
    pub fn has_rest_method(&self, service: &str, method: &str, path: &str) -> bool {
        self.rest_methods.get(service).is_none_or(|methods| {
            methods
                .iter()
                .any(|m| *m == format!("{method} {path}") || *m == format!("ANY {path}"))
        })
    }

    /// The function the code declares as `declared`, or what to deploy to have it.
    pub fn function(&self, declared: &str, service: &str) -> Result<&DeployedFunction, String> {
        self.functions.get(declared).ok_or_else(|| {
            format!(
                "stage {} has no function for {declared}, which services/{service} runs as: deploy it \
                 (make deploy-{service} STAGE={}), or run make dev without STAGE",
                self.stage, self.stage
            )
        })
    }
}

/// Whether CloudFront's path pattern matches `path`: `*` is any run of characters (`/` too),
/// `?` one character, case counts, and a pattern without its leading `/` has it implied ("Path
/// pattern", CloudFront Developer Guide:
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern>).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern = if pattern.starts_with(['/', '*']) {
        pattern.to_string()
    } else {
        format!("/{pattern}")
    };
    let (pattern, path): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), path.chars().collect());
    // The classic glob walk: on a mismatch, go back to the last `*` and let it take one more.
    let (mut p, mut s, mut star, mut taken) = (0, 0, None, 0);
    while s < path.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == path[s]) {
            p += 1;
            s += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            taken = s;
            p += 1;
        } else if let Some(at) = star {
            p = at + 1;
            taken += 1;
            s = taken;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn path_patterns_match_as_cloudfront_matches_them() {
        for (pattern, path, matches) in [
            ("*", "/anything/at/all", true),
            ("/chat", "/chat", true),
            ("/chat", "/chat/", false),
            ("/chat*", "/chat/", true),
            ("chat*", "/chat", true),
            ("/v1/*", "/v1/answer", true),
            ("/v1/*", "/v1", false),
            ("/V1/*", "/v1/answer", false),
            ("/a?c", "/abc", true),
            ("/a?c", "/ac", false),
            ("/*.js", "/assets/app.js", true),
            ("/*.js", "/assets/app.jsx", false),
        ] {
            assert_eq!(
                path_matches(pattern, path),
                matches,
                "{pattern} against {path}"
            );
        }
    }
}
