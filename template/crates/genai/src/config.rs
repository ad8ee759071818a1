//! Configuration every service reads once per Lambda container.

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

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_prompt_bytes: 16 * 1024,
            max_tokens: 4096,
            default_max_tokens: 512,
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
    /// Request limits.
    pub limits: Limits,
}

impl Config {
    /// Reads the configuration from environment variables, with the generated defaults.
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_generated_defaults() {
        let config = Config::from_lookup(|key| match key {
            "MODEL_ID" => Some("eu.amazon.nova-lite-v1:0".into()),
            "MAX_TOKENS" => Some("1024".into()),
            "MAX_PROMPT_BYTES" => Some("not a number".into()),
            _ => None,
        });
        assert_eq!(config.model_id, "eu.amazon.nova-lite-v1:0");
        assert_eq!(config.region, DEFAULT_REGION);
        assert_eq!(config.limits.max_tokens, 1024);
        assert_eq!(
            config.limits.max_prompt_bytes,
            Limits::default().max_prompt_bytes
        );
    }
}
