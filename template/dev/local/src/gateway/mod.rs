//! The application's origin on loopback: the routes of PROTOCOL.md in front of the functions,
//! each turned into the event its AWS trigger sends.
//!
//! - WebSocket (`/ws`): connect, messages and disconnect become API Gateway WebSocket events
//!   (route selection on `$request.body.action`); `POST /@connections/{id}` is the
//!   Management API the service posts frames to. Every route invokes the function
//!   synchronously and, as API Gateway does, stops waiting after 29 s and sends the client
//!   `{"message":"Endpoint request timed out",...}`; long work belongs in a worker.
//! - `POST /2015-03-31/functions/{name}/invocations`: Lambda's Invoke API, for the services'
//!   workers (`discover::Worker`). An `Event` invocation is queued as Lambda queues it: it
//!   waits for a free instance up to the maximum event age, is retried as declared, and a
//!   failure's record goes to the on-failure destination, the service's own function. With
//!   `--deliver-events-twice` every event is queued twice, as Lambda may deliver one.
//! - `POST /` with `X-Amz-Target`: DynamoDB's `PutItem`, in memory, for a worker's ledger
//!   (`discover::Worker::ledger_env`).
//! - SSE (`/sse`): a Function URL event (payload 2.0), streamed response with its HTTP
//!   integration prelude.
//! - REST (`/api/generate`): an API Gateway REST proxy event; 29 s integration timeout.
//! - `/config.json`, the built web app if there is one, and `/_local/status`.
//!
//! Where API Gateway or a Function URL would only drop a connection after a function failure,
//! the client gets the protocol's `INTERNAL_ERROR` instead, as the deployed stack's gateway
//! responses give it for REST.
//!
//! This file holds the router, the state every route shares and the helpers several of them
//! use; each trigger has its own module.

mod dynamodb;
mod function_url;
mod invoke;
mod origin;
mod proxy;
mod refused;
mod rest;
mod websocket;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::ws::Message;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use genai::{ApiError, ErrorCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::discover::{Service, Trigger};
use crate::runtime::{Function, FunctionError};

/// API Gateway's limits the local gateway enforces, so code that breaks them in AWS breaks here.
pub mod limits {
    use std::time::Duration;

    /// WebSocket frame size.
    pub const WS_FRAME_BYTES: usize = 32 * 1024;
    /// WebSocket message size (a message may span frames), also the most a post may carry.
    pub const WS_MESSAGE_BYTES: usize = 128 * 1024;
    /// A WebSocket connection with no traffic for this long is closed.
    pub const WS_IDLE: Duration = Duration::from_secs(10 * 60);
    /// The integration timeout of REST and WebSocket APIs (a REST API's streamed
    /// integration waits as long as the function may run: the stacks set its timeout to the
    /// function's).
    pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
    /// The longest a streamed response may stay silent: CloudFront's origin response timeout
    /// (30 s by default, which both flavors' CDN keeps), which also bounds the gap between two
    /// packets of one response ("Response timeout",
    /// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout>).
    /// Shorter than what AWS allows behind it: a Function URL, or a REST API's streamed
    /// integration, whose idle timeout is 5 minutes on a REGIONAL endpoint
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html>).
    pub const CDN_ORIGIN_RESPONSE: Duration = Duration::from_secs(30);
}

/// Lambda's synchronous invocation payload: a request over this never reaches the function,
/// and the local gateway answers 413. Deployed, that 413 is an assumption (API Gateway
/// documents its own 413 only above its 10 MB payload): `make smoke` checks it on a real stage.
const INVOKE_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Simulated AWS latencies, to compare strategies under realistic conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latencies {
    /// Added to each `POST @connections`.
    pub post: Duration,
    /// Added before each invocation reaches a function.
    pub invoke: Duration,
}

/// A service's worker, reached through the Invoke API only.
pub struct WorkerFunction {
    /// As the service declares it.
    pub spec: crate::discover::Worker,
    /// The worker's own function.
    pub function: Arc<Function>,
    /// Where the record of a failed asynchronous invocation goes: the service's function, or
    /// nowhere (a stage twin whose worker was deployed without that destination).
    pub on_failure: Option<Arc<Function>>,
}

/// What the gateway serves.
pub struct Gateway {
    /// The functions, with the service each runs.
    pub functions: Vec<(Service, Arc<Function>)>,
    /// The services' workers.
    pub workers: Vec<WorkerFunction>,
    /// Simulated latencies.
    pub latencies: Latencies,
    /// The project's `config.json` fields other than the endpoints.
    pub config: Value,
    /// The built web app, if any (`client/web/dist`).
    pub web_root: Option<PathBuf>,
    /// The fake Bedrock, when the stack runs one (for `/_local/status`).
    pub bedrock: Option<Arc<fake_bedrock::FakeBedrock>>,
    /// Queue every `Event` invocation twice, as Lambda occasionally delivers an event twice
    /// (<https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>).
    pub deliver_events_twice: bool,
    /// The deployed stage the stack runs as, if any: its CDN's origin headers are added to
    /// each request for a service's route.
    pub stage: Option<crate::stage::Deployed>,
}

