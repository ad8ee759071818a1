//! The `text/event-stream` of one answer, as PROTOCOL.md's Server-Sent Events transport writes
//! it: `chunk` events with ids, then `complete` or `error`, and `: ping` comments whenever the
//! stream would stay silent longer than the keep-alive.
//!
//! Every strategy that answers with Server-Sent Events writes them here, whatever carries the
//! bytes (a Function URL, a REST API's streamed integration): [`events`] runs the generation
//! and hands over each event's text; the service writes it to its response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;

use crate::{ApiError, Event, GenAi, Metrics, ValidRequest};

/// How long the stream may stay silent before a `: ping` comment keeps it open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive(pub Duration);

impl KeepAlive {
    /// `SSE_KEEPALIVE_MS`, default 10 s: well under CloudFront's origin response timeout (30 s
    /// by default), which also bounds the gap between two packets of one response ("Response
    /// timeout",
    /// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout>).
    pub fn from_env() -> Self {
        KeepAlive(crate::config::millis_from_env("SSE_KEEPALIVE_MS", 10_000))
    }
}

/// Starts the generation of `request` and returns its events' text as they come. The stream
/// ends after `complete` or `error`.
///
/// Dropping the receiver (the client left, so writing to it failed) stops the model at once,
/// and the request is logged as `client_left`; otherwise it is logged once as finished or
/// failed, under `strategy`.
pub fn events(
    genai: Arc<GenAi>,
    request: ValidRequest,
    received: Instant,
    keep_alive: KeepAlive,
    strategy: &'static str,
) -> mpsc::Receiver<String> {
    // One event in hand at most: the model waits while the client is slow.
    let (out, events) = mpsc::channel(1);
    tokio::spawn(async move {
        let watch = out.clone();
        tokio::select! {
            () = write(&genai, &request, received, keep_alive, strategy, out) => {}
            () = watch.closed() => crate::log::client_left(strategy),
        }
    });
    events
}

/// Writes the events of one generation to `out`.
async fn write(
    genai: &GenAi,
    request: &ValidRequest,
    received: Instant,
    keep_alive: KeepAlive,
    strategy: &'static str,
    out: mpsc::Sender<String>,
) {
    // Keep-alives from the first byte: a model slow to answer (the call itself, before any
    // event) must not leave the stream silent past CloudFront's origin response timeout, or
    // the browser's EventSource retries and each retry is a new paid generation.
    let generation = genai.generate(request);
    tokio::pin!(generation);
    let mut events = loop {
        match tokio::time::timeout(keep_alive.0, &mut generation).await {
            Err(_silent) => {
                if out.send(": ping\n\n".into()).await.is_err() {
                    return;
                }
            }
            Ok(Ok(generation)) => break generation.into_events(),
            Ok(Err(error)) => {
                crate::log::failed(strategy, &error);
                let _ = out.send(error_event(&error)).await;
                return;
            }
        }
    };
    let mut id: u64 = 0;
    loop {
        let text = match tokio::time::timeout(keep_alive.0, events.recv()).await {
            Err(_silent) => ": ping\n\n".to_string(),
            Ok(None) => return,
            Ok(Some(Ok(Event::Delta(delta)))) => {
                id += 1;
                format!(
                    "id: {}\nevent: chunk\ndata: {}\n\n",
                    id - 1,
                    json!({ "text": delta })
                )
            }
            Ok(Some(Ok(Event::Done(done)))) => {
                let metrics = Metrics::measure(
                    received,
                    events.first_token_at(),
                    done.model_latency_ms,
                    events.cold_start(),
                );
                crate::log::finished(strategy, &metrics, &done);
                let complete = json!({
                    "status": "done",
                    "usage": done.usage,
                    "metrics": metrics,
                    "stopReason": done.stop_reason,
                });
                let _ = out
                    .send(format!("event: complete\ndata: {complete}\n\n"))
                    .await;
                return;
            }
            Ok(Some(Err(error))) => {
                crate::log::failed(strategy, &error);
                let _ = out.send(error_event(&error)).await;
                return;
            }
        };
        if out.send(text).await.is_err() {
            return;
        }
    }
}

/// The protocol's `error` event.
pub fn error_event(error: &ApiError) -> String {
    format!("event: error\ndata: {}\n\n", json!({ "error": error }))
}

/// One event of a `text/event-stream` as [`parse`] reads it back.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An event: its `id` (chunks only), its name and its JSON `data`.
    Event {
        /// The `id:` field.
        id: Option<u64>,
        /// The `event:` field.
        name: String,
        /// The `data:` field, as JSON.
        data: serde_json::Value,
    },
    /// A comment line (`: ping`), without its `: `.
    Comment(String),
}

/// Reads a whole event stream as [`events`] writes it, for the strategies' tests: each block
/// must be a comment or `field: value` lines with JSON data, or the result says what is wrong.
pub fn parse(text: &str) -> Result<Vec<Parsed>, String> {
    text.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            if let Some(comment) = block.strip_prefix(": ") {
                return Ok(Parsed::Comment(comment.to_string()));
            }
            let mut fields = std::collections::HashMap::new();
            for line in block.lines() {
                let (k, v) = line
                    .split_once(": ")
                    .ok_or_else(|| format!("not `field: value`: {line:?}"))?;
                fields.insert(k, v);
            }
            let field = |k: &str| {
                fields
                    .get(k)
                    .ok_or_else(|| format!("no `{k}` in {block:?}"))
            };
            Ok(Parsed::Event {
                id: match fields.get("id") {
                    Some(id) => Some(id.parse().map_err(|_| format!("id {id:?}"))?),
                    None => None,
                },
                name: field("event")?.to_string(),
                data: serde_json::from_str(field("data")?).map_err(|e| format!("data: {e}"))?,
            })
        })
        .collect()
}
