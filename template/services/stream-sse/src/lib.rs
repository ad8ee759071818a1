//! SSE strategy: a Function URL streams the answer as `text/event-stream` events.
//!
//! Requests come as `POST` with a JSON body, or `GET ?prompt=` as the original sample's
//! clients send them, on any path (behind the CDN they arrive as `/sse`).

use std::sync::Arc;
use std::time::Instant;

use genai::event_stream::KeepAlive;
use genai::{ApiError, GenAi};
use lambda_http::http::Method;
use lambda_http::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ORIGIN, VARY,
};
use lambda_http::lambda_runtime::streaming::{Body, channel};
use lambda_http::{Error, Request, RequestExt, Response};
use serde_json::json;

/// The strategy's name in its log lines.
const STRATEGY: &str = "sse";

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
    let Some(headers) = genai.config().preflight_headers(origin, "GET, POST") else {
        return Ok(Response::builder().status(403).body(Body::empty())?);
    };
    let mut response = Response::builder().status(204);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response.body(Body::empty())?)
}