struct Shared {
    gateway: Gateway,
    connections: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    ids: AtomicU64,
    tables: Mutex<dynamodb::Tables>,
    /// A stage twin's refused calls, by calling function.
    refused: Mutex<HashMap<String, u64>>,
}

impl Shared {
    /// The service a route belongs to, and its function.
    fn service(&self, at: At) -> (&Service, &Arc<Function>) {
        let (service, function) = &self.gateway.functions[at.0];
        (service, function)
    }

    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// Which service a route serves: its index in [`Gateway::functions`], given to the route's
/// handler, so two services with the same trigger each get their own requests.
#[derive(Debug, Clone, Copy)]
struct At(usize);

/// The router of the whole origin: one route per declared service (each invoked the way its
/// trigger says), the local stack's own endpoints, and the web app for everything else.
pub fn router(gateway: Gateway) -> Router {
    // Each service's route, trigger and the headers the stage's CDN adds to its requests.
    let routes: Vec<(String, Trigger, OriginHeaders)> = gateway
        .functions
        .iter()
        .map(|(s, _)| {
            let route = s.route.trim_end_matches('/').to_string();
            let headers = gateway
                .stage
                .as_ref()
                .and_then(|stage| stage.origin_headers(&s.route))
                .map(|h| h.clone().into_iter().collect())
                .unwrap_or_default();
            (route, s.trigger, headers)
        })
        .collect();
    let shared = Arc::new(Shared {
        gateway,
        connections: Mutex::new(HashMap::new()),
        ids: AtomicU64::new(1),
        tables: Mutex::default(),
        refused: Mutex::default(),
    });
    let mut router = Router::new()
        .route("/config.json", get(origin::config))
        .route("/_local/status", get(origin::status))
        .route(
            "/@connections/{connection_id}",
            post(websocket::post_to_connection).delete(websocket::delete_connection),
        )
        .route(
            "/2015-03-31/functions/{function_name}/invocations",
            post(invoke::lambda_invoke),
        )
        .route("/_twin/refused/{function}/{index}", any(refused::refused))
        .route(
            "/_twin/refused/{function}/{index}/{*call}",
            any(refused::refused),
        )
        // DynamoDB's endpoint is the root; a GET of it is still the web app.
        .route("/", post(dynamodb::dynamodb).fallback(origin::static_file));
    for (index, (route, trigger, headers)) in routes.into_iter().enumerate() {
        let serve = match trigger {
            Trigger::WebSocket => get(websocket::websocket),
            Trigger::FunctionUrlStreaming => any(function_url::function_url),
            Trigger::Rest | Trigger::RestStreaming => any(rest::rest),
        }
        .layer(Extension(At(index)))
        .layer(axum::middleware::map_request(move |request| {
            origin::add_origin_headers(request, headers.clone())
        }));
        // PROTOCOL.md: paths match with or without a trailing slash.
        for path in [route.clone(), format!("{route}/")] {
            router = router.route(&path, serve.clone());
        }
    }
    router.fallback(origin::static_file).with_state(shared)
}

/// A simulated latency; zero skips the timer (a zero sleep still waits for the next tick).
async fn delay(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// The custom headers a CDN origin adds to the requests it forwards, name and value.
type OriginHeaders = Vec<(String, String)>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn epoch_ms() -> i64 {
    i64::try_from(now().as_millis()).unwrap_or(i64::MAX)
}

fn to_json<T: serde::Serialize>(event: &T) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_default()
}

/// One synchronous invocation, its whole response read.
async fn call(function: &Arc<Function>, event: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
    function.invoke(event).await?.collect().await
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

/// The protocol's error body for a function that failed.
fn internal_error(error: &FunctionError) -> ApiError {
    eprintln!("local: function failed: {}: {}", error.kind, error.message);
    ApiError::new(
        ErrorCode::InternalError,
        format!("the function failed ({})", error.kind),
    )
}

fn error_response(error: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": error }).to_string(),
    )
        .into_response()
}

/// An AWS JSON error, its type in `x-amzn-errortype` as the SDKs read it (the Management
/// API's and Lambda's alike).
fn aws_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [
            ("x-amzn-errortype", kind),
            ("content-type", "application/json"),
        ],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

/// The body of an HTTP request bound for a function, or the 413 that stops it at the gateway.
async fn request_body(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, INVOKE_PAYLOAD_BYTES)
        .await
        .map_err(|_| {
            error_response(&ApiError::new(
                ErrorCode::PayloadTooLarge,
                "the request body is over Lambda's 6 MB payload limit",
            ))
        })
}

/// Body text and whether API Gateway would mark it base64.
fn event_body(body: &[u8]) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    match std::str::from_utf8(body) {
        Ok(text) => (Some(text.to_string()), false),
        Err(_) => (Some(BASE64.encode(body)), true),
    }
}
