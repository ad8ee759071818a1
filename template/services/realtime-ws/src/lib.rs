//! WebSocket strategy: API Gateway routes `$connect`, `$disconnect` and client messages
//! (`{"action":"generate", ...}`) here, and every server frame goes back through the
//! API Gateway Management API (`POST @connections/{id}`).
//!
//! Two Lambda functions run this binary, told apart by what invokes them ([`Invocation`]):
//! - The **connection function** is behind every route. API Gateway invokes it synchronously
//!   and stops waiting after 29 s, a WebSocket integration timeout that cannot be raised
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>). So it only
//!   checks a message, hands the generation to the generation function with Lambda's Invoke
//!   API (`InvocationType=Event`, which returns once Lambda has queued the event:
//!   <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html>) and answers at once.
//!   `$connect` and `$disconnect` never wait behind generations: they are this function's
//!   own, and it has no share in the generations' concurrency cap.
//! - The **generation function** runs one generation per invocation and posts every frame
//!   itself, for as long as its own timeout allows.
//! - A generation that fails as an invocation (its process crashed or timed out, or the event
//!   waited in Lambda's queue past its maximum age) is not retried: a retry would post the
//!   answer again from `seq` 0. Lambda sends its record to the on-failure destination, the
//!   connection function, which posts the protocol's error frame to the connection named in
//!   the record's copy of the event
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>).
//!   A record without that copy names no connection: it is logged, and the client's own
//!   deadline ends its wait.
//! - A generation runs once. Lambda may deliver an asynchronous event more than once even when
//!   nothing failed ("your function may receive the same event multiple times, even if no
//!   error occurs": <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>; and
//!   <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html>), and
//!   a second copy would post a new answer from `seq` 0 and bill the model twice. So the
//!   connection function names every generation it starts ([`Generation::generation_id`]),
//!   and the generation function first records that name in a DynamoDB table with a
//!   conditional write ([`Ledger`]); a copy whose write finds the name taken posts nothing and
//!   calls no model. This is the pattern of Powertools for AWS Lambda's idempotency utility
//!   (<https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/>).
//!
//! Streaming is adaptive: at most one post is in flight per request; text that arrives while
//! a post is under way goes out together in the next frame. With a fast gateway every delta
//! is its own frame; with a slow one frames grow instead of queueing. When the model ends, up
//! to one post is still in flight; a client that sent `"tailInSuccess": true` then gets the
//! rest of the text inside the success frame, so its answer is complete at most two posts
//! after the model's; other clients (the original sample's) get it as a last chunk first.
//!
//! Chunk frames also keep a floor between them ([`App::min_frame`]: declared in Cargo.toml,
//! `WS_MIN_FRAME_MS` overrides it): API Gateway bills every frame as a message
//! (<https://aws.amazon.com/api-gateway/pricing/>), so with posts faster than the floor, text
//! waits for it and goes out together. The first chunk goes at once and the answer's end never
//! waits, so an answer of S seconds posts at most S / floor + 2 frames (+1 for a client without
//! the tail), its first text is not delayed, and it ends as it would without the floor.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::types::InvocationType;
use genai::ORIGIN_SECRET_HEADER;
use genai::{ApiError, Completion, ErrorCode, Event, Events, GenAi, GenerateRequest, Metrics};
use lambda_runtime::tracing::Instrument;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// The frame floor and the worker's variables, from the service's declaration (build.rs).
include!(concat!(env!("OUT_DIR"), "/declared.rs"));

/// The least time between two chunk frames: `value` (the variable [`MIN_FRAME_ENV`]), in
/// milliseconds, 0 for none; without it, the declared [`DEFAULT_MIN_FRAME_MS`]. A floor over a
/// minute could only be a typo (no answer's text should wait that long), so it is refused.
pub fn min_frame(value: Option<&str>) -> Result<Duration, String> {
    let Some(value) = value else {
        return Ok(Duration::from_millis(DEFAULT_MIN_FRAME_MS));
    };
    match value.trim().parse::<u64>() {
        Ok(ms) if ms <= 60_000 => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "{MIN_FRAME_ENV}={value:?}: give whole milliseconds from 0 (no floor) to 60000"
        )),
    }
}

/// API Gateway's WebSocket frame limit; no frame we post is larger.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// The longest `requestId` a client may send (PROTOCOL.md). Every frame of a request echoes
/// it, so an unbounded id could leave no room under [`MAX_FRAME_BYTES`] for the answer.
pub const MAX_REQUEST_ID_BYTES: usize = 128;

