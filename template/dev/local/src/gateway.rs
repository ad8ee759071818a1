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
//!   failure's record goes to the on-failure destination, the service's own function.
//! - SSE (`/sse`): a Function URL event (payload 2.0), streamed response with its HTTP
//!   integration prelude.
//! - REST (`/api/generate`): an API Gateway REST proxy event; 29 s integration timeout.
//! - `/config.json`, the built web app if there is one, and `/_local/status`.
//!
//! Where API Gateway or a Function URL would only drop a connection after a function failure,
//! the client gets the protocol's `INTERNAL_ERROR` instead, as the deployed stack's gateway
//! responses give it for REST.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest,
};
use aws_lambda_events::query_map::QueryMap;
use axum::Router;
use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use genai::{ApiError, ErrorCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::discover::{Service, Trigger};
use crate::runtime::{Function, FunctionError, Invocation};

/// API Gateway's limits the local gateway enforces, so code that breaks them in AWS breaks here.
pub mod limits {
    use std::time::Duration;

    /// WebSocket frame size.
    pub const WS_FRAME_BYTES: usize = 32 * 1024;
    /// WebSocket message size (a message may span frames), also the most a post may carry.
    pub const WS_MESSAGE_BYTES: usize = 128 * 1024;
    /// A WebSocket connection with no traffic for this long is closed.
    pub const WS_IDLE: Duration = Duration::from_secs(10 * 60);
    /// The integration timeout of REST and WebSocket APIs.
    pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
}

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
    /// Where the record of a failed asynchronous invocation goes: the service's function.
    pub on_failure: Arc<Function>,
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
}

struct Shared {
    gateway: Gateway,
    connections: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    ids: AtomicU64,
}

impl Shared {
    fn function(&self, trigger: Trigger) -> Option<(&Service, &Arc<Function>)> {
        self.gateway
            .functions
            .iter()
            .find(|(service, _)| service.trigger == trigger)
            .map(|(s, f)| (s, f))
    }

    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// The router of the whole origin.
pub fn router(gateway: Gateway) -> Router {
    let routes: Vec<(String, Trigger)> = gateway
        .functions
        .iter()
        .map(|(s, _)| (s.route.trim_end_matches('/').to_string(), s.trigger))
        .collect();
    let shared = Arc::new(Shared {
        gateway,
        connections: Mutex::new(HashMap::new()),
        ids: AtomicU64::new(1),
    });
    let mut router = Router::new()
        .route("/config.json", get(config))
        .route("/_local/status", get(status))
        .route(
            "/@connections/{connection_id}",
            post(post_to_connection).delete(delete_connection),
        )
        .route(
            "/2015-03-31/functions/{function_name}/invocations",
            post(lambda_invoke),
        );
    for (route, trigger) in routes {
        // PROTOCOL.md: paths match with or without a trailing slash.
        for path in [route.clone(), format!("{route}/")] {
            router = match trigger {
                Trigger::WebSocket => router.route(&path, get(websocket)),
                Trigger::FunctionUrlStreaming => router.route(&path, any(function_url)),
                Trigger::Rest => router.route(&path, any(rest)),
            };
        }
    }
    router.fallback(static_file).with_state(shared)
}

/// A simulated latency; zero skips the timer (a zero sleep still waits for the next tick).
async fn delay(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

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

// ----- WebSocket -------------------------------------------------------------------------

fn websocket_event(
    route_key: &str,
    event_type: &str,
    connection_id: &str,
    host: &str,
) -> ApiGatewayWebsocketProxyRequest {
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    let context = &mut event.request_context;
    context.route_key = Some(route_key.into());
    context.event_type = Some(event_type.into());
    context.connection_id = Some(connection_id.into());
    context.domain_name = Some(host.into());
    context.stage = Some("local".into());
    context.apiid = Some("local".into());
    context.message_direction = Some("IN".into());
    context.request_time_epoch = epoch_ms();
    context.identity.source_ip = Some("127.0.0.1".into());
    event
}

fn to_json<T: serde::Serialize>(event: &T) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_default()
}

/// The `statusCode` a buffered integration response carries.
fn status_code(body: &[u8]) -> u16 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["statusCode"].as_u64())
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200)
}

