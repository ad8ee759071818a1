//! Configuration every service reads once per Lambda container.
//!
//! Deployed, it comes from SSM Parameter Store: the parameters under one path per project and
//! stage (the variable [`crate::CONFIG_ENV`] names it, e.g. `/my-app/dev/`), each named like
//! its variable in kebab case (`model-id`, `max-tokens`, `allowed-origins`). An environment variable of the same setting
//! wins, which is how local runs and tests configure the services.

use std::collections::HashMap;

/// The model this project was generated for. `MODEL_ID` in the environment overrides it.
pub const DEFAULT_MODEL_ID: &str = "{{ model_id }}";

/// The region this project deploys to. `AWS_REGION` in the environment overrides it.
pub const DEFAULT_REGION: &str = "{{ region }}";

/// Caps on what a request may ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest prompt accepted, in bytes.
    pub max_prompt_bytes: usize,
    /// Largest `maxTokens` accepted.
    pub max_tokens: u32,
    /// `maxTokens` when the request does not say.
    pub default_max_tokens: u32,
    /// `temperature` when the request does not say.
    pub default_temperature: f32,
}

/// The limits this crate's Cargo.toml declares (`[package.metadata.genai-scaffold.limits]`,
/// which the deployed configuration starts with too), and the default temperature.
impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_prompt_bytes: crate::declared_limits::MAX_PROMPT_BYTES,
            max_tokens: crate::declared_limits::MAX_TOKENS,
            default_max_tokens: crate::declared_limits::DEFAULT_MAX_TOKENS,
            default_temperature: 0.7,
        }
    }
}

/// Settings of one service instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The Bedrock model or inference-profile id to invoke.
    pub model_id: String,
    /// The AWS region.
    pub region: String,
    /// A fake Bedrock to call instead of AWS ([`BEDROCK_ENDPOINT_ENV`]), for local runs.
    pub bedrock_endpoint: Option<String>,
    /// Browser origins allowed to call the services (`ALLOWED_ORIGINS`, comma separated).
    /// Empty means none: there is no wildcard.
    pub allowed_origins: Vec<String>,
    /// The values CloudFront sends in [`crate::ORIGIN_SECRET_HEADER`]
    /// ([`crate::ORIGIN_SECRET_ENV`], comma separated: the current one and, after a rotation,
    /// the previous). Empty means no check in the local stack, which any local client may call,
    /// and refusing every request when `deployed`.
    pub origin_secrets: Vec<String>,
    /// Whether the function runs as its stack deployed it: its configuration's SSM path
    /// ([`crate::CONFIG_ENV`]) is set. A deployed function lacking a setting its stack gives it
    /// fails closed, so a variable renamed in the stack refuses requests instead of opening
    /// the function to calls that skip the CDN.
    pub deployed: bool,
    /// Request limits.
    pub limits: Limits,
}

/// The variable pointing the services at a fake Bedrock (the local stack's), instead of AWS.
pub const BEDROCK_ENDPOINT_ENV: &str = "BEDROCK_ENDPOINT_URL";

/// The variable pointing a WebSocket service's posts to its connections at the local stack's
/// gateway. Deployed, it is unset: the callback URL comes from each event's domain and stage.
pub const WS_CALLBACK_ENV: &str = "WS_CALLBACK_URL";

impl Config {
    /// Reads the configuration from environment variables, with the generated defaults.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Environment variables first, then `parameters` (from [`load_parameters`]), then the
    /// generated defaults.
    pub fn from_env_and(parameters: &HashMap<String, String>) -> Self {
        Self::from_sources(|key| std::env::var(key).ok(), parameters)
    }