/// What the handler needs, made once per container.
pub struct App {
    /// The shared GenAI service.
    pub genai: GenAi,
    /// Clients of the API Gateway Management API.
    pub connections: Connections,
    /// Where the connection function hands generations to.
    pub generations: Generations,
    /// The least time between two chunk frames of an answer ([`min_frame`]).
    pub min_frame: Duration,
    /// Where the generation function records the generations it runs.
    pub ledger: Ledger,
}

/// What invoked the function; each shape belongs to one of the two roles (module docs).
///
/// The shapes are tried in this order. A failure record comes first and is told apart only by
/// what makes it one ([`FailureRecord`]), so whatever else it has or lacks it is never read as
/// a generation or a route.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// Lambda's record of a generation that failed as an invocation, sent to its on-failure
    /// destination (the connection function's role).
    Failed(FailureRecord),
    /// The connection function handing over a generation (the generation function's role).
    Generation {
        /// The generation to run.
        generation: Generation,
    },
    /// An API Gateway route: `$connect`, `$disconnect` or a message (the connection
    /// function's role).
    Route(Box<ApiGatewayWebsocketProxyRequest>),
}

/// One generation, as the connection function hands it to the generation function.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Generation {
    /// The generation's name, made by the connection function (API Gateway's id of the
    /// message: `requestContext.requestId`), so every copy Lambda delivers carries the same
    /// one. The client's `requestId` cannot serve: it is optional and the client's to choose.
    pub generation_id: String,
    /// The Management API endpoint of the connection's stage, `https://{domain}/{stage}`.
    pub endpoint: String,
    /// The connection the frames go to.
    pub connection_id: String,
    /// The client's id for the request, echoed in every frame.
    pub request_id: Option<String>,
    /// The client reads the success frame's `tail` (PROTOCOL.md).
    #[serde(default)]
    pub tail_in_success: bool,
    /// The client's request, checked again before the model sees it.
    pub payload: Value,
    /// When the connection function got the message (ms since the Unix epoch); the metrics
    /// count from here, as every strategy's do from the service receiving the request.
    pub received_at_ms: u64,
}

