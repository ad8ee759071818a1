//! The GenAI service all strategies share: the request every strategy accepts, the rules it
//! must pass before it may reach the model, and the protocol's error shape
//! (the project's `PROTOCOL.md` is the contract).

pub mod bedrock;
pub mod config;
pub mod event_stream;
pub mod log;

pub use bedrock::{Completion, Event, Events, GenAi, Generation, Usage};

// CONFIG_ENV, ORIGIN_SECRET_ENV and ORIGIN_SECRET_HEADER, from this crate's declaration
// (build.rs).
include!(concat!(env!("OUT_DIR"), "/declared.rs"));

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Server-side timings of one request, as the protocol reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// From receiving the request to the first text from the model.
    pub first_token_ms: Option<u64>,
    /// From receiving the request to now (the last byte).
    pub total_ms: u64,
    /// Bedrock's own latency measurement, when it sent one.
    pub model_latency_ms: Option<u64>,
    /// The first answer of a new instance (deployed: a new Lambda execution environment, whose
    /// start-up time the timings include), so a client can tell a cold run from a warm one.
    pub cold_start: bool,
}

impl Metrics {
    /// Measures from `received` to now.
    pub fn measure(
        received: Instant,
        first_token_at: Option<Instant>,
        model_latency_ms: Option<u64>,
        cold_start: bool,
    ) -> Self {
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Metrics {
            first_token_ms: first_token_at.map(|t| ms(t.saturating_duration_since(received))),
            total_ms: ms(received.elapsed()),
            model_latency_ms,
            cold_start,
        }
    }
}

/// A generation request, as every strategy receives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateRequest {
    /// The user's prompt; required and non-empty.
    pub prompt: String,
    /// Upper bound on generated tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f32>,
    /// An optional system prompt.
    pub system: Option<String>,
}

/// A request that passed [`validate`], with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    /// The prompt.
    pub prompt: String,
    /// Tokens to generate at most.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// System prompt, if any.
    pub system: Option<String>,
}

/// The protocol's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request breaks a rule. HTTP 400.
    BadRequest,
    /// The request did not come through the app's URL (the CDN): a direct call to a
    /// deployed API. HTTP 403.
    Forbidden,
    /// The prompt is over the configured size. HTTP 413.
    PayloadTooLarge,
    /// Bedrock throttled the call. HTTP 429.
    Throttled,
    /// The model failed. HTTP 502.
    ModelError,
    /// The model is not enabled in this account and region. HTTP 502.
    ModelAccessDenied,
    /// The answer did not come in time. HTTP 504.
    Timeout,
    /// Anything else. HTTP 500.
    InternalError,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Forbidden => 403,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Throttled => 429,
            ErrorCode::ModelError | ErrorCode::ModelAccessDenied => 502,
            ErrorCode::Timeout => 504,
            ErrorCode::InternalError => 500,
        }
    }
}

/// The protocol's error body: `{ "message", "code", "statusCode" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// Human-readable, with no internals (no stack traces, ARNs or credentials).
    pub message: String,
    /// Machine-readable code.
    pub code: ErrorCode,
    /// The HTTP status of the code.
    pub status_code: u16,
}

impl ApiError {
    /// An error with the status that goes with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            message: message.into(),
            code,
            status_code: code.status(),
        }
    }

    /// A `BAD_REQUEST` error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::BadRequest, message)
    }
}

/// Parses a JSON request body and checks it against `limits`. A request that fails here must
/// never reach the model.
pub fn parse_request(body: &[u8], limits: &config::Limits) -> Result<ValidRequest, ApiError> {
    let request: GenerateRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the request is not valid JSON for this API: {e}"))
    })?;
    validate(request, limits)
}