async fn websocket(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some((_, function)) = shared.function(Trigger::WebSocket) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let host = host(&headers);
    let connection_id = format!("local{:08}=", shared.next_id());
    let mut event = websocket_event("$connect", "CONNECT", &connection_id, &host);
    event.headers = headers;
    // $connect is synchronous: its status decides whether the socket opens.
    let connected = match function.invoke(to_json(&event)).await {
        Ok(invocation) => invocation.collect().await.map(|body| status_code(&body)),
        Err(e) => Err(e),
    };
    match connected {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => {
            return StatusCode::from_u16(status)
                .unwrap_or(StatusCode::FORBIDDEN)
                .into_response();
        }
        Err(error) => return error_response(&internal_error(&error)),
    }
    let function = function.clone();
    upgrade
        .max_frame_size(limits::WS_FRAME_BYTES)
        .max_message_size(limits::WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection(shared, function, socket, connection_id, host))
}

async fn connection(
    shared: Arc<Shared>,
    function: Arc<Function>,
    socket: WebSocket,
    connection_id: String,
    host: String,
) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    lock(&shared.connections).insert(connection_id.clone(), tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    let routes = shared
        .function(Trigger::WebSocket)
        .map(|(s, _)| s.routes.clone())
        .unwrap_or_default();
    loop {
        let message = match tokio::time::timeout(limits::WS_IDLE, stream.next()).await {
            Err(_) => {
                let _ = tx.send(Message::Close(Some(CloseFrame {
                    code: 1001,
                    reason: "Going away".into(),
                })));
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                // API Gateway closes a connection whose frame or message is over its limit.
                if error.to_string().contains("too long") {
                    let _ = tx.send(Message::Close(Some(CloseFrame {
                        code: 1009,
                        reason: "Message too big".into(),
                    })));
                }
                break;
            }
            Ok(Some(Ok(message))) => message,
        };
        let (body, binary) = match message {
            Message::Text(text) => (text.as_str().as_bytes().to_vec(), false),
            Message::Binary(bytes) => (bytes.to_vec(), true),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
        // Route selection on $request.body.action: a declared route, else $default.
        let route_key = parsed["action"]
            .as_str()
            .filter(|action| routes.iter().any(|r| r == action))
            .unwrap_or("$default")
            .to_string();
        let request_id = parsed["requestId"].as_str().map(str::to_string);
        let mut event = websocket_event(&route_key, "MESSAGE", &connection_id, &host);
        if binary {
            event.body = Some(BASE64.encode(&body));
            event.is_base64_encoded = true;
        } else {
            event.body = Some(String::from_utf8_lossy(&body).into_owned());
        }
        let function = function.clone();
        let tx = tx.clone();
        let latency = shared.gateway.latencies.invoke;
        let gateway_request_id = format!("local-{}", shared.next_id());
        let connection_id = connection_id.clone();
        let error_frame = move |error: ApiError| json!({ "type": "error", "requestId": request_id, "payload": error });
        // Each message is its own synchronous invocation; the socket keeps reading meanwhile.
        tokio::spawn(async move {
            // Lambda runs on after API Gateway stops waiting, so the call is a task of its own.
            let mut call = tokio::spawn(async move {
                delay(latency).await;
                function.invoke(to_json(&event)).await?.collect().await
            });
            let frame = match tokio::time::timeout(limits::INTEGRATION_TIMEOUT, &mut call).await {
                Ok(Ok(Ok(_))) => return,
                // API Gateway's own frame, not the protocol's: what a client of the deployed
                // API gets from a route that outlives the integration timeout.
                Err(_) => json!({
                    "message": "Endpoint request timed out",
                    "connectionId": connection_id,
                    "requestId": gateway_request_id,
                }),
                Ok(Ok(Err(error))) => error_frame(internal_error(&error)),
                Ok(Err(join)) => {
                    error_frame(ApiError::new(ErrorCode::InternalError, join.to_string()))
                }
            };
            let _ = tx.send(Message::Text(frame.to_string().into()));
        });
    }
    lock(&shared.connections).remove(&connection_id);
    drop(tx);
    let _ = writer.await;
    let event = websocket_event("$disconnect", "DISCONNECT", &connection_id, &host);
    if let Ok(invocation) = function.invoke(to_json(&event)).await {
        let _ = invocation.collect().await;
    }
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

/// `POST @connections/{id}`: API Gateway Management API `PostToConnection`.
async fn post_to_connection(
    State(shared): State<Arc<Shared>>,
    Path(connection_id): Path<String>,
    body: Bytes,
) -> Response {
    delay(shared.gateway.latencies.post).await;
    if body.len() > limits::WS_MESSAGE_BYTES {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "Message too long",
        );
    }
    let sender = lock(&shared.connections).get(&connection_id).cloned();
    let message = match String::from_utf8(body.to_vec()) {
        Ok(text) => Message::Text(text.into()),
        Err(_) => Message::Binary(body),
    };
    match sender.map(|s| s.send(message)) {
        Some(Ok(())) => StatusCode::OK.into_response(),
        _ => aws_error(StatusCode::GONE, "GoneException", "Gone"),
    }
}

/// `DELETE @connections/{id}`: closes the connection.
async fn delete_connection(
    State(shared): State<Arc<Shared>>,
    Path(connection_id): Path<String>,
) -> Response {
    let sender = lock(&shared.connections).remove(&connection_id);
    match sender {
        Some(sender) => {
            let _ = sender.send(Message::Close(None));
            StatusCode::NO_CONTENT.into_response()
        }
        None => aws_error(StatusCode::GONE, "GoneException", "Gone"),
    }
}

// ----- Lambda Invoke API (workers) --------------------------------------------------------

/// Lambda retries a failed asynchronous invocation after about one minute, then two; here
/// after a second, so a retry (were one declared) shows within a test.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// `Invoke`: a worker by name, partial ARN or ARN (any qualifier ignored).
async fn lambda_invoke(
    State(shared): State<Arc<Shared>>,
    Path(function_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // An SDK never sends Origin; a browser always does across origins. Refused, so a web page
    // cannot run the workers (with `--bedrock aws`, on the developer's account).
    if headers.contains_key(header::ORIGIN) {
        return aws_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "the local Invoke API serves the stack's own functions, not browsers",
        );
    }
    let name = function_name
        .rsplit_once("function:")
        .map_or(function_name.as_str(), |(_, name)| name);
    let name = name.split(':').next().unwrap_or_default();
    let Some(worker) = shared
        .gateway
        .workers
        .iter()
        .find(|w| w.spec.function == name)
    else {
        let known: Vec<&str> = shared
            .gateway
            .workers
            .iter()
            .map(|w| w.spec.function.as_str())
            .collect();
        let message = format!(
            "Function not found: {function_name}; the local stack serves its services' workers: {}",
            known.join(", ")
        );
        return aws_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
    };
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    match invocation_type {
        "Event" => {
            let queued = Queued {
                spec: worker.spec.clone(),
                function: worker.function.clone(),
                on_failure: worker.on_failure.clone(),
                latency: shared.gateway.latencies.invoke,
            };
            tokio::spawn(queued.run(body));
            StatusCode::ACCEPTED.into_response()
        }
        "RequestResponse" => {
            delay(shared.gateway.latencies.invoke).await;
            let outcome = match worker.function.invoke(body.to_vec()).await {
                Ok(invocation) => invocation.collect().await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(payload) => (StatusCode::OK, payload).into_response(),
                // A failed function is still a successful Invoke call, flagged in a header.
                Err(error) => (
                    StatusCode::OK,
                    [("x-amz-function-error", "Unhandled")],
                    json!({ "errorType": error.kind, "errorMessage": error.message }).to_string(),
                )
                    .into_response(),
            }
        }
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!("InvocationType {other} is not Event, RequestResponse or DryRun"),
        ),
    }
}