/// The invocation record Lambda sends to an on-failure destination (the fields read here).
///
/// AWS documents it as `version`, `timestamp`, `requestContext` (`requestId`, `functionArn`,
/// `condition`, `approximateInvokeCount`), `requestPayload` (the event), `responseContext` and
/// `responsePayload` (the function's error, when it ran)
/// (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>).
/// AWS's example is the record of a function that ran; the record of an event that expired
/// before any attempt may lack `requestPayload`, `responseContext` and `responsePayload`. So
/// only `requestContext.condition` and `requestContext.functionArn` are required: no other
/// event this function receives has them, and nothing else is relied on.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    request_context: FailureContext,
    /// The event that failed, as it was handed over; not read until it is needed, so a record
    /// whose event is not a generation is still a record.
    #[serde(default)]
    request_payload: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureContext {
    /// `RetriesExhausted` (the invocation failed), `EventAgeExceeded` (it never ran), or any
    /// other that Lambda may send.
    condition: String,
    /// Never read: it marks the record, with `condition`.
    #[serde(rename = "functionArn")]
    _function_arn: IgnoredAny,
    /// Lambda's id for the failed invocation, which its own logs carry; any type is accepted
    /// and only a string kept, so an odd id cannot unmake the record.
    #[serde(default)]
    request_id: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct GenerationEvent {
    generation: Generation,
}

/// Management API clients, one per callback endpoint (a stage), made on first use.
pub struct Connections {
    base: aws_sdk_apigatewaymanagement::config::Builder,
    endpoint_override: Option<String>,
    clients: Mutex<HashMap<String, aws_sdk_apigatewaymanagement::Client>>,
}

impl Connections {
    /// Clients built from `base`, for the endpoint of each event or `endpoint_override`
    /// ([`genai::config::WS_CALLBACK_ENV`]: a custom domain, or the local stack).
    pub fn new(
        base: aws_sdk_apigatewaymanagement::config::Builder,
        endpoint_override: Option<String>,
    ) -> Self {
        Connections {
            base,
            endpoint_override,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The endpoint that reaches the connection of `event`.
    fn endpoint(&self, event: &ApiGatewayWebsocketProxyRequest) -> String {
        self.endpoint_override.clone().unwrap_or_else(|| {
            let context = &event.request_context;
            format!(
                "https://{}/{}",
                context.domain_name.as_deref().unwrap_or_default(),
                context.stage.as_deref().unwrap_or_default()
            )
        })
    }

    fn connection(&self, endpoint: &str, id: String) -> Connection {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let client = clients
            .entry(endpoint.to_string())
            .or_insert_with(|| {
                aws_sdk_apigatewaymanagement::Client::from_conf(
                    self.base.clone().endpoint_url(endpoint).build(),
                )
            })
            .clone();
        Connection { client, id }
    }
}

/// Lambda's Invoke API, through which the connection function starts generations.
pub struct Generations {
    client: aws_sdk_lambda::Client,
    function: Option<String>,
}

impl Generations {
    /// Starts generations in `function` ([`WORKER_ENV`], set on the connection function
    /// only) with `client`.
    pub fn new(client: aws_sdk_lambda::Client, function: Option<String>) -> Self {
        Generations { client, function }
    }

    async fn start(&self, generation: Generation) -> Result<(), ApiError> {
        let Some(function) = &self.function else {
            return Err(ApiError::new(
                ErrorCode::InternalError,
                format!(
                    "{WORKER_ENV} is not set, so this function cannot start answers: deploy \
                     with the project's infrastructure (or run make dev), which sets it"
                ),
            ));
        };
        // A WebSocket message is at most 128 KB, well inside an asynchronous invocation's
        // payload limit (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
        let payload = serde_json::to_vec(&GenerationEvent { generation })
            .map_err(|e| ApiError::new(ErrorCode::InternalError, e.to_string()))?;
        let invoked = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await;
        match invoked {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), InvokeError::TooManyRequestsException(_)) =>
            {
                Err(ApiError::new(
                    ErrorCode::Throttled,
                    "too many answers are starting at once; try again in a moment",
                ))
            }
            Err(e) => {
                // The whole error (ARNs, the account) is for the operator's log only.
                lambda_runtime::tracing::error!(
                    error = %aws_sdk_lambda::error::DisplayErrorContext(&e),
                    "Invoke of the generation function failed"
                );
                Err(ApiError::new(
                    ErrorCode::InternalError,
                    "could not start the answer; try again",
                ))
            }
        }
    }
}

/// The table where the generation function records each generation before it runs it, so a
/// second copy of the same event runs nothing (module docs).
pub struct Ledger {
    client: aws_sdk_dynamodb::Client,
    table: Option<String>,
}

/// How long a generation's record is kept: longer than any copy of its event can arrive.
/// Lambda discards an event older than the function's maximum event age, at most 6 hours
/// (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html>), and a
/// generation runs at most its function's timeout (15 minutes at most) after that. DynamoDB
/// deletes an expired record within days, free of charge, and until then it still blocks a
/// copy (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html>): names
/// are never reused, so an expired record has no other use.
pub const LEDGER_KEEP: Duration = Duration::from_secs(24 * 60 * 60);

/// The table's key: the generation's name (a string).
pub const LEDGER_KEY: &str = "generationId";

/// The record's expiry, seconds since the Unix epoch: the table's time-to-live attribute.
pub const LEDGER_EXPIRES: &str = "expiresAt";

/// Which attempt wrote the record: an SDK retry of our own write that had in fact succeeded
/// finds the record taken, and must not take its own generation for a copy.
const LEDGER_ATTEMPT: &str = "attempt";

/// What the ledger says of a generation.
#[derive(Debug, PartialEq, Eq)]
enum Claim {
    /// This copy recorded it first: run it.
    First,
    /// Another copy recorded it: run nothing.
    Duplicate,
}

impl Ledger {
    /// Records generations in `table` ([`LEDGER_ENV`], set on the generation function only)
    /// with `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: Option<String>) -> Self {
        Ledger { client, table }
    }

    /// Records `generation_id` unless a record of it exists: one conditional `PutItem`,
    /// atomic in DynamoDB, so of concurrent copies on any instances exactly one is first
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>).
    async fn claim(&self, generation_id: &str) -> Result<Claim, ApiError> {
        let Some(table) = &self.table else {
            return Err(ApiError::new(
                ErrorCode::InternalError,
                format!(
                    "{LEDGER_ENV} is not set, so the generation function cannot tell a \
                     duplicate event: deploy with the project's infrastructure (or run make \
                     dev), which sets it"
                ),
            ));
        };
        let attempt = unique_token();
        let expires = (SystemTime::now() + LEDGER_KEEP)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let put = self
            .client
            .put_item()
            .table_name(table)
            .item(LEDGER_KEY, AttributeValue::S(generation_id.to_string()))
            .item(LEDGER_EXPIRES, AttributeValue::N(expires.to_string()))
            .item(LEDGER_ATTEMPT, AttributeValue::S(attempt.clone()))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", LEDGER_KEY)
            // The record that stopped the write comes back with the error, so a retry of our
            // own write is told from a copy without a second call
            // (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html>).
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::First),
            Err(SdkError::ServiceError(e)) => match e.err() {
                PutItemError::ConditionalCheckFailedException(taken) => {
                    let ours = taken
                        .item()
                        .and_then(|item| item.get(LEDGER_ATTEMPT))
                        .and_then(|value| value.as_s().ok())
                        .is_some_and(|written| *written == attempt);
                    Ok(if ours { Claim::First } else { Claim::Duplicate })
                }
                PutItemError::ProvisionedThroughputExceededException(_)
                | PutItemError::RequestLimitExceeded(_)
                | PutItemError::ThrottlingException(_) => Err(ApiError::new(
                    ErrorCode::Throttled,
                    "too many answers are starting at once; try again in a moment",
                )),
                _ => Err(ledger_failed(&SdkError::ServiceError(e))),
            },
            Err(e) => Err(ledger_failed(&e)),
        }
    }
}

