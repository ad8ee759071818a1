//! REST streaming strategy: an API Gateway REST API streams the answer as `text/event-stream`
//! events, the same events as the SSE strategy's (`genai::event_stream`).
//!
//! Requests come as `POST` with a JSON body, from the CDN only (its origin secret). A request
//! that breaks a rule is answered with the protocol's error and status before any stream
//! starts. The whole response, errors included, goes out through the streaming runtime: the
//! integration is in STREAM mode, so a buffered response would reach nobody.

use std::sync::Arc;
use std::time::Instant;

use genai::event_stream::KeepAlive;
use genai::{ApiError, ErrorCode, GenAi, ORIGIN_SECRET_HEADER};
use lambda_http::http::Method;
use lambda_http::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ORIGIN, VARY,
};
use lambda_http::lambda_runtime::streaming::{Body, channel};
use lambda_http::{Error, Request, Response};
use serde_json::json;

/// The strategy's name in its log lines.
const STRATEGY: &str = "rest-stream";

/// Handles one request of the REST API's streamed integration.
pub async fn handle(
    genai: Arc<GenAi>,
    keep_alive: KeepAlive,
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
        return preflight(&genai, origin_header);
    }
    let origin = genai.config().cors_origin(origin_header);
    let parsed = if from_cdn {
        genai::parse_request(request.body().as_ref(), &genai.config().limits)
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "call this API through the app's URL (make outputs prints it), not its execute-api address",
        ))
    };
    // Every header single-valued: a streamed REST integration's prelude takes no other kind
    // in `headers`.
    let mut response = Response::builder();
    if let Some(origin) = origin {
        response = response
            .header(ACCESS_CONTROL_ALLOW_ORIGIN, origin)
            .header(VARY, "Origin");
    }
    match parsed {
        Err(error) => {
            genai::log::failed(STRATEGY, &error);
            Ok(response
                .status(error.status_code)
                .header(CONTENT_TYPE, "application/json")
                .body(Body::from(json!({ "error": error }).to_string()))?)
        }
        Ok(valid) => {
            let (mut sender, body) = channel();
            let mut events =
                genai::event_stream::events(genai, valid, received, keep_alive, STRATEGY);
            tokio::spawn(async move {
                // A failed write means the client left: dropping `events` stops the model.
                while let Some(event) = events.recv().await {
                    if sender.send_data(event.into()).await.is_err() {
                        return;
                    }
                }
            });
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
    let Some(headers) = genai.config().preflight_headers(origin, "POST") else {
        return Ok(Response::builder().status(403).body(Body::empty())?);
    };
    let mut response = Response::builder().status(204);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response.body(Body::empty())?)
}