/// An asynchronous invocation in Lambda's queue.
struct Queued {
    spec: crate::discover::Worker,
    function: Arc<Function>,
    on_failure: Arc<Function>,
    latency: Duration,
}

impl Queued {
    /// Runs the event as Lambda does: it waits for an instance no longer than the maximum
    /// event age, a failure is retried as configured, and the last failure's record goes to
    /// the on-failure destination
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>).
    async fn run(self, event: Bytes) {
        let queued = std::time::Instant::now();
        let mut attempts = 0u32;
        let (condition, error) = loop {
            delay(self.latency).await;
            let age_left = self.spec.max_event_age.saturating_sub(queued.elapsed());
            let outcome = match self.function.invoke_within(event.to_vec(), age_left).await {
                None => break ("EventAgeExceeded", None),
                Some(Ok(invocation)) => invocation.collect().await,
                Some(Err(error)) => Err(error),
            };
            attempts += 1;
            match outcome {
                Ok(_) => return,
                Err(error) if attempts > self.spec.retries => {
                    break ("RetriesExhausted", Some(error));
                }
                Err(_) => tokio::time::sleep(RETRY_DELAY).await,
            }
        };
        let record = json!({
            "version": "1.0",
            "requestContext": {
                "functionArn": format!("arn:aws:lambda:local:000000000000:function:{}:$LATEST", self.spec.function),
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": serde_json::from_slice::<Value>(&event)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&event).into_owned())),
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "responsePayload": error.map(|e| json!({ "errorType": e.kind, "errorMessage": e.message })),
        });
        // The destination is invoked asynchronously too; what it does is its own business.
        if let Ok(invocation) = self.on_failure.invoke(to_json(&record)).await {
            let _ = invocation.collect().await;
        }
    }
}

