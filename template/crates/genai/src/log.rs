//! One structured log line per request, the same in every strategy: [`finished`], [`failed`]
//! or [`client_left`], called once where the request ends.
//!
//! The Lambda runtime's subscriber writes JSON when the function's log format is JSON and
//! adds the invocation's request id. The prompt and the answer are never logged.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

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

/// Logs a request that ended with a protocol error. The error's text is the `error` field:
/// `message` is the line's own ("generation failed"), which a field of that name would repeat
/// as a second `message` key in the JSON line.
pub fn failed(strategy: &'static str, error: &ApiError) {
    // The protocol's name of the code (INTERNAL_ERROR), not its JSON (with quotes).
    let code = serde_json::to_value(error.code).unwrap_or_default();
    let code = code.as_str().unwrap_or_default();
    if error.status_code >= 500 {
        tracing::error!(strategy, code = %code, status = error.status_code, error = %error.message, "generation failed");
    } else {
        tracing::warn!(strategy, code = %code, status = error.status_code, error = %error.message, "request refused");
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
}

thread_local! {
    static CAPTURING: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Starts capturing this thread's log lines (a current-thread runtime's tasks included).
///
/// One process-wide subscriber writes each line to the buffer of the thread that logged it.
/// A per-thread default subscriber would be simpler, but tracing caches whether a log
/// statement is wanted per statement, for every thread at once: a statement first reached on
/// a thread without a subscriber could then stay off on the thread that has one.
pub fn capture() -> Captured {
    static SUBSCRIBER: Once = Once::new();
    SUBSCRIBER.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(|| ThreadSink)
            .finish();
        // Fails only if something else installed one first; the tests then see no lines.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    let lines = Arc::new(Mutex::new(Vec::new()));
    CAPTURING.with(|capturing| *capturing.borrow_mut() = Some(lines.clone()));
    Captured { lines }
}

impl Captured {
    fn bytes(&self) -> Vec<u8> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The lines so far, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&self.bytes())
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
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        CAPTURING.with(|capturing| capturing.borrow_mut().take());
    }
}

/// Appends to the capturing buffer of the thread that writes, if it has one.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|capturing| {
            if let Some(lines) = capturing.borrow().as_ref() {
                lines
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn a_failure_line_has_one_message_and_the_error_apart() {
        let captured = capture();
        failed(
            "test",
            &ApiError::new(ErrorCode::InternalError, "the model broke"),
        );
        let text = captured.text();
        assert_eq!(text.matches("\"message\"").count(), 1, "{text}");
        let lines = captured.lines();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["message"], "generation failed", "{text}");
        assert_eq!(lines[0]["error"], "the model broke", "{text}");
        assert_eq!(lines[0]["code"], "INTERNAL_ERROR", "{text}");
    }
}
