//! A fake Amazon Bedrock for tests and local development.
//!
//! It answers `POST /model/{modelId}/converse-stream` with `application/vnd.amazon.eventstream`
//! frames exactly as Bedrock does (messageStart, contentBlockDelta..., contentBlockStop,
//! messageStop, metadata with usage and metrics, CRC-checked), and `POST /model/{modelId}/converse`
//! with the whole answer. Unmodified AWS SDK clients work against it once their endpoint URL
//! points here.
//!
//! The text is deterministic for a prompt, so strategies can be compared word for word. A
//! prompt can carry directives in square brackets, which tests and workshops use:
//!
//! | directive | effect |
//! |---|---|
//! | `[tokens=N]` | answer with N tokens (capped by the request's `maxTokens`) |
//! | `[ttft=MS]` | time to first token |
//! | `[tps=N]` | tokens per second |
//! | `[fault=throttle]` | HTTP 429 `ThrottlingException` before the stream |
//! | `[fault=access-denied]` | HTTP 403 `AccessDeniedException` (model not enabled) |
//! | `[fault=validation]` | HTTP 400 `ValidationException` |
//! | `[fault=stream-error]` | an in-stream `modelStreamErrorException` after `[after=N]` tokens (default 0) |
//! | `[fault=stream-throttle]` | an in-stream `throttlingException` after `[after=N]` tokens |
//! | `[fault=stall]` | stop for `[stall=MS]` (default 3000) after `[after=N]` tokens, then go on |

pub mod flags;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

/// Default behaviour; directives in a prompt override it per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Milliseconds from the request to the first token.
    pub time_to_first_token_ms: u64,
    /// Tokens sent per second after the first.
    pub tokens_per_second: u64,
    /// Tokens in an answer.
    pub tokens: u32,
}

impl Settings {
    /// A small model's pacing: what `fake-bedrock` and `make dev` answer at unless told.
    pub const DEFAULT: Settings = Settings {
        time_to_first_token_ms: 200,
        tokens_per_second: 60,
        tokens: 48,
    };
}

impl Default for Settings {
    fn default() -> Self {
        Settings::DEFAULT
    }
}

/// What the fake has seen, for assertions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Model calls received (streaming or not), faults included.
    pub calls: u64,
    /// Streams sent to the end.
    pub completed: u64,
    /// Streams whose client hung up before the end.
    pub hangups: u64,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    completed: AtomicU64,
    hangups: AtomicU64,
}

struct Shared {
    settings: Settings,
    counters: Counters,
}

/// A running fake. Dropping it stops the server.
pub struct FakeBedrock {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _shutdown: oneshot::Sender<()>,
}

impl FakeBedrock {
    /// Starts on a free loopback port.
    pub async fn start(settings: Settings) -> std::io::Result<FakeBedrock> {
        Self::start_on(([127, 0, 0, 1], 0).into(), settings).await
    }

    /// Starts on `addr`.
    pub async fn start_on(addr: SocketAddr, settings: Settings) -> std::io::Result<FakeBedrock> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            settings,
            counters: Counters::default(),
        });
        let app = Router::new()
            .route("/model/{model_id}/converse-stream", post(converse_stream))
            .route("/model/{model_id}/converse", post(converse))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeBedrock {
            addr,
            shared,
            _shutdown: tx,
        })
    }

    /// The endpoint URL to give an SDK client, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            calls: c.calls.load(Ordering::SeqCst),
            completed: c.completed.load(Ordering::SeqCst),
            hangups: c.hangups.load(Ordering::SeqCst),
        }
    }

    /// Waits until `pred` holds for the stats, or `timeout` passes; returns the last stats.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if pred(&stats) || Instant::now() >= deadline {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The fault a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttle,
    AccessDenied,
    Validation,
    StreamError,
    StreamThrottle,
    Stall,
}

/// A request's plan: what to send and how fast.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    tokens: Vec<String>,
    stop_reason: &'static str,
    input_tokens: u32,
    ttft: Duration,
    interval: Duration,
    fault: Option<Fault>,
    after: usize,
    stall: Duration,
}

fn directive(prompt: &str, name: &str) -> Option<String> {
    let open = format!("[{name}=");
    let start = prompt.find(&open)? + open.len();
    let end = prompt[start..].find(']')? + start;
    Some(prompt[start..end].to_string())
}

fn number(prompt: &str, name: &str) -> Option<u64> {
    directive(prompt, name).and_then(|v| v.parse().ok())
}

const WORDS: &[&str] = &[
    "once", "upon", "a", "time", "the", "river", "carried", "lanterns", "past", "quiet", "hills",
    "and", "every", "light", "told", "story", "of", "stream", "that", "learned", "to", "sing",
    "while", "clouds", "drew", "maps", "over", "sleeping", "towns", "near", "sea", "where",
];