// ----- Function URL (SSE) ----------------------------------------------------------------

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

async fn function_url(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let Some((_, function)) = shared.function(Trigger::FunctionUrlStreaming) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 6 * 1024 * 1024).await else {
        return error_response(&ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is over Lambda's 6 MB payload limit",
        ));
    };
    let event = function_url_event(&parts.method, &parts.uri, &parts.headers, &body, peer);
    delay(shared.gateway.latencies.invoke).await;
    match function.invoke(to_json(&event)).await {
        Ok(invocation) if invocation.streaming => streamed(invocation).await,
        Ok(invocation) => match invocation.collect().await {
            Ok(body) => proxy_response(&body),
            Err(error) => error_response(&internal_error(&error)),
        },
        Err(error) => error_response(&internal_error(&error)),
    }
}

fn function_url_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    peer: SocketAddr,
) -> ApiGatewayV2httpRequest {
    let mut event = ApiGatewayV2httpRequest::default();
    let query = uri.query().unwrap_or_default();
    event.version = Some("2.0".into());
    event.route_key = Some("$default".into());
    event.raw_path = Some(uri.path().into());
    event.raw_query_string = Some(query.into());
    event.query_string_parameters = query.parse::<QueryMap>().unwrap_or_default();
    event.headers = headers.clone();
    (event.body, event.is_base64_encoded) = event_body(body);
    let context = &mut event.request_context;
    context.route_key = Some("$default".into());
    context.stage = Some("$default".into());
    context.account_id = Some("anonymous".into());
    context.apiid = Some("local".into());
    context.domain_name = Some(host(headers));
    context.time_epoch = epoch_ms();
    context.http.method = method.clone();
    context.http.path = Some(uri.path().into());
    context.http.protocol = Some("HTTP/1.1".into());
    context.http.source_ip = Some(peer.ip().to_string());
    context.http.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    event
}

