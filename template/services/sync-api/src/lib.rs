//! REST strategy: `POST /generate` answers with the whole text once generation ends.
//!
//! API Gateway gives a REST integration 29 seconds. The handler stops the model at its own
//! deadline, below that, and answers `TIMEOUT` itself: the client gets the protocol's error,
//! never the gateway's 504 page.

use std::time::{Duration, Instant};

use genai::ORIGIN_SECRET_HEADER;
use genai::{ApiError, ErrorCode, Event, GenAi, Metrics};
use lambda_http::http::Method;
use lambda_http::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, ORIGIN, VARY};
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;

/// How long a request may take before the handler answers `TIMEOUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Duration);

impl Deadline {
    /// `REST_DEADLINE_MS`, default 25 s: under API Gateway's 29 s with room for the reply.
    pub fn from_env() -> Self {
        Deadline(genai::config::millis_from_env("REST_DEADLINE_MS", 25_000))
    }
}

/// Handles one API Gateway REST request.
pub async fn handle(
    genai: &GenAi,
    deadline: Deadline,
    request: Request,
) -> Result<Response<Body>, Error> {
    let received = Instant::now();
    let origin_header = request.headers().get(ORIGIN).and_then(|o| o.to_str().ok());
    let secret = request
        .headers()
        .get(ORIGIN_SECRET_HEADER)
        .and_then(|v| v.to_str().ok());
    let from_cdn = genai.config().came_through_cdn(secret);
    if request.method() == Method::OPTIONS && from_cdn {
        return preflight(genai, origin_header);
    }
    let origin = genai.config().cors_origin(origin_header);
    let answer = if from_cdn {
        generate_within(genai, deadline, request.body().as_ref(), received).await
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "call this API through the app's URL (make outputs prints it), not its execute-api address",
        ))
    };
    let (status, body) = match answer {
        Ok(answer) => {
            genai::log::finished("rest", &answer.metrics, &answer.done);
            (200, answer.body())
        }
        Err(error) => {
            genai::log::failed("rest", &error);
            (error.status_code, json!({ "error": error }))
        }
    };
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json");
    if let Some(origin) = origin {
        response = response
            .header(ACCESS_CONTROL_ALLOW_ORIGIN, origin)
            .header(VARY, "Origin");
    }
    Ok(response.body(Body::from(body.to_string()))?)
}

/// The answer to a request body, within the deadline.
async fn generate_within(
    genai: &GenAi,
    deadline: Deadline,
    body: &[u8],
    received: Instant,
) -> Result<Answer, ApiError> {
    // A request that breaks a rule never reaches the model.
    let valid = genai::parse_request(body, &genai.config().limits)?;
    match tokio::time::timeout(deadline.0, generate(genai, &valid, received)).await {
        Ok(answer) => answer,
        // Timing out drops the generation, which hangs up on Bedrock.
        Err(_) => Err(ApiError::new(
            ErrorCode::Timeout,
            format!(
                "the answer took longer than {} s; ask for fewer tokens or use a streaming strategy",
                deadline.0.as_secs()
            ),
        )),
    }
}

/// A CORS preflight: 204 with the CORS headers for an allowed origin, else 403 without them.
fn preflight(genai: &GenAi, origin: Option<&str>) -> Result<Response<Body>, Error> {
    let Some(headers) = genai.config().preflight_headers(origin, "POST") else {
        return Ok(Response::builder().status(403).body(Body::Empty)?);
    };
    let mut response = Response::builder().status(204);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response.body(Body::Empty)?)
}

/// A whole answer.
struct Answer {
    text: String,
    model: String,
    done: genai::Completion,
    metrics: Metrics,
}

impl Answer {
    /// The protocol's REST body.
    fn body(&self) -> serde_json::Value {
        json!({
            "data": { "text": self.text, "usage": self.done.usage },
            "meta": {
                "model": self.model,
                "latency": self.metrics.total_ms,
                "firstTokenMs": self.metrics.first_token_ms,
                "modelLatencyMs": self.metrics.model_latency_ms,
                "coldStart": self.metrics.cold_start,
                "stopReason": self.done.stop_reason,
            },
        })
    }
}

/// Runs the generation to its end.
async fn generate(
    genai: &GenAi,
    request: &genai::ValidRequest,
    received: Instant,
) -> Result<Answer, ApiError> {
    let mut generation = genai.generate(request).await?;
    let mut text = String::new();
    while let Some(event) = generation.next().await {
        match event? {
            Event::Delta(delta) => text.push_str(&delta),
            Event::Done(done) => {
                let metrics = Metrics::measure(
                    received,
                    generation.first_token_at(),
                    done.model_latency_ms,
                    generation.cold_start(),
                );
                let model = generation.model_id().to_string();
                return Ok(Answer {
                    text,
                    model,
                    done,
                    metrics,
                });
            }
        }
    }
    Err(ApiError::new(
        ErrorCode::ModelError,
        "the model stream ended early",
    ))
}