    /// `env` first, then `parameters` keyed by [`parameter_name`], then the defaults.
    pub fn from_sources(
        env: impl Fn(&str) -> Option<String>,
        parameters: &HashMap<String, String>,
    ) -> Self {
        Self::from_lookup(|key| env(key).or_else(|| parameters.get(&parameter_name(key)).cloned()))
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process
    /// environment. A limit that does not parse keeps its default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let defaults = Limits::default();
        let number =
            |key: &str, default: u32| lookup(key).and_then(|v| v.parse().ok()).unwrap_or(default);
        Config {
            model_id: lookup("MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_string()),
            region: lookup("AWS_REGION").unwrap_or_else(|| DEFAULT_REGION.to_string()),
            bedrock_endpoint: lookup(BEDROCK_ENDPOINT_ENV),
            allowed_origins: list(lookup("ALLOWED_ORIGINS"))
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
            origin_secrets: list(lookup(crate::ORIGIN_SECRET_ENV)),
            deployed: lookup(crate::CONFIG_ENV).is_some(),
            limits: Limits {
                max_prompt_bytes: number("MAX_PROMPT_BYTES", defaults.max_prompt_bytes as u32)
                    as usize,
                max_tokens: number("MAX_TOKENS", defaults.max_tokens),
                default_max_tokens: number("DEFAULT_MAX_TOKENS", defaults.default_max_tokens),
                default_temperature: defaults.default_temperature,
            },
        }
    }
}

impl Config {
    /// The value for `Access-Control-Allow-Origin` for a request with this `Origin` header:
    /// the origin itself when it is allowed, else none (there is no wildcard).
    pub fn cors_origin(&self, origin: Option<&str>) -> Option<String> {
        origin.filter(|o| self.allows_origin(o)).map(str::to_string)
    }

    /// The headers answering a CORS preflight (`OPTIONS`) from `origin` for a route that takes
    /// `methods`, or `None` when the origin is not allowed: the service then answers 403
    /// without them, and the browser does not send the request (PROTOCOL.md, "Browsers on
    /// other origins").
    pub fn preflight_headers(
        &self,
        origin: Option<&str>,
        methods: &str,
    ) -> Option<[(&'static str, String); 5]> {
        let origin = self.cors_origin(origin)?;
        Some([
            ("access-control-allow-origin", origin),
            ("access-control-allow-methods", methods.to_string()),
            // The JSON body's type, and the body hash CloudFront's origin access control
            // needs to sign a POST to a Function URL.
            (
                "access-control-allow-headers",
                "content-type, x-amz-content-sha256".to_string(),
            ),
            ("access-control-max-age", "600".to_string()),
            ("vary", "Origin".to_string()),
        ])
    }

    /// Whether a browser on `origin` may call the services: only origins listed in
    /// `allowed_origins`, compared exactly (scheme, host and port).
    pub fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }

    /// Whether a request came through the CDN: its [`crate::ORIGIN_SECRET_HEADER`] is one of
    /// `origin_secrets`, or there is none to check and the function is not `deployed`.
    /// Compared in constant time, so the answer's timing tells a guesser nothing about how
    /// much of a guess was right.
    ///
    /// Only the services that declare `origin-secret` ask, and their stacks set the secret:
    /// a deployed one without it has a stack that names the variable otherwise, and refuses
    /// every request, logging which variable it lacks.
    pub fn came_through_cdn(&self, header: Option<&str>) -> bool {
        if self.origin_secrets.is_empty() {
            if self.deployed {
                tracing::error!(
                    variable = crate::ORIGIN_SECRET_ENV,
                    "the function is deployed without its origin secret and refuses every \
                     request: its stack must set the variable (make deploy-<service>)"
                );
            }
            return !self.deployed;
        }
        let Some(header) = header else {
            return false;
        };
        self.origin_secrets.iter().fold(false, |found, secret| {
            found | same_bytes(secret.as_bytes(), header.as_bytes())
        })
    }
}

/// A comma-separated setting as its trimmed, non-empty entries.
fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|entry| entry.trim().to_string())
                .filter(|entry| !entry.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `a == b`, taking the same time wherever they differ (the lengths may show).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A duration in milliseconds from the environment variable `variable`, else `default_ms`.
pub fn millis_from_env(variable: &str, default_ms: u64) -> std::time::Duration {
    let ms = std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_ms);
    std::time::Duration::from_millis(ms)
}