/// The protocol's error for a ledger that could not answer, the whole error logged for the
/// operator (it names the table and the account).
fn ledger_failed<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: &SdkError<E, R>,
) -> ApiError {
    lambda_runtime::tracing::error!(
        error = %aws_sdk_dynamodb::error::DisplayErrorContext(error),
        "the ledger of generations did not answer"
    );
    ApiError::new(
        ErrorCode::InternalError,
        "could not start the answer; try again",
    )
}

/// A name no other call gives: 64 random bits from the standard library's random hash keys
/// (seeded by the operating system), mixed with the clock. It names one attempt to record a
/// generation, which only has to differ between the copies of one event.
fn unique_token() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}

/// A client message: `{ "action": "generate", "requestId": "...", "payload": { ... } }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientMessage {
    action: String,
    request_id: Option<String>,
    payload: Option<Value>,
    /// The client reads the success frame's `tail` (PROTOCOL.md), which saves one post.
    #[serde(default)]
    tail_in_success: bool,
}

/// Handles one invocation; a route gets API Gateway's answer, the others nothing.
pub async fn handle(app: &App, invocation: Invocation) -> Option<ApiGatewayProxyResponse> {
    match invocation {
        Invocation::Route(event) => Some(route(app, *event).await),
        Invocation::Generation { generation } => {
            generate(app, generation).await;
            None
        }
        Invocation::Failed(record) => {
            // Every line logged for the record carries Lambda's account of the failure, so an
            // operator can find the failed invocation's own logs from it.
            let context = &record.request_context;
            let failed_request_id = context.request_id.as_ref().and_then(Value::as_str);
            let span = lambda_runtime::tracing::error_span!(
                "failure_record",
                condition = %context.condition,
                failed_request_id = failed_request_id.unwrap_or_default(),
            );
            report_failure(app, record).instrument(span).await;
            None
        }
    }
}

/// The connection function: answers a route within API Gateway's 29 s, never generating.
async fn route(app: &App, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let route = event
        .request_context
        .route_key
        .as_deref()
        .unwrap_or("$default");
    match route {
        "$connect" => {
            // Only through the CDN (its origin secret), and of browsers, which always send
            // Origin, only the app's own origins may open a socket.
            let config = app.genai.config();
            let header = |name: &str| event.headers.get(name).and_then(|v| v.to_str().ok());
            let origin = header("origin");
            let allowed = config.came_through_cdn(header(ORIGIN_SECRET_HEADER))
                && origin.is_none_or(|o| config.allows_origin(o));
            return respond(if allowed { 200 } else { 403 });
        }
        "$disconnect" => return respond(200),
        _ => {}
    }
    if is_ping(&event) {
        // Keep-alive (PROTOCOL.md): the message itself reset API Gateway's idle timer.
        return respond(200);
    }
    let received_at_ms = epoch_ms();
    let Some(connection_id) = event.request_context.connection_id.clone() else {
        return respond(400);
    };
    let endpoint = app.connections.endpoint(&event);
    let (heard, request) = read_message(&event, &app.genai.config().limits);
    let started = match request {
        Err(error) => Err(error),
        Ok(_) => {
            let generation = Generation {
                // API Gateway gives every message one; should it not, a name of our own.
                generation_id: event
                    .request_context
                    .request_id
                    .clone()
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(unique_token),
                endpoint: endpoint.clone(),
                connection_id: connection_id.clone(),
                request_id: heard.request_id.clone(),
                tail_in_success: heard.tail_in_success,
                payload: heard.payload,
                received_at_ms,
            };
            app.generations.start(generation).await
        }
    };
    if let Err(error) = started {
        genai::log::failed("websocket", &error);
        let connection = app.connections.connection(&endpoint, connection_id);
        let mut frames = Frames {
            request_id: heard.request_id,
            seq: 0,
        };
        let _ = connection.post(frames.error(&error)).await;
    }
    respond(200)
}

