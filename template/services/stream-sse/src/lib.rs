//! SSE strategy: a Function URL streams the answer as `text/event-stream` events.
//!
//! Requests come as `POST` with a JSON body, or `GET ?prompt=` as the original sample's
//! clients send them, on any path (behind the CDN they arrive as `/sse`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use genai::{ApiError, Event, GenAi, Metrics};
use lambda_http::http::Method;
use lambda_http::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ORIGIN, VARY,
};
use lambda_http::lambda_runtime::streaming::{Body, Sender, channel};
use lambda_http::{Error, Request, RequestExt, Response};
use serde_json::json;

/// How long the stream may stay silent before a `: ping` comment keeps it open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive(pub Duration);

impl KeepAlive {
    /// `SSE_KEEPALIVE_MS`, default 10 s.
    pub fn from_env() -> Self {
        KeepAlive(genai::config::millis_from_env("SSE_KEEPALIVE_MS", 10_000))
    }
}

/// Handles one Function URL request. A request that breaks a rule is answered with the
/// protocol's error and status before any stream starts; a valid one gets a 200 event stream.
pub async fn handle(
    genai: Arc<GenAi>,
    keep_alive: KeepAlive,
    request: Request,
) -> Result<Response<Body>, Error> {
    let received = Instant::now();
    let origin_header = request.headers().get(ORIGIN).and_then(|o| o.to_str().ok());
    if request.method() == Method::OPTIONS {
        return preflight(&genai, origin_header);
    }
    let origin = genai.config().cors_origin(origin_header);
    let parsed = match (
        request.method(),
        request
            .query_string_parameters_ref()
            .and_then(|q| q.first("prompt")),
    ) {
        (&Method::GET, Some(prompt)) => {
            let body = json!({ "prompt": prompt }).to_string();
            genai::parse_request(body.as_bytes(), &genai.config().limits)
        }
        (&Method::GET, None) => Err(ApiError::bad_request(
            "GET needs ?prompt=...; or POST a JSON body",
        )),
        _ => genai::parse_request(request.body().as_ref(), &genai.config().limits),
    };
    let mut response = Response::builder();
    if let Some(origin) = origin {
        response = response
            .header(ACCESS_CONTROL_ALLOW_ORIGIN, origin)
            .header(VARY, "Origin");
    }
    match parsed {
        Err(error) => {
            genai::log::failed("sse", &error);
            Ok(response
                .status(error.status_code)
                .header(CONTENT_TYPE, "application/json")
                .body(Body::from(json!({ "error": error }).to_string()))?)
        }
        Ok(valid) => {
            let (sender, body) = channel();
            tokio::spawn(async move { stream(&genai, &valid, received, keep_alive, sender).await });
            Ok(response
                .status(200)
                .header(CONTENT_TYPE, "text/event-stream")
                .header(CACHE_CONTROL, "no-cache")
                .body(body)?)
        }
    }
}

/// A CORS preflight: 204 with the CORS headers for an allowed origin, else 403 without them.
fn preflight(genai: &GenAi, origin: Option<&str>) -> Result<Response<Body>, Error> {
    let Some(headers) = genai.config().preflight_headers(origin, "GET, POST") else {
        return Ok(Response::builder().status(403).body(Body::empty())?);
    };
    let mut response = Response::builder().status(204);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response.body(Body::empty())?)
}

/// Writes the events of one generation. When the client is gone a write fails: returning
/// drops the events, which stops the model.
async fn stream(
    genai: &GenAi,
    request: &genai::ValidRequest,
    received: Instant,
    keep_alive: KeepAlive,
    mut out: Sender,
) {
    // Keep-alives from the first byte: a model slow to answer (the call itself, before any
    // event) must not leave the stream silent past CloudFront's origin read timeout, or the
    // browser's EventSource retries and each retry is a new paid generation.
    let generation = genai.generate(request);
    tokio::pin!(generation);
    let mut events = loop {
        match tokio::time::timeout(keep_alive.0, &mut generation).await {
            Err(_silent) => {
                if out.send_data(": ping\n\n".into()).await.is_err() {
                    genai::log::client_left("sse");
                    return;
                }
            }
            Ok(Ok(generation)) => break generation.into_events(),
            Ok(Err(error)) => {
                genai::log::failed("sse", &error);
                let _ = out.send_data(error_event(&error).into()).await;
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
                genai::log::finished("sse", &metrics, &done);
                let complete = json!({
                    "status": "done",
                    "usage": done.usage,
                    "metrics": metrics,
                    "stopReason": done.stop_reason,
                });
                let _ = out
                    .send_data(format!("event: complete\ndata: {complete}\n\n").into())
                    .await;
                return;
            }
            Ok(Some(Err(error))) => {
                genai::log::failed("sse", &error);
                let _ = out.send_data(error_event(&error).into()).await;
                return;
            }
        };
        if out.send_data(text.into()).await.is_err() {
            genai::log::client_left("sse");
            return;
        }
    }
}

fn error_event(error: &ApiError) -> String {
    format!("event: error\ndata: {}\n\n", json!({ "error": error }))
}
