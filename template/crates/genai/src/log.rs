//! One structured log line per request, the same in every strategy: [`finished`], [`failed`]
//! or [`client_left`], called once where the request ends.
//!
//! The Lambda runtime's subscriber writes JSON when the function's log format is JSON and
//! adds the invocation's request id. The prompt and the answer are never logged.

use std::io::Write;
use std::sync::{Arc, Mutex};

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

/// The log lines written on this thread while it lives, as JSON objects: each strategy's
/// tests read the line their requests leave. The runtime's own subscriber is not involved.
pub struct Captured {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

/// Starts capturing this thread's log lines (a current-thread runtime's tasks included).
pub fn capture() -> Captured {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || Sink(sink.clone()))
        .finish();
    Captured {
        lines,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

impl Captured {
    /// The lines so far, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self
            .lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The "generation finished" lines of `strategy` so far.
    pub fn finished(&self, strategy: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|line| line["message"] == "generation finished" && line["strategy"] == strategy)
            .collect()
    }

    /// The raw text so far, to check what is never logged.
    pub fn text(&self) -> String {
        let bytes = self
            .lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
