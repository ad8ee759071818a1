//! One structured log line per request, the same in every strategy.
//!
//! The Lambda runtime's subscriber writes JSON when the function's log format is JSON and
//! adds the invocation's request id. The prompt and the answer are never logged.

use crate::{ApiError, Completion, Metrics};

/// Logs a request that completed.
pub fn finished(strategy: &'static str, metrics: &Metrics, done: &Completion) {
    tracing::info!(
        strategy,
        first_token_ms = metrics.first_token_ms,
        total_ms = metrics.total_ms,
        model_latency_ms = metrics.model_latency_ms,
        prompt_tokens = done.usage.prompt_tokens,
        completion_tokens = done.usage.completion_tokens,
        stop_reason = %done.stop_reason,
        "generation finished"
    );
}

/// Logs a request that ended with a protocol error.
pub fn failed(strategy: &'static str, error: &ApiError) {
    let code = serde_json::to_value(error.code).unwrap_or_default();
    if error.status_code >= 500 {
        tracing::error!(strategy, code = %code, status = error.status_code, message = %error.message, "generation failed");
    } else {
        tracing::warn!(strategy, code = %code, status = error.status_code, message = %error.message, "request refused");
    }
}

/// Logs that the client left before the answer was complete.
pub fn client_left(strategy: &'static str) {
    tracing::info!(strategy, "client left; model stream stopped");
}