/// The tokens the fake answers `prompt` with, `n` of them: the same prompt always gets the
/// same text. The first token has no leading space, every other one has one.
pub fn answer_tokens(prompt: &str, n: u32) -> Vec<String> {
    // FNV-1a seeds a linear congruential generator: stable across runs and platforms.
    let mut state = prompt.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let word = WORDS[(state >> 33) as usize % WORDS.len()];
            if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            }
        })
        .collect()
}

/// The full text the fake answers `prompt` with, for a request with `max_tokens`, using the
/// default token count when the prompt gives none: what a test expects to receive.
pub fn expected_text(prompt: &str, max_tokens: u32, settings: &Settings) -> String {
    let n = token_count(prompt, max_tokens, settings).0;
    answer_tokens(prompt, n).concat()
}

fn token_count(prompt: &str, max_tokens: u32, settings: &Settings) -> (u32, &'static str) {
    let wanted =
        number(prompt, "tokens").map_or(settings.tokens, |n| u32::try_from(n).unwrap_or(u32::MAX));
    if wanted > max_tokens {
        (max_tokens, "max_tokens")
    } else {
        (wanted, "end_turn")
    }
}

/// The text of a list of Converse content blocks, joined by spaces.
fn text_of(blocks: &Value) -> String {
    blocks
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn plan(body: &Value, settings: &Settings) -> Plan {
    let last_message = body["messages"].as_array().and_then(|m| m.last());
    let prompt = last_message
        .map(|m| text_of(&m["content"]))
        .unwrap_or_default();
    let system = text_of(&body["system"]);
    let max_tokens = body["inferenceConfig"]["maxTokens"]
        .as_u64()
        .map_or(u32::MAX, |n| n as u32);
    let (n, stop_reason) = token_count(&prompt, max_tokens, settings);
    let fault = directive(&prompt, "fault").and_then(|f| match f.as_str() {
        "throttle" => Some(Fault::Throttle),
        "access-denied" => Some(Fault::AccessDenied),
        "validation" => Some(Fault::Validation),
        "stream-error" => Some(Fault::StreamError),
        "stream-throttle" => Some(Fault::StreamThrottle),
        "stall" => Some(Fault::Stall),
        _ => None,
    });
    let tps = number(&prompt, "tps")
        .unwrap_or(settings.tokens_per_second)
        .max(1);
    Plan {
        tokens: answer_tokens(&prompt, n),
        stop_reason,
        input_tokens: (prompt.split_whitespace().count() + system.split_whitespace().count())
            as u32,
        ttft: Duration::from_millis(
            number(&prompt, "ttft").unwrap_or(settings.time_to_first_token_ms),
        ),
        interval: Duration::from_micros(1_000_000 / tps),
        fault,
        after: number(&prompt, "after").unwrap_or(0) as usize,
        stall: Duration::from_millis(number(&prompt, "stall").unwrap_or(3000)),
    }
}

/// An HTTP error Bedrock answers before any stream: status, `x-amzn-errortype`, message.
type HttpError = (StatusCode, &'static str, &'static str);

impl Fault {
    /// The HTTP error Bedrock answers for this fault, if it comes before any stream.
    fn http_error(self) -> Option<HttpError> {
        match self {
            Fault::Throttle => Some((
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            )),
            Fault::AccessDenied => Some((
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            )),
            Fault::Validation => Some((
                StatusCode::BAD_REQUEST,
                "ValidationException",
                "The provided request is not valid",
            )),
            Fault::StreamError | Fault::StreamThrottle | Fault::Stall => None,
        }
    }
}

fn http_error_response((status, kind, message): HttpError) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::HeaderName::from_static("x-amzn-errortype"), kind),
        ],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