/// Reads the HTTP integration prelude (`{statusCode, headers, cookies}` then eight NUL
/// bytes) and streams the rest of the body to the client as it arrives.
async fn streamed(mut invocation: Invocation) -> Response {
    const DELIMITER: &[u8] = &[0; 8];
    let mut head = Vec::new();
    let rest = loop {
        match invocation.body.recv().await {
            Some(Ok(chunk)) => {
                head.extend_from_slice(&chunk);
                if let Some(at) = head.windows(8).position(|w| w == DELIMITER) {
                    break head.split_off(at + 8)[..].to_vec();
                }
            }
            Some(Err(error)) => return error_response(&internal_error(&error)),
            None => {
                return error_response(&ApiError::new(
                    ErrorCode::InternalError,
                    "the function's streamed response had no HTTP prelude",
                ));
            }
        }
    };
    let prelude: Value = serde_json::from_slice(&head[..head.len() - 8]).unwrap_or_default();
    let mut response = Response::builder().status(
        prelude["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200),
    );
    if let Some(headers) = prelude["headers"].as_object() {
        for (name, value) in headers {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                response = response.header(name, value);
            }
        }
    }
    let first = (!rest.is_empty()).then(|| Ok::<_, std::io::Error>(Bytes::from(rest)));
    // Dropping this stream (the client left) drops the invocation, which the function sees
    // as a failed write.
    let body = futures_util::stream::iter(first).chain(futures_util::stream::unfold(
        Some(invocation),
        |state| async move {
            let mut invocation = state?;
            match invocation.body.recv().await {
                Some(Ok(chunk)) => Some((Ok(chunk), Some(invocation))),
                // A Function URL would cut the connection; the protocol's error event says why.
                Some(Err(error)) => {
                    let event = format!(
                        "event: error\ndata: {}\n\n",
                        json!({ "error": internal_error(&error) })
                    );
                    Some((Ok(Bytes::from(event)), None))
                }
                None => None,
            }
        },
    ));
    response
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A buffered proxy response (`{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`).
fn proxy_response(body: &[u8]) -> Response {
    let Ok(document) = serde_json::from_slice::<Value>(body) else {
        return error_response(&ApiError::new(
            ErrorCode::InternalError,
            "the function returned a malformed proxy response",
        ));
    };
    let status = document["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    let mut add = |name: &str, value: &Value| {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::try_from(name),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.append(name, value);
        }
    };
    if let Some(single) = document["headers"].as_object() {
        for (name, value) in single {
            add(name, value);
        }
    }
    if let Some(multi) = document["multiValueHeaders"].as_object() {
        for (name, values) in multi {
            for value in values.as_array().into_iter().flatten() {
                add(name, value);
            }
        }
    }
    let text = document["body"].as_str().unwrap_or_default();
    let body = if document["isBase64Encoded"].as_bool() == Some(true) {
        BASE64.decode(text).unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    (status, headers, body).into_response()
}

// ----- REST ------------------------------------------------------------------------------

async fn rest(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let Some((_, function)) = shared.function(Trigger::Rest) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (parts, body) = request.into_parts();
    // API Gateway takes 10 MB, but Lambda's invocation payload is 6 MB: it answers 413 above.
    let Ok(body) = axum::body::to_bytes(body, 6 * 1024 * 1024).await else {
        return error_response(&ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is over Lambda's 6 MB payload limit",
        ));
    };
    let mut event = ApiGatewayProxyRequest::default();
    let query = parts.uri.query().unwrap_or_default();
    // The REST API has one resource, /generate; the origin serves it under its route.
    event.resource = Some("/generate".into());
    event.path = Some("/generate".into());
    event.http_method = parts.method.clone();
    event.headers = parts.headers.clone();
    event.multi_value_headers = parts.headers.clone();
    event.query_string_parameters = query.parse::<QueryMap>().unwrap_or_default();
    event.multi_value_query_string_parameters = event.query_string_parameters.clone();
    (event.body, event.is_base64_encoded) = event_body(&body);
    let context = &mut event.request_context;
    context.stage = Some("local".into());
    context.resource_path = Some("/generate".into());
    context.path = Some("/local/generate".into());
    context.http_method = parts.method;
    context.request_time_epoch = epoch_ms();
    context.identity.source_ip = Some(peer.ip().to_string());
    context.apiid = Some("local".into());
    context.request_id = Some(format!("local-{}", shared.next_id()));
    let call = async {
        delay(shared.gateway.latencies.invoke).await;
        function.invoke(to_json(&event)).await?.collect().await
    };
    match tokio::time::timeout(limits::INTEGRATION_TIMEOUT, call).await {
        Ok(Ok(body)) => proxy_response(&body),
        Ok(Err(error)) => error_response(&internal_error(&error)),
        Err(_) => error_response(&ApiError::new(
            ErrorCode::Timeout,
            "Endpoint request timed out (API Gateway's 29 s integration timeout)",
        )),
    }
}