/// The SSM parameter name of a setting: `MAX_TOKENS` is `max-tokens`.
pub fn parameter_name(variable: &str) -> String {
    variable.to_ascii_lowercase().replace('_', "-")
}

/// Reads every parameter under `path` (secure strings decrypted), keyed by the last segment
/// of its name. Called once per container, at init.
pub async fn load_parameters(
    ssm: &aws_sdk_ssm::Client,
    path: &str,
) -> Result<HashMap<String, String>, String> {
    let mut parameters = HashMap::new();
    let mut pages = ssm
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "cannot read the configuration under SSM path {path}: {}. Check that the path exists in this \
                 region and that the function may call ssm:GetParametersByPath on it.",
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            )
        })?;
        for parameter in page.parameters() {
            if let (Some(name), Some(value)) = (parameter.name(), parameter.value()) {
                let key = name.rsplit('/').next().unwrap_or(name).to_string();
                parameters.insert(key, value.to_string());
            }
        }
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_generated_defaults() {
        let config = Config::from_lookup(|key| match key {
            "MODEL_ID" => Some("eu.amazon.nova-lite-v1:0".into()),
            "MAX_TOKENS" => Some("1024".into()),
            "MAX_PROMPT_BYTES" => Some("not a number".into()),
            "ALLOWED_ORIGINS" => Some("https://app.example.com, http://localhost:5173/".into()),
            _ => None,
        });
        assert_eq!(config.model_id, "eu.amazon.nova-lite-v1:0");
        assert_eq!(config.region, DEFAULT_REGION);
        assert_eq!(config.limits.max_tokens, 1024);
        assert!(config.allows_origin("http://localhost:5173"));
        assert!(config.allows_origin("https://app.example.com"));
        assert!(!config.allows_origin("https://evil.example.com"));
        assert!(!config.allows_origin("*"));
        let headers = config
            .preflight_headers(Some("http://localhost:5173"), "POST")
            .expect("a listed origin");
        assert!(headers.contains(&(
            "access-control-allow-origin",
            "http://localhost:5173".into()
        )));
        assert!(headers.contains(&("access-control-allow-methods", "POST".into())));
        assert_eq!(
            config.preflight_headers(Some("https://evil.example.com"), "POST"),
            None
        );
        assert_eq!(config.preflight_headers(None, "POST"), None);
        assert_eq!(
            config.limits.max_prompt_bytes,
            Limits::default().max_prompt_bytes
        );
    }

    #[test]
    fn only_a_listed_origin_secret_passes_and_none_listed_lets_everyone_in_only_locally() {
        let local = Config::from_lookup(|_| None);
        assert!(local.came_through_cdn(None));
        assert!(local.came_through_cdn(Some("anything")));

        // Deployed (its configuration path set) with the secret under another name: closed.
        let renamed = Config::from_lookup(|key| match key {
            crate::CONFIG_ENV => Some("/app/dev/config".to_string()),
            "ORIGIN_SECRETS" => Some("n3w-secret".to_string()),
            _ => None,
        });
        assert!(renamed.deployed);
        assert!(!renamed.came_through_cdn(Some("n3w-secret")));
        assert!(!renamed.came_through_cdn(None));

        // After a rotation: the new secret first, the previous one still accepted.
        let deployed = Config::from_lookup(|key| {
            (key == crate::ORIGIN_SECRET_ENV).then(|| "n3w-secret, 0ld-secret".to_string())
        });
        assert_eq!(deployed.origin_secrets, ["n3w-secret", "0ld-secret"]);
        assert!(deployed.came_through_cdn(Some("n3w-secret")));
        assert!(deployed.came_through_cdn(Some("0ld-secret")));
        assert!(!deployed.came_through_cdn(None));
        assert!(!deployed.came_through_cdn(Some("")));
        assert!(!deployed.came_through_cdn(Some("n3w-secreT")));
        assert!(!deployed.came_through_cdn(Some("n3w-secret,0ld-secret")));
        assert!(!deployed.came_through_cdn(Some("n3w")));
    }
}