/// The generation function: one answer, every frame posted to the connection; nothing for a
/// copy of an event whose generation another copy has begun.
async fn generate(app: &App, generation: Generation) {
    let received = instant_of(generation.received_at_ms);
    // Before anything is posted or the model called. A ledger that cannot answer fails
    // closed, as Powertools' idempotency utility does: running anyway could post a second
    // answer and bill the model twice, and the error frame lets the client try again.
    let claimed = app.ledger.claim(&generation.generation_id).await;
    if claimed == Ok(Claim::Duplicate) {
        lambda_runtime::tracing::warn!(
            strategy = "websocket",
            generation_id = %generation.generation_id,
            "a copy of a generation event another copy has begun: nothing posted"
        );
        return;
    }
    let connection = app
        .connections
        .connection(&generation.endpoint, generation.connection_id);
    let mut frames = Frames {
        request_id: generation.request_id,
        seq: 0,
    };
    let outcome = match claimed {
        Err(error) => Err(error),
        Ok(_) => match check_payload(generation.payload, &app.genai.config().limits) {
            Err(error) => Err(error),
            Ok(valid) => app.genai.generate(&valid).await,
        },
    };
    match outcome {
        Err(error) => {
            genai::log::failed("websocket", &error);
            let _ = connection.post(frames.error(&error)).await;
        }
        Ok(answer) => {
            let events = answer.into_events();
            let tail = generation.tail_in_success;
            let floor = app.min_frame;
            stream(&connection, events, &mut frames, received, tail, floor).await
        }
    }
}