// ----- config, status, static files ------------------------------------------------------

async fn config(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let host = host(&headers);
    let mut strategies = serde_json::Map::new();
    for (service, _) in &shared.gateway.functions {
        let scheme = if service.trigger == Trigger::WebSocket {
            "ws"
        } else {
            "http"
        };
        strategies.insert(
            service.strategy.clone(),
            json!({ "url": format!("{scheme}://{host}{}", service.route) }),
        );
    }
    let mut document = shared.gateway.config.clone();
    document["strategies"] = Value::Object(strategies);
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(document)).into_response()
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let mut functions = serde_json::Map::new();
    let every = shared.gateway.functions.iter().map(|(_, f)| f);
    for function in every.chain(shared.gateway.workers.iter().map(|w| &w.function)) {
        let counts = function.counts();
        functions.insert(
            function.name().to_string(),
            json!({ "idle": counts.idle, "busy": counts.busy, "started": counts.started, "replaced": counts.replaced }),
        );
    }
    let bedrock = shared.gateway.bedrock.as_ref().map(|fake| {
        let stats = fake.stats();
        json!({ "calls": stats.calls, "completed": stats.completed, "hangups": stats.hangups })
    });
    let connections = lock(&shared.connections).len();
    axum::Json(json!({ "functions": functions, "bedrock": bedrock, "connections": connections }))
        .into_response()
}

fn content_type(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The built web app, with the SPA fallback the CDN has; strategy paths the project does not
/// have answer 404, as PROTOCOL.md says.
async fn static_file(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let path = uri.path();
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if matches!(first, "ws" | "sse" | "api" | "@connections" | "_local") {
        let message = format!("nothing at {path}: this project has no strategy there\n");
        return (StatusCode::NOT_FOUND, message).into_response();
    }
    let Some(root) = &shared.gateway.web_root else {
        return (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            index_page(&shared.gateway.functions),
        )
            .into_response();
    };
    let relative = path.trim_start_matches('/');
    let safe = !relative.split('/').any(|part| part == "..");
    let candidate = root.join(if relative.is_empty() {
        "index.html"
    } else {
        relative
    });
    let file = if safe && candidate.is_file() {
        candidate
    } else {
        root.join("index.html")
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn index_page(functions: &[(Service, Arc<Function>)]) -> String {
    let rows: String = functions
        .iter()
        .map(|(s, _)| {
            format!(
                "<li><code>{}</code> {} ({})</li>",
                s.route, s.strategy, s.name
            )
        })
        .collect();
    format!(
        "<!doctype html><title>local stack</title><h1>Local stack</h1>\
         <p>No built web app (client/web/dist). Strategies:</p><ul>{rows}</ul>\
         <p><a href=\"/config.json\">config.json</a> · <a href=\"/_local/status\">status</a></p>"
    )
}