/// Checks a request against `limits` and fills in defaults.
pub fn validate(
    request: GenerateRequest,
    limits: &config::Limits,
) -> Result<ValidRequest, ApiError> {
    if request.prompt.trim().is_empty() {
        return Err(ApiError::bad_request(
            "prompt is required and must not be empty",
        ));
    }
    // The system prompt is input the model reads and bills like the prompt: one limit for both.
    let size = request.prompt.len() + request.system.as_ref().map_or(0, String::len);
    if size > limits.max_prompt_bytes {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "prompt and system are {size} bytes; the limit is {}",
                limits.max_prompt_bytes
            ),
        ));
    }
    let max_tokens = request.max_tokens.unwrap_or(limits.default_max_tokens);
    if max_tokens == 0 || max_tokens > limits.max_tokens {
        return Err(ApiError::bad_request(format!(
            "maxTokens must be between 1 and {}",
            limits.max_tokens
        )));
    }
    let temperature = request.temperature.unwrap_or(limits.default_temperature);
    if !(0.0..=1.0).contains(&temperature) {
        return Err(ApiError::bad_request("temperature must be between 0 and 1"));
    }
    Ok(ValidRequest {
        prompt: request.prompt,
        max_tokens,
        temperature,
        system: request.system,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any body, JSON or not, of any size around the limits: a valid request or the
    /// protocol's 400/413, never a panic; a valid one is within every limit. Prints its count.
    #[test]
    fn any_body_is_a_valid_request_or_the_protocols_error() {
        const CASES: u32 = 1024;
        let limits = config::Limits::default();
        // Short strings of any characters, and long ones that reach past the size limit.
        let text = |max: usize| {
            prop_oneof![
                any::<String>(),
                proptest::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter),
            ]
        };
        let body = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            (text(8_000), proptest::option::of(text(8_000)), any::<Option<u32>>(), any::<Option<f32>>()).prop_map(
                |(prompt, system, max_tokens, temperature)| {
                    serde_json::to_vec(&serde_json::json!({
                        "prompt": prompt, "system": system, "maxTokens": max_tokens, "temperature": temperature
                    }))
                    .expect("JSON")
                }
            ),
        ];
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            // A failure prints its shrunk input; nothing is saved next to the sources.
            failure_persistence: None,
            ..ProptestConfig::with_cases(CASES)
        });
        let ran = std::cell::Cell::new(0u32);
        let outcome = runner.run(&body, |body| {
            ran.set(ran.get() + 1);
            match parse_request(&body, &limits) {
                Ok(valid) => {
                    prop_assert!(!valid.prompt.trim().is_empty());
                    let size = valid.prompt.len() + valid.system.as_ref().map_or(0, String::len);
                    prop_assert!(size <= limits.max_prompt_bytes);
                    prop_assert!((1..=limits.max_tokens).contains(&valid.max_tokens));
                    prop_assert!((0.0..=1.0).contains(&valid.temperature));
                }
                Err(error) => prop_assert!(matches!(
                    error.code,
                    ErrorCode::BadRequest | ErrorCode::PayloadTooLarge
                )),
            }
            Ok(())
        });
        if let Err(failure) = outcome {
            panic!("{failure}");
        }
        println!(
            "request parsing: {} cases, none failed or panicked",
            ran.get()
        );
        assert!(ran.get() >= CASES);
    }

    #[test]
    fn a_system_prompt_counts_toward_the_size_limit() {
        let limits = config::Limits::default();
        let half = "s".repeat(limits.max_prompt_bytes / 2 + 1);
        let body = serde_json::json!({ "prompt": half, "system": half }).to_string();
        let error = parse_request(body.as_bytes(), &limits).expect_err("over the limit");
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
    }

    fn check(body: &str) -> Result<ValidRequest, ApiError> {
        parse_request(body.as_bytes(), &config::Limits::default())
    }

    #[test]
    fn a_prompt_alone_gets_the_configured_defaults() {
        let limits = config::Limits::default();
        let valid = check(r#"{"prompt":"Tell me a story"}"#).expect("valid");
        assert_eq!(valid.max_tokens, limits.default_max_tokens);
        assert_eq!(valid.temperature, limits.default_temperature);
    }

    #[test]
    fn requests_that_break_a_rule_get_the_protocol_code() {
        let cases = [
            (r#"{}"#, ErrorCode::BadRequest),
            (r#"{"prompt":""}"#, ErrorCode::BadRequest),
            (r#"{"prompt":"  "}"#, ErrorCode::BadRequest),
            (r#"{"prompt":42}"#, ErrorCode::BadRequest),
            (r#"{"prompt":"hi","maxTokens":0}"#, ErrorCode::BadRequest),
            (
                r#"{"prompt":"hi","maxTokens":1000000}"#,
                ErrorCode::BadRequest,
            ),
            (
                r#"{"prompt":"hi","temperature":1.5}"#,
                ErrorCode::BadRequest,
            ),
            (r#"{"prompt":"hi","colour":"blue"}"#, ErrorCode::BadRequest),
            (r#"{"prompt":"#, ErrorCode::BadRequest),
        ];
        for (body, code) in cases {
            let err = check(body).expect_err(body);
            assert_eq!(err.code, code, "{body}");
            assert_eq!(err.status_code, 400, "{body}");
        }
        let prompt = "a".repeat(config::Limits::default().max_prompt_bytes + 1);
        let huge = serde_json::json!({ "prompt": prompt }).to_string();
        assert_eq!(check(&huge).expect_err("too large").status_code, 413);
    }

    #[test]
    fn errors_serialize_in_the_protocol_shape() {
        let json = serde_json::to_value(ApiError::new(ErrorCode::Throttled, "slow down"))
            .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"message": "slow down", "code": "THROTTLED", "statusCode": 429})
        );
    }
}