/// The connection function as the on-failure destination: the client gets the request's end.
/// The frame has no `seq`: only the failed invocation knew how many frames it had posted
/// (PROTOCOL.md).
async fn report_failure(app: &App, record: FailureRecord) {
    // The connection is named only in the event, so a record without it, or with an event that
    // is not a generation, can tell no client: the client's own deadline ends its wait. The
    // line says so; the parse error is left out, as it may quote the event, prompt and all.
    let Some(payload) = record.request_payload else {
        lambda_runtime::tracing::error!(
            strategy = "websocket",
            "a generation failed and its record has no request payload: no client can be told"
        );
        return;
    };
    let Ok(GenerationEvent { generation }) = serde_json::from_value(payload) else {
        lambda_runtime::tracing::error!(
            strategy = "websocket",
            "a failure record's request payload is not a generation event: no client can be told"
        );
        return;
    };
    let error = match record.request_context.condition.as_str() {
        "EventAgeExceeded" => ApiError::new(
            ErrorCode::Throttled,
            "too many answers are running at once; try again in a minute",
        ),
        "RetriesExhausted" => ApiError::new(
            ErrorCode::InternalError,
            "the answer failed part way; try again",
        ),
        // Any other condition (Lambda may add some): the generation ended all the same.
        _ => ApiError::new(ErrorCode::InternalError, "the answer failed; try again"),
    };
    genai::log::failed("websocket", &error);
    let frame = json!({ "type": "error", "requestId": generation.request_id, "payload": error });
    let connection = app
        .connections
        .connection(&generation.endpoint, generation.connection_id);
    let _ = connection.post(frame.to_string().into_bytes()).await;
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The instant `epoch_ms` was, on this process's monotonic clock (now, if it is in the future).
fn instant_of(epoch_ms_then: u64) -> Instant {
    let ago = Duration::from_millis(epoch_ms().saturating_sub(epoch_ms_then));
    Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
}

/// `{"action":"ping"}`: a client keeping an idle connection open; it gets no answer.
fn is_ping(event: &ApiGatewayWebsocketProxyRequest) -> bool {
    !event.is_base64_encoded
        && serde_json::from_str::<ClientMessage>(event.body.as_deref().unwrap_or_default())
            .is_ok_and(|message| message.action == "ping")
}

/// What the handler keeps of a client message besides the request itself.
#[derive(Default)]
struct Heard {
    request_id: Option<String>,
    tail_in_success: bool,
    payload: Value,
}

/// A request's payload, checked: what breaks a rule never reaches the model.
fn check_payload(
    payload: Value,
    limits: &genai::config::Limits,
) -> Result<genai::ValidRequest, ApiError> {
    serde_json::from_value::<GenerateRequest>(payload)
        .map_err(|e| ApiError::bad_request(format!("payload is not a valid request: {e}")))
        .and_then(|request| genai::validate(request, limits))
}

/// Parses and checks a client message; a message that breaks a rule never reaches the model.
fn read_message(
    event: &ApiGatewayWebsocketProxyRequest,
    limits: &genai::config::Limits,
) -> (Heard, Result<genai::ValidRequest, ApiError>) {
    if event.is_base64_encoded {
        return (
            Heard::default(),
            Err(ApiError::bad_request(
                "binary frames are not supported; send JSON text",
            )),
        );
    }
    let message: ClientMessage =
        match serde_json::from_str(event.body.as_deref().unwrap_or_default()) {
            Ok(message) => message,
            Err(e) => {
                return (
                    Heard::default(),
                    Err(ApiError::bad_request(format!(
                        "the message is not valid JSON for this API: {e}"
                    ))),
                );
            }
        };
    if message
        .request_id
        .as_ref()
        .is_some_and(|id| id.len() > MAX_REQUEST_ID_BYTES)
    {
        // Not echoed: the error frame itself must fit.
        let error = ApiError::bad_request(format!(
            "requestId is longer than {MAX_REQUEST_ID_BYTES} bytes; send a short id (a UUID fits)"
        ));
        return (Heard::default(), Err(error));
    }
    let heard = Heard {
        request_id: message.request_id,
        tail_in_success: message.tail_in_success,
        payload: message.payload.unwrap_or(Value::Null),
    };
    if message.action != "generate" {
        let error = ApiError::bad_request(format!(
            "unknown action '{}'; send \"generate\"",
            message.action
        ));
        return (heard, Err(error));
    }
    let request = check_payload(heard.payload.clone(), limits);
    (heard, request)
}

/// Numbers the frames of one request from 0, without gaps.
struct Frames {
    request_id: Option<String>,
    seq: u64,
}

impl Frames {
    fn frame(&mut self, kind: &str, payload: Value) -> Vec<u8> {
        let frame = json!({ "type": kind, "requestId": self.request_id, "seq": self.seq, "payload": payload });
        self.seq += 1;
        frame.to_string().into_bytes()
    }

    fn error(&mut self, error: &ApiError) -> Vec<u8> {
        self.frame("error", json!(error))
    }

    /// A chunk frame with as much of `pending` as fits under the frame limit; the rest stays.
    fn chunk(&mut self, pending: &mut String) -> Vec<u8> {
        let mut take = pending.len();
        loop {
            let text = &pending[..take];
            let size = json!({ "type": "chunk", "requestId": self.request_id, "seq": self.seq, "payload": { "text": text } })
                .to_string()
                .len();
            if size <= MAX_FRAME_BYTES || take <= first_char_len(pending) {
                break;
            }
            take = cut_point(pending, take / 2);
        }
        let rest = pending.split_off(take);
        let text = std::mem::replace(pending, rest);
        self.frame("chunk", json!({ "text": text }))
    }

    /// The success frame, with `tail` (the text not yet sent) for a client that asked for it;
    /// `None` when even without the full text the tail does not fit: send a chunk first.
    fn success(
        &mut self,
        text: &str,
        tail: Option<&str>,
        done: &Completion,
        metrics: Metrics,
    ) -> Option<Vec<u8>> {
        let payload = |text: &str| {
            let mut payload = json!({ "text": text, "usage": done.usage, "metrics": metrics, "stopReason": done.stop_reason });
            if let Some(tail) = tail {
                payload["tail"] = json!(tail);
            }
            payload
        };
        let fits = |payload: &Value| {
            let frame = json!({ "type": "success", "requestId": self.request_id, "seq": self.seq, "payload": payload });
            frame.to_string().len() <= MAX_FRAME_BYTES
        };
        let mut last = payload(text);
        if !fits(&last) {
            // The full text no longer fits in one frame: the client holds it, in order, from
            // the chunks (and the tail), so the frame says so instead of breaking the limit.
            last = payload("");
            last["textInChunks"] = json!(true);
        }
        fits(&last).then(|| self.frame("success", last))
    }
}

fn first_char_len(s: &str) -> usize {
    s.chars().next().map_or(0, char::len_utf8)
}

/// Where to cut `s` at or below `index`: on a character boundary, and after the first
/// character at least, so a cut never splits a character and always makes progress.
fn cut_point(s: &str, index: usize) -> usize {
    let mut index = index.min(s.len());
    while !s.is_char_boundary(index) {
        index -= 1;
    }
    index.max(first_char_len(s))
}

type Post = Pin<Box<dyn Future<Output = Result<(), Delivery>> + Send>>;

/// Why a frame was not delivered.
#[derive(Debug, PartialEq, Eq)]
enum Delivery {
    /// 410: the client left.
    Gone,
    /// Anything else the Management API answered.
    Failed,
}

struct Connection {
    client: aws_sdk_apigatewaymanagement::Client,
    id: String,
}

impl Connection {
    fn post(&self, frame: Vec<u8>) -> Post {
        let call = self
            .client
            .post_to_connection()
            .connection_id(&self.id)
            .data(Blob::new(frame));
        Box::pin(async move {
            match call.send().await {
                Ok(_) => Ok(()),
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), PostToConnectionError::GoneException(_)) =>
                {
                    Err(Delivery::Gone)
                }
                Err(_) => Err(Delivery::Failed),
            }
        })
    }
}