fn frame(message_type: &str, type_header: &str, kind: &str, payload: Value) -> Bytes {
    let message = Message::new(Bytes::from(payload.to_string()))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.to_string().into()),
        ))
        .add_header(Header::new(
            type_header.to_string(),
            HeaderValue::String(kind.to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    let mut buf = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut buf)
        .expect("a frame always encodes");
    Bytes::from(buf)
}

fn event(kind: &str, payload: Value) -> Bytes {
    frame("event", ":event-type", kind, payload)
}

fn exception(kind: &str, message: &str) -> Bytes {
    frame(
        "exception",
        ":exception-type",
        kind,
        json!({ "message": message }),
    )
}

/// Counts the call, then plans the answer, or gives the HTTP error to answer instead.
fn admit(shared: &Shared, body: &Bytes) -> Result<Plan, HttpError> {
    shared.counters.calls.fetch_add(1, Ordering::SeqCst);
    let validation = Fault::Validation
        .http_error()
        .expect("validation is an HTTP error");
    let request = serde_json::from_slice::<Value>(body).map_err(|_| validation)?;
    let plan = plan(&request, &shared.settings);
    match plan.fault.and_then(Fault::http_error) {
        Some(error) => Err(error),
        None => Ok(plan),
    }
}

/// Bedrock's `usage` object for what the plan sends.
fn usage(plan: &Plan) -> Value {
    let output_tokens = plan.tokens.len() as u32;
    json!({
        "inputTokens": plan.input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": plan.input_tokens + output_tokens,
    })
}

async fn converse_stream(
    State(shared): State<Arc<Shared>>,
    Path(_model_id): Path<String>,
    body: Bytes,
) -> Response {
    let plan = match admit(&shared, &body) {
        Ok(plan) => plan,
        Err(error) => return http_error_response(error),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(stream_answer(shared, plan, tx));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/vnd.amazon.eventstream")
        .body(Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .expect("a valid response")
}

/// Sends the planned frames at the planned pace. A failed send means the client hung up:
/// the count goes up and nothing more is sent.
async fn stream_answer(
    shared: Arc<Shared>,
    plan: Plan,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let started = Instant::now();
    let send = |bytes: Bytes| {
        let tx = tx.clone();
        async move { tx.send(Ok(bytes)).await.is_ok() }
    };
    let hung_up = || {
        shared.counters.hangups.fetch_add(1, Ordering::SeqCst);
    };
    if !send(event("messageStart", json!({ "role": "assistant" }))).await {
        return hung_up();
    }
    // Bedrock sends contentBlockStart only for tool use; a text answer starts with its delta.
    tokio::time::sleep(plan.ttft).await;
    // Tokens are paced by the clock, not by one sleep each: the timer's millisecond
    // resolution would cap that at 1000 tokens/s and let every sleep's overshoot add up.
    let mut due = Instant::now();
    for (i, token) in plan.tokens.iter().enumerate() {
        if i == plan.after {
            match plan.fault {
                Some(Fault::StreamError) => {
                    let _ = send(exception(
                        "modelStreamErrorException",
                        "The model stopped unexpectedly.",
                    ))
                    .await;
                    return;
                }
                Some(Fault::StreamThrottle) => {
                    let _ = send(exception(
                        "throttlingException",
                        "Too many tokens, please wait.",
                    ))
                    .await;
                    return;
                }
                Some(Fault::Stall) => {
                    tokio::time::sleep(plan.stall).await;
                    due = Instant::now();
                }
                _ => {}
            }
        }
        if i > 0 {
            due += plan.interval;
            if due > Instant::now() {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let delta = json!({ "contentBlockIndex": 0, "delta": { "text": token } });
        if !send(event("contentBlockDelta", delta)).await {
            return hung_up();
        }
    }
    let tail = [
        event("contentBlockStop", json!({ "contentBlockIndex": 0 })),
        event("messageStop", json!({ "stopReason": plan.stop_reason })),
        event(
            "metadata",
            json!({
                "usage": usage(&plan),
                "metrics": { "latencyMs": started.elapsed().as_millis() as u64 },
            }),
        ),
    ];
    for bytes in tail {
        if !send(bytes).await {
            return hung_up();
        }
    }
    shared.counters.completed.fetch_add(1, Ordering::SeqCst);
}

async fn converse(
    State(shared): State<Arc<Shared>>,
    Path(_model_id): Path<String>,
    body: Bytes,
) -> Response {
    let plan = match admit(&shared, &body) {
        Ok(plan) => plan,
        Err(error) => return http_error_response(error),
    };
    shared.counters.completed.fetch_add(1, Ordering::SeqCst);
    let body = json!({
        "output": { "message": { "role": "assistant", "content": [{ "text": plan.tokens.concat() }] } },
        "stopReason": plan.stop_reason,
        "usage": usage(&plan),
        "metrics": { "latencyMs": plan.ttft.as_millis() as u64 },
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_prompt_gets_the_same_text_and_directives_shape_it() {
        let settings = Settings::default();
        let a = expected_text("Tell me a story", 512, &settings);
        assert_eq!(a, expected_text("Tell me a story", 512, &settings));
        assert_ne!(a, expected_text("Tell me a poem", 512, &settings));
        assert_eq!(answer_tokens("x [tokens=5]", 5).len(), 5);
        assert_eq!(
            token_count("x [tokens=500]", 100, &settings),
            (100, "max_tokens")
        );
        assert_eq!(token_count("x [tokens=5]", 100, &settings), (5, "end_turn"));
    }

    #[test]
    fn frames_decode_with_valid_crcs() {
        let bytes = event("messageStop", json!({ "stopReason": "end_turn" }));
        let message = aws_smithy_eventstream::frame::read_message_from(bytes).expect("valid frame");
        assert_eq!(message.payload().as_ref(), br#"{"stopReason":"end_turn"}"#);
    }
}