/// Streams one generation to the connection with adaptive coalescing and the frame floor (see
/// the module docs). Returning drops `events`, which stops the model: that is what a 410 does.
async fn stream(
    connection: &Connection,
    mut events: Events,
    frames: &mut Frames,
    received: Instant,
    tail_in_success: bool,
    floor: Duration,
) {
    let mut pending = String::new();
    let mut full = String::new();
    let mut ended: Option<Result<Completion, ApiError>> = None;
    let mut in_flight: Option<Post> = None;
    // When the last chunk was posted, and, while text waits for the floor, when it may go.
    let mut last_chunk: Option<Instant> = None;
    let mut held_until: Option<Instant> = None;
    loop {
        if in_flight.is_none() {
            let last = match &ended {
                Some(Ok(done)) if pending.is_empty() || tail_in_success => {
                    let metrics = Metrics::measure(
                        received,
                        events.first_token_at(),
                        done.model_latency_ms,
                        events.cold_start(),
                    );
                    let tail = tail_in_success.then_some(pending.as_str());
                    let last = frames.success(&full, tail, done, metrics).or_else(|| {
                        // With a bounded requestId an empty success frame always fits; should
                        // it not, the client still gets the request's end, never silence.
                        pending.is_empty().then(|| {
                            frames.error(&ApiError::new(
                                ErrorCode::InternalError,
                                "the answer's last frame does not fit API Gateway's frame limit",
                            ))
                        })
                    });
                    if last.is_some() {
                        genai::log::finished("websocket", &metrics, done);
                    }
                    last
                }
                Some(Err(error)) if pending.is_empty() => {
                    genai::log::failed("websocket", error);
                    Some(frames.error(error))
                }
                _ => None,
            };
            if let Some(last) = last {
                let _ = connection.post(last).await;
                return;
            }
            if !pending.is_empty() {
                // The first chunk, and text left when the model has ended, go at once.
                let due = match last_chunk {
                    Some(at) if ended.is_none() => at + floor,
                    _ => Instant::now(),
                };
                if due <= Instant::now() {
                    last_chunk = Some(Instant::now());
                    held_until = None;
                    in_flight = Some(connection.post(frames.chunk(&mut pending)));
                } else {
                    held_until = Some(due);
                }
            }
        }
        tokio::select! {
            delivered = async { in_flight.as_mut().expect("guarded by the branch condition").await }, if in_flight.is_some() => {
                in_flight = None;
                match delivered {
                    Ok(()) => {}
                    Err(Delivery::Gone) => {
                        genai::log::client_left("websocket");
                        return;
                    }
                    // The gateway refused the frame: the client cannot get the rest either.
                    Err(Delivery::Failed) => {
                        let error = ApiError::new(ErrorCode::InternalError, "the Management API refused a frame");
                        genai::log::failed("websocket", &error);
                        return;
                    }
                }
            }
            // The floor has passed: the loop posts what waited for it.
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(held_until.unwrap_or_else(Instant::now))),
                if held_until.is_some() && in_flight.is_none() => held_until = None,
            event = events.recv(), if ended.is_none() => match event {
                Some(Ok(Event::Delta(text))) => {
                    pending.push_str(&text);
                    full.push_str(&text);
                }
                Some(Ok(Event::Done(done))) => ended = Some(Ok(done)),
                Some(Err(error)) => ended = Some(Err(error)),
                None => ended = Some(Err(ApiError::new(ErrorCode::ModelError, "the model stream ended early"))),
            },
            // Unreachable: a request that has ended always has a last frame or a post in
            // flight above. Were it reached, returning ends the request; a panic would abort
            // the instance and every answer in it.
            else => return,
        }
    }
}

fn respond(status: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(request_id: Option<String>) -> Frames {
        Frames { request_id, seq: 0 }
    }

    fn message(body: &str) -> ApiGatewayWebsocketProxyRequest {
        let mut event = ApiGatewayWebsocketProxyRequest::default();
        event.body = Some(body.to_string());
        event
    }

    #[test]
    fn a_request_id_over_the_bound_is_a_bad_request_and_not_echoed() {
        let id = "r".repeat(32_600);
        let body = json!({ "action": "generate", "requestId": id, "payload": { "prompt": "x" } });
        let (heard, request) = read_message(&message(&body.to_string()), &Default::default());
        let error = request.expect_err("refused");
        assert_eq!(error.code, ErrorCode::BadRequest);
        assert_eq!(heard.request_id, None);
        let frame = frames(heard.request_id).error(&error);
        assert!(frame.len() < 1024, "{} bytes", frame.len());
    }

    #[test]
    fn a_chunk_never_splits_a_character_even_when_one_barely_fits() {
        // The longest id the protocol allows, and text of 4-byte characters.
        let mut f = frames(Some("r".repeat(MAX_REQUEST_ID_BYTES)));
        let mut pending = "😀".repeat(MAX_FRAME_BYTES);
        let mut out = String::new();
        while !pending.is_empty() {
            let frame = f.chunk(&mut pending);
            assert!(frame.len() <= MAX_FRAME_BYTES, "{} bytes", frame.len());
            let frame: Value = serde_json::from_slice(&frame).expect("JSON");
            out.push_str(frame["payload"]["text"].as_str().expect("text"));
        }
        assert_eq!(out, "😀".repeat(MAX_FRAME_BYTES));
    }

    /// Cases per property: enough to reach every size class below, seconds in a debug build.
    const CASES: u32 = 512;

    /// Runs `property` on `CASES` values of `strategy` and prints how many ran. A failing or
    /// panicking case fails the test with its shrunk input.
    fn check<S: Strategy>(
        name: &str,
        strategy: S,
        property: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) where
        S::Value: std::fmt::Debug,
    {
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            // A failure prints its shrunk input; nothing is saved next to the sources.
            failure_persistence: None,
            ..ProptestConfig::with_cases(CASES)
        });
        let ran = std::cell::Cell::new(0u32);
        let outcome = runner.run(&strategy, |value| {
            ran.set(ran.get() + 1);
            property(value)
        });
        if let Err(failure) = outcome {
            panic!("{name}: {failure}");
        }
        println!("{name}: {} cases, none failed or panicked", ran.get());
        assert!(ran.get() >= CASES, "{name} ran {} cases", ran.get());
    }

    /// Any text, split into chunks: every frame under the limit, no character split, the
    /// chunks in order give the text back. Sizes reach past one frame.
    #[test]
    fn chunks_of_any_text_fit_and_give_it_back() {
        let text = prop_oneof![
            any::<String>(),
            "\\PC{0,12000}",
            (0usize..3, 8000usize..12000).prop_map(|(w, n)| ["é", "€", "😀"][w].repeat(n)),
        ];
        let id = proptest::option::of("[ -~]{0,128}");
        check("chunks", (text, id), |(text, id)| {
            let mut f = frames(id);
            let mut pending = text.clone();
            let mut out = String::new();
            while !pending.is_empty() {
                let frame = f.chunk(&mut pending);
                prop_assert!(frame.len() <= MAX_FRAME_BYTES, "{} bytes", frame.len());
                let frame: Value = serde_json::from_slice(&frame).expect("JSON");
                out.push_str(frame["payload"]["text"].as_str().expect("text"));
            }
            prop_assert_eq!(out, text);
            Ok(())
        });
    }

    /// Any message body, any id: a valid request or the protocol's error, never a panic; an id
    /// that is kept is within the bound.
    #[test]
    fn any_message_is_read_without_panic() {
        let body = prop_oneof![
            any::<String>(),
            ("\\PC{0,300}", "\\PC{0,200}", any::<bool>()).prop_map(|(id, prompt, tail)| {
                json!({ "action": "generate", "requestId": id, "tailInSuccess": tail,
                        "payload": { "prompt": prompt } })
                .to_string()
            }),
        ];
        check("messages", body, |body| {
            let (heard, request) = read_message(&message(&body), &Default::default());
            prop_assert!(
                heard
                    .request_id
                    .is_none_or(|id| id.len() <= MAX_REQUEST_ID_BYTES)
            );
            if let Err(error) = request {
                prop_assert!(matches!(
                    error.code,
                    ErrorCode::BadRequest | ErrorCode::PayloadTooLarge
                ));
            }
            Ok(())
        });
    }
}
