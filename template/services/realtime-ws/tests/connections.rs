//! The WebSocket handler with the real SDK clients against the fake Bedrock, a local
//! `@connections` endpoint (the API Gateway Management API) and a local Lambda Invoke API,
//! over real sockets. A message goes through the handler as the connection function; the
//! generation it hands over goes through it again as the generation function.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use fake_bedrock::{FakeBedrock, Settings};
use genai::GenAi;
use genai::config::Config;
use genai::log::Captured;
use realtime_ws::{App, Connections, Generations, Invocation, Ledger};
use serde_json::{Value, json};
use support::Gateway;

struct Harness {
    fake: FakeBedrock,
    gateway: Arc<Gateway>,
    /// The gateway's stage URL, where the frames go.
    url: String,
    app: App,
}

/// The handler as deployed: the declared frame floor.
async fn harness(settings: Settings, latency: Duration) -> Harness {
    let floor = realtime_ws::min_frame(None).expect("the declared floor");
    harness_with_floor(settings, latency, floor).await
}

async fn harness_with_floor(settings: Settings, latency: Duration, floor: Duration) -> Harness {
    let fake = FakeBedrock::start(settings).await.expect("fake bedrock");
    let (gateway, url) = support::start(latency).await;
    let endpoint = fake.endpoint();
    let config = Config::from_lookup(|key| match key {
        genai::config::BEDROCK_ENDPOINT_ENV => Some(endpoint.clone()),
        "ALLOWED_ORIGINS" => Some("https://app.example.com".into()),
        // Room for answers longer than one 32 KB frame.
        "MAX_TOKENS" => Some("20000".into()),
        _ => None,
    });
    let app = App {
        genai: GenAi::from_config(config).await,
        generations: Generations::new(support::lambda_client(&url), Some(GENERATE.into())),
        ledger: Ledger::new(support::dynamodb_client(&url), Some(LEDGER.into())),
        connections: Connections::new(support::client_base(), Some(url.clone())),
        min_frame: floor,
    };
    Harness {
        fake,
        gateway,
        url,
        app,
    }
}

/// The generation function's name, as [`realtime_ws::WORKER_ENV`] gives it.
const GENERATE: &str = "my-app-dev-realtime-ws-generate";

/// The ledger table's name, as the worker's `ledger-env` variable gives it.
const LEDGER: &str = "my-app-dev-realtime-ws-generations";

/// The connection function's `App` for tests that never run a generation: no ledger table.
fn no_ledger() -> Ledger {
    Ledger::new(support::dynamodb_client("http://127.0.0.1:9"), None)
}

fn fast() -> Settings {
    Settings {
        time_to_first_token_ms: 5,
        tokens_per_second: 1000,
        tokens: 25,
    }
}

fn event(route: &str, connection: &str, body: Option<&str>) -> ApiGatewayWebsocketProxyRequest {
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    event.request_context.route_key = Some(route.into());
    event.request_context.connection_id = Some(connection.into());
    // API Gateway's id of each message, unique as AWS makes it.
    static MESSAGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let message = MESSAGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    event.request_context.request_id = Some(format!("message-{message}"));
    event.request_context.domain_name = Some("example.execute-api.us-east-1.amazonaws.com".into());
    event.request_context.stage = Some("dev".into());
    event.body = body.map(str::to_string);
    event
}

/// An API Gateway route event, as the connection function receives it: its JSON, read by the
/// runtime as an [`Invocation`] (so no route is ever taken for a failure record).
fn route(event: ApiGatewayWebsocketProxyRequest) -> Invocation {
    let event = serde_json::to_value(event).expect("JSON");
    let invocation = serde_json::from_value(event).expect("an event the runtime accepts");
    assert!(matches!(invocation, Invocation::Route(_)), "{invocation:?}");
    invocation
}

/// The status code the handler answers a route with.
async fn status(app: &App, event: ApiGatewayWebsocketProxyRequest) -> i64 {
    realtime_ws::handle(app, route(event))
        .await
        .expect("a route gets an answer")
        .status_code
}

impl Harness {
    /// A message to the connection function, then whatever it handed over, run as Lambda
    /// runs an asynchronous invocation of the generation function.
    async fn send(&self, connection: &str, body: &str) {
        let answer = status(&self.app, event("generate", connection, Some(body))).await;
        assert_eq!(answer, 200);
        self.run_generations().await;
    }

    async fn run_generations(&self) {
        self.run_generations_delivered(false).await;
    }

    /// Runs each handed-over generation as Lambda does; `twice`: as Lambda does when it
    /// delivers the event twice, both copies at once, as on two instances.
    async fn run_generations_delivered(&self, twice: bool) {
        for invoked in self.gateway.take_invocations() {
            assert_eq!(
                (invoked.function.as_str(), invoked.invocation_type.as_str()),
                (GENERATE, "Event")
            );
            let generation: Invocation =
                serde_json::from_value(invoked.payload.clone()).expect("a generation event");
            assert!(matches!(generation, Invocation::Generation { .. }));
            if twice {
                let copy: Invocation =
                    serde_json::from_value(invoked.payload).expect("a generation event");
                let (first, second) = tokio::join!(
                    realtime_ws::handle(&self.app, generation),
                    realtime_ws::handle(&self.app, copy)
                );
                assert!(first.is_none() && second.is_none());
            } else {
                assert!(realtime_ws::handle(&self.app, generation).await.is_none());
            }
        }
    }

    fn frames(&self, connection: &str) -> Vec<Value> {
        self.gateway.frames(connection)
    }
}

fn generate(request_id: &str, payload: Value) -> String {
    json!({ "action": "generate", "requestId": request_id, "payload": payload }).to_string()
}

/// A generate message from a client that reads the success frame's `tail` (PROTOCOL.md).
fn generate_with_tail(request_id: &str, payload: Value) -> String {
    json!({ "action": "generate", "requestId": request_id, "tailInSuccess": true, "payload": payload })
        .to_string()
}

/// Checks `seq` runs 0.. without gaps and returns (chunk text, last frame).
fn check_frames(frames: &[Value], request_id: &str) -> (String, Value) {
    let mut text = String::new();
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame["seq"], i as u64, "seq without gaps: {frames:?}");
        assert_eq!(frame["requestId"], request_id);
        if i + 1 < frames.len() {
            assert_eq!(frame["type"], "chunk", "{frame}");
            text.push_str(frame["payload"]["text"].as_str().expect("chunk text"));
        }
    }
    (text, frames.last().expect("at least one frame").clone())
}

/// 300 tokens at 200/s: against 20 ms per post, one post per token would need 300 posts.
fn steady() -> Settings {
    Settings {
        time_to_first_token_ms: 5,
        tokens_per_second: 200,
        tokens: 300,
    }
}

#[tokio::test]
async fn chunks_then_success_with_the_models_text_and_usage() {
    let logs = genai::log::capture();
    let h = harness(fast(), Duration::ZERO).await;
    h.send(
        "c1",
        &generate(
            "r1",
            json!({ "prompt": "Tell me a story", "maxTokens": 100 }),
        ),
    )
    .await;
    let frames = h.frames("c1");
    let (text, last) = check_frames(&frames, "r1");
    let expected = fake_bedrock::expected_text("Tell me a story", 100, &fast());
    assert_eq!(text, expected);
    assert_eq!(last["type"], "success");
    assert_eq!(last["payload"]["text"], expected);
    // A client that did not ask for the tail (the original sample's) gets every word in chunks.
    assert!(last["payload"].get("tail").is_none(), "{last}");
    assert_eq!(last["payload"]["usage"]["completionTokens"], 25);
    assert_eq!(last["payload"]["stopReason"], "end_turn");
    let metrics = &last["payload"]["metrics"];
    assert!(
        metrics["firstTokenMs"].as_u64().expect("firstTokenMs")
            <= metrics["totalMs"].as_u64().expect("totalMs")
    );
    // One log line for the request, with its outcome and numbers, never the prompt.
    let finished = logs.finished("websocket");
    assert_eq!(finished.len(), 1, "{}", logs.text());
    assert_eq!(finished[0]["completion_tokens"], 25);
    assert_eq!(finished[0]["total_ms"], metrics["totalMs"]);
    assert!(!logs.text().contains("Tell me a story"), "{}", logs.text());
}

#[tokio::test]
async fn requests_on_one_connection_are_told_apart_by_request_id() {
    let h = harness(fast(), Duration::from_millis(2)).await;
    let (first, second) = (
        generate("a", json!({ "prompt": "first" })),
        generate("b", json!({ "prompt": "second" })),
    );
    tokio::join!(h.send("c1", &first), h.send("c1", &second));
    let frames = h.frames("c1");
    for (id, prompt) in [("a", "first"), ("b", "second")] {
        let mine: Vec<Value> = frames
            .iter()
            .filter(|f| f["requestId"] == id)
            .cloned()
            .collect();
        let (text, last) = check_frames(&mine, id);
        assert_eq!(text, fake_bedrock::expected_text(prompt, 512, &fast()));
        assert_eq!(last["type"], "success");
    }
}

#[tokio::test]
async fn bad_messages_get_one_error_frame_and_never_reach_the_model() {
    let h = harness(fast(), Duration::ZERO).await;
    let huge = "a".repeat(20_000);
    let cases: Vec<(String, u64)> = vec![
        (generate("r", json!({ "prompt": "" })), 400),
        (generate("r", json!({})), 400),
        (generate("r", json!({ "prompt": 42 })), 400),
        (generate("r", json!({ "prompt": huge })), 413),
        (generate("r", json!({ "prompt": "x", "maxTokens": 0 })), 400),
        (
            generate("r", json!({ "prompt": "x", "temperature": -1 })),
            400,
        ),
        (
            json!({ "action": "generate", "requestId": "r" }).to_string(),
            400,
        ),
        (
            json!({ "action": "dance", "requestId": "r", "payload": { "prompt": "x" } })
                .to_string(),
            400,
        ),
        ("{not json".to_string(), 400),
    ];
    for (i, (body, status)) in cases.iter().enumerate() {
        let connection = format!("bad-{i}");
        h.send(&connection, body).await;
        let frames = h.frames(&connection);
        assert_eq!(frames.len(), 1, "{body:.60}: {frames:?}");
        assert_eq!(frames[0]["type"], "error");
        assert_eq!(frames[0]["seq"], 0);
        assert_eq!(frames[0]["payload"]["statusCode"], *status, "{body:.60}");
    }
    let mut binary = event("generate", "bin", Some("AAEC"));
    binary.is_base64_encoded = true;
    assert_eq!(status(&h.app, binary).await, 200);
    assert_eq!(h.frames("bin")[0]["payload"]["code"], "BAD_REQUEST");
    assert_eq!(h.fake.stats().calls, 0);
    assert!(h.gateway.take_invocations().is_empty());
}

/// A client-controlled field near the frame limit: a `requestId` of 32,600 bytes still fits one
/// 32 KB frame, and every frame of the answer would echo it. Refused, not echoed, no panic.
#[tokio::test]
async fn a_request_id_near_the_frame_limit_is_refused_without_a_crash() {
    let h = harness(fast(), Duration::ZERO).await;
    let id = "r".repeat(32_600);
    h.send("long-id", &generate(&id, json!({ "prompt": "x" })))
        .await;
    let frames = h.frames("long-id");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "error");
    assert_eq!(frames[0]["payload"]["code"], "BAD_REQUEST");
    assert_eq!(frames[0]["requestId"], Value::Null);
    // The longest id the protocol allows still gets its whole answer, every frame in bounds
    // (the gateway asserts each frame's size).
    let longest = "r".repeat(realtime_ws::MAX_REQUEST_ID_BYTES);
    h.send(
        "max-id",
        &generate(
            &longest,
            json!({ "prompt": "é ü 😀 [tokens=2000]", "maxTokens": 2000 }),
        ),
    )
    .await;
    let (_, last) = check_frames(&h.frames("max-id"), &longest);
    assert_eq!(last["type"], "success", "{last}");
    assert_eq!(h.fake.stats().calls, 1);
}

#[tokio::test]
async fn a_ping_gets_no_frame_and_never_reaches_the_model() {
    let h = harness(fast(), Duration::ZERO).await;
    h.send("idle", &json!({ "action": "ping" }).to_string())
        .await;
    assert!(h.frames("idle").is_empty(), "{:?}", h.frames("idle"));
    assert_eq!(h.fake.stats().calls, 0);
}

#[tokio::test]
async fn faults_end_with_an_error_frame_before_and_after_the_first_chunk() {
    let h = harness(fast(), Duration::ZERO).await;
    for (i, (prompt, code, chunks)) in [
        ("[fault=throttle]", "THROTTLED", false),
        ("[fault=access-denied]", "MODEL_ACCESS_DENIED", false),
        ("[fault=stream-error]", "MODEL_ERROR", false),
        ("[fault=stream-error] [after=5]", "MODEL_ERROR", true),
    ]
    .into_iter()
    .enumerate()
    {
        let connection = format!("f{i}");
        h.send(&connection, &generate("r", json!({ "prompt": prompt })))
            .await;
        let frames = h.frames(&connection);
        let (text, last) = check_frames(&frames, "r");
        assert_eq!(
            (last["type"].as_str(), last["payload"]["code"].as_str()),
            (Some("error"), Some(code)),
            "{prompt}"
        );
        assert_eq!(!text.is_empty(), chunks, "{prompt}");
    }
}

#[tokio::test]
async fn a_gone_client_stops_the_model_and_the_posts() {
    let h = harness(
        Settings {
            tokens_per_second: 100,
            tokens: 300,
            ..fast()
        },
        Duration::ZERO,
    )
    .await;
    h.gateway
        .gone_after
        .lock()
        .expect("lock")
        .insert("left".into(), 3);
    h.send("left", &generate("r", json!({ "prompt": "long" })))
        .await;
    let stats = h
        .fake
        .wait_for(Duration::from_secs(5), |s| s.hangups == 1)
        .await;
    assert_eq!((stats.hangups, stats.completed), (1, 0), "{stats:?}");
    assert_eq!(h.frames("left").len(), 3);
    assert_eq!(
        *h.gateway.posts_after_gone.lock().expect("lock"),
        1,
        "one 410, then no more posts"
    );
}

#[tokio::test]
async fn connect_refuses_origins_outside_the_allow_list() {
    let h = harness(fast(), Duration::ZERO).await;
    for (origin, expected) in [
        (Some("https://app.example.com"), 200),
        (Some("https://evil.example.com"), 403),
        (None, 200),
    ] {
        let mut connect = event("$connect", "c", None);
        if let Some(origin) = origin {
            connect
                .headers
                .insert("origin", origin.parse().expect("header"));
        }
        assert_eq!(status(&h.app, connect).await, expected, "{origin:?}");
    }
    assert_eq!(status(&h.app, event("$disconnect", "c", None)).await, 200);
}

#[tokio::test]
async fn a_stage_with_an_origin_secret_lets_only_the_cdn_connect() {
    // Deployed, CloudFront adds the secret to the handshake; the execute-api URL has none.
    let config = Config::from_lookup(|key| match key {
        genai::ORIGIN_SECRET_ENV => Some("n3w-secret,0ld-secret".into()),
        "ALLOWED_ORIGINS" => Some("https://app.example.com".into()),
        _ => None,
    });
    let app = App {
        genai: GenAi::from_config(config).await,
        connections: Connections::new(support::client_base(), None),
        generations: Generations::new(support::lambda_client("http://127.0.0.1:9"), None),
        min_frame: Duration::ZERO,
        ledger: no_ledger(),
    };
    for (secret, origin, expected) in [
        (Some("n3w-secret"), Some("https://app.example.com"), 200),
        (Some("0ld-secret"), Some("https://app.example.com"), 200),
        (Some("n3w-secret"), None, 200),
        (Some("n3w-secret"), Some("https://evil.example.com"), 403),
        (None, Some("https://app.example.com"), 403),
        (None, None, 403),
        (Some("guess"), None, 403),
    ] {
        let mut connect = event("$connect", "c", None);
        for (name, value) in [(genai::ORIGIN_SECRET_HEADER, secret), ("origin", origin)] {
            if let Some(value) = value {
                connect.headers.insert(name, value.parse().expect("header"));
            }
        }
        assert_eq!(
            status(&app, connect).await,
            expected,
            "{secret:?} {origin:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_gateway_gets_fewer_larger_frames_not_a_queue() {
    let settings = steady();
    let h = harness(settings.clone(), Duration::from_millis(20)).await;
    h.send(
        "slow",
        &generate("r", json!({ "prompt": "coalesce", "maxTokens": 1000 })),
    )
    .await;
    let frames = h.frames("slow");
    let (text, last) = check_frames(&frames, "r");
    assert_eq!(
        text,
        fake_bedrock::expected_text("coalesce", 1000, &settings)
    );
    assert_eq!(last["type"], "success");
    assert!(
        frames.len() < 150,
        "{} frames for 300 tokens: deltas were not coalesced",
        frames.len()
    );
}

#[tokio::test]
async fn a_client_that_asks_gets_the_last_words_in_the_success_frame_one_post_sooner() {
    // The first word goes out at once; the other 24 and the end all arrive while that post
    // takes its 200 ms, so they are the tail.
    let h = harness(fast(), Duration::from_millis(200)).await;
    let payload = json!({ "prompt": "a short one" });
    let expected = fake_bedrock::expected_text("a short one", 512, &fast());
    let (chunks_only, with_tail) = (
        generate("r", payload.clone()),
        generate_with_tail("r", payload),
    );
    tokio::join!(h.send("chunks", &chunks_only), h.send("tail", &with_tail));

    let frames = h.frames("chunks");
    let types: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(types, ["chunk", "chunk", "success"]);
    assert_eq!(check_frames(&frames, "r").0, expected);

    let frames = h.frames("tail");
    let types: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(types, ["chunk", "success"]);
    let (first, last) = check_frames(&frames, "r");
    let tail = last["payload"]["tail"].as_str().expect("a tail");
    assert!(!first.is_empty() && !tail.is_empty(), "{frames:?}");
    assert_eq!(format!("{first}{tail}"), expected);
    assert_eq!(last["payload"]["text"], expected);
}

#[tokio::test]
async fn an_answer_longer_than_a_frame_is_split_and_never_lost() {
    // About 50 KB of text as fast as the fake can, against a slow gateway: the pending text,
    // and the tail, outgrow one 32 KB frame (the local gateway refuses larger frames).
    let settings = Settings {
        tokens_per_second: 1_000_000,
        ..fast()
    };
    let h = harness(settings.clone(), Duration::from_millis(50)).await;
    let payload = json!({ "prompt": "[tokens=9000] a long one", "maxTokens": 20000 });
    let expected = fake_bedrock::expected_text("[tokens=9000] a long one", 20000, &settings);
    assert!(expected.len() > 40_000, "{} bytes", expected.len());
    for (connection, body) in [
        ("chunks", generate("r", payload.clone())),
        ("tail", generate_with_tail("r", payload.clone())),
    ] {
        h.send(connection, &body).await;
        let frames = h.frames(connection);
        let (chunks, last) = check_frames(&frames, "r");
        assert_eq!(last["type"], "success", "{connection}: {last}");
        assert_eq!(last["payload"]["textInChunks"], true, "{connection}");
        assert_eq!(last["payload"]["text"], "", "{connection}");
        let tail = last["payload"]["tail"].as_str().unwrap_or_default();
        assert_eq!(format!("{chunks}{tail}"), expected, "{connection}");
        assert_eq!(last["payload"]["usage"]["completionTokens"], 9000);
    }
}

#[tokio::test]
async fn a_message_is_handed_to_the_generation_function_without_calling_the_model() {
    let h = harness(fast(), Duration::ZERO).await;
    let body = generate_with_tail("r1", json!({ "prompt": "Tell me a story" }));
    assert_eq!(
        status(&h.app, event("generate", "c1", Some(&body))).await,
        200
    );
    // Answered before any frame and any model call: the route's invocation stays short
    // whatever the answer's length.
    assert!(h.frames("c1").is_empty());
    assert_eq!(h.fake.stats().calls, 0);
    let invoked = h.gateway.take_invocations();
    assert_eq!(invoked.len(), 1, "{invoked:?}");
    let generation = &invoked[0].payload["generation"];
    assert_eq!(generation["connectionId"], "c1");
    assert_eq!(generation["requestId"], "r1");
    assert_eq!(generation["tailInSuccess"], true);
    assert_eq!(generation["payload"]["prompt"], "Tell me a story");
    // Put back and run as Lambda would: the whole answer, from the generation function.
    h.gateway.invocations.lock().expect("lock").extend(invoked);
    h.run_generations().await;
    let (_, last) = check_frames(&h.frames("c1"), "r1");
    assert_eq!(last["type"], "success", "{last}");
    assert_eq!(h.fake.stats().calls, 1);
}

#[tokio::test]
async fn an_answer_that_cannot_start_gets_one_error_frame() {
    let h = harness(fast(), Duration::ZERO).await;
    *h.gateway.throttle_invokes.lock().expect("lock") = true;
    h.send("busy", &generate("r", json!({ "prompt": "x" })))
        .await;
    let frames = h.frames("busy");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["payload"]["code"], "THROTTLED");
    assert_eq!(frames[0]["seq"], 0);

    // A connection function deployed without the worker's variable says which is missing.
    let (gateway, url) = support::start(Duration::ZERO).await;
    let app = App {
        genai: GenAi::from_config(Config::from_lookup(|_| None)).await,
        generations: Generations::new(support::lambda_client(&url), None),
        ledger: no_ledger(),
        connections: Connections::new(support::client_base(), Some(url)),
        min_frame: Duration::ZERO,
    };
    let body = generate("r", json!({ "prompt": "x" }));
    assert_eq!(status(&app, event("generate", "c", Some(&body))).await, 200);
    let frames = gateway.frames("c");
    assert_eq!(frames[0]["payload"]["code"], "INTERNAL_ERROR");
    let message = frames[0]["payload"]["message"].as_str().expect("message");
    assert!(message.contains(realtime_ws::WORKER_ENV), "{message}");
}

/// Lambda's id for the failed invocation of the generation function, as its record gives it.
const FAILED_REQUEST_ID: &str = "e4b46cbf-b738-4e2d-8880-a18cdf61200e";

/// A prompt the logs must never hold.
const PROMPT: &str = "Tell me a secret";

/// The event the connection function handed to the generation function for `connection`.
fn handed_over(connection: &str, url: &str) -> Value {
    json!({ "generation": {
        "generationId": format!("g-{connection}"),
        "endpoint": url, "connectionId": connection, "requestId": "r",
        "tailInSuccess": true, "payload": { "prompt": PROMPT }, "receivedAtMs": 0
    } })
}

/// Lambda's record of a failed asynchronous invocation of the generation function, shaped as
/// AWS's example (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>):
/// `request_payload` is the event that failed, if the record carries it; `response` the
/// function's error, if it ran.
fn failure_record(
    condition: &str,
    request_payload: Option<Value>,
    response: Option<Value>,
) -> Value {
    let mut record = json!({
        "version": "1.0",
        "timestamp": "2026-12-04T00:00:00.000Z",
        "requestContext": {
            "requestId": FAILED_REQUEST_ID,
            "functionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{GENERATE}:$LATEST"),
            "condition": condition,
            "approximateInvokeCount": u32::from(response.is_some())
        }
    });
    if let Some(payload) = request_payload {
        record["requestPayload"] = payload;
    }
    if let Some(response) = response {
        record["responseContext"] = json!({ "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" });
        record["responsePayload"] = response;
    }
    record
}

/// What Lambda reports of a generation function that ran out of time.
fn timed_out() -> Value {
    json!({
        "errorType": "Sandbox.Timedout",
        "errorMessage": format!("RequestId: {FAILED_REQUEST_ID} Error: Task timed out after 300.00 seconds")
    })
}

impl Harness {
    /// Delivers `record` to the connection function as Lambda does: the runtime reads the JSON
    /// as an [`Invocation`], then the handler runs. A record gets no answer; only a route would,
    /// and there is no one to read it.
    async fn deliver(&self, record: Value) {
        let invocation: Invocation =
            serde_json::from_value(record).expect("an event the runtime accepts");
        let recognised = matches!(invocation, Invocation::Failed(_));
        let answer = realtime_ws::handle(&self.app, invocation)
            .await
            .map(|response| response.status_code);
        assert_eq!(answer, None, "a failure record was answered as a route");
        assert!(recognised, "a failure record was taken for another event");
    }

    /// Every frame posted so far, per connection.
    fn all_frames(&self) -> HashMap<String, Vec<Value>> {
        self.gateway.frames.lock().expect("lock").clone()
    }

    /// Nothing but the connection function ran: no model call, no generation started.
    fn only_the_record_ran(&self) {
        assert_eq!(self.fake.stats().calls, 0);
        assert!(self.gateway.take_invocations().is_empty());
    }
}

/// The log lines written while failure records were handled; each must carry the record's
/// condition and Lambda's id for the failed invocation, and no line may hold the prompt.
fn record_lines(logs: &Captured, condition: &str) -> Vec<Value> {
    assert!(!logs.text().contains(PROMPT), "{}", logs.text());
    let lines: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|line| line["span"]["name"] == "failure_record")
        .collect();
    for line in &lines {
        assert_eq!(line["span"]["condition"], condition, "{line}");
        assert_eq!(
            line["span"]["failed_request_id"], FAILED_REQUEST_ID,
            "{line}"
        );
    }
    lines
}

/// The one frame a failure record makes: an error for the request, without a `seq`, since only
/// the failed invocation knew how many frames it had posted (PROTOCOL.md).
fn check_failure_frame(frames: &HashMap<String, Vec<Value>>, connection: &str, code: &str) {
    assert_eq!(frames.len(), 1, "posted to one connection only: {frames:?}");
    let frames = &frames[connection];
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "error");
    assert_eq!(frames[0]["requestId"], "r");
    assert_eq!(frames[0]["payload"]["code"], code);
    assert!(frames[0].get("seq").is_none(), "{}", frames[0]);
}

#[tokio::test]
async fn a_generation_that_failed_as_it_ran_ends_in_one_internal_error_frame() {
    let logs = genai::log::capture();
    let h = harness(fast(), Duration::ZERO).await;
    let event = handed_over("crashed", &h.url);
    h.deliver(failure_record(
        "RetriesExhausted",
        Some(event),
        Some(timed_out()),
    ))
    .await;
    check_failure_frame(&h.all_frames(), "crashed", "INTERNAL_ERROR");
    let lines = record_lines(&logs, "RetriesExhausted");
    assert_eq!(lines.len(), 1, "{}", logs.text());
    assert_eq!(lines[0]["status"], 500, "{}", lines[0]);
    h.only_the_record_ran();
}

#[tokio::test]
async fn a_generation_that_expired_in_the_queue_ends_in_one_throttled_frame() {
    let logs = genai::log::capture();
    let h = harness(fast(), Duration::ZERO).await;
    let event = handed_over("queued", &h.url);
    h.deliver(failure_record("EventAgeExceeded", Some(event), None))
        .await;
    check_failure_frame(&h.all_frames(), "queued", "THROTTLED");
    let lines = record_lines(&logs, "EventAgeExceeded");
    assert_eq!(lines.len(), 1, "{}", logs.text());
    assert_eq!(lines[0]["status"], 429, "{}", lines[0]);
    h.only_the_record_ran();
}

/// An event that expires before any attempt may come without the event itself, and the
/// connection is named only there: no client can be told, and the record is not a route.
#[tokio::test]
async fn an_expired_record_without_its_event_is_logged_and_posts_nothing() {
    let logs = genai::log::capture();
    let h = harness(fast(), Duration::ZERO).await;
    h.deliver(failure_record("EventAgeExceeded", None, None))
        .await;
    assert!(h.all_frames().is_empty(), "{:?}", h.all_frames());
    let lines = record_lines(&logs, "EventAgeExceeded");
    assert_eq!(lines.len(), 1, "{}", logs.text());
    let message = lines[0]["message"].as_str().expect("a message");
    assert!(message.contains("no request payload"), "{message}");
    h.only_the_record_ran();
}

/// Lambda may add conditions; the request still ends, as an internal error.
#[tokio::test]
async fn a_record_with_an_unknown_condition_still_ends_the_request() {
    let logs = genai::log::capture();
    let h = harness(fast(), Duration::ZERO).await;
    let event = handed_over("unknown", &h.url);
    h.deliver(failure_record(
        "SomethingNew",
        Some(event),
        Some(timed_out()),
    ))
    .await;
    check_failure_frame(&h.all_frames(), "unknown", "INTERNAL_ERROR");
    let lines = record_lines(&logs, "SomethingNew");
    assert_eq!(lines.len(), 1, "{}", logs.text());
    h.only_the_record_ran();
}

/// A record whose event is not the generation event this service hands over (another
/// function's, or one that no longer reads as one): logged, never a panic, never a route.
#[tokio::test]
async fn a_record_whose_event_is_not_a_generation_is_logged_and_posts_nothing() {
    let logs = genai::log::capture();
    let h = harness(fast(), Duration::ZERO).await;
    let mut misread = handed_over("misread", &h.url);
    // The prompt where a number belongs: a parse error would quote it, and no line may.
    misread["generation"]["receivedAtMs"] = json!(PROMPT);
    let events = [
        // AWS's example record's event.
        json!({ "ORDER_IDS": ["9e07af03-ce31-4ff3-xmpl-36dce652cb4f"] }),
        // What the local stack passes on for an event that is not JSON.
        json!("not JSON"),
        json!([1, 2, 3]),
        misread,
    ];
    for event in &events {
        h.deliver(failure_record(
            "RetriesExhausted",
            Some(event.clone()),
            Some(timed_out()),
        ))
        .await;
    }
    assert!(h.all_frames().is_empty(), "{:?}", h.all_frames());
    let lines = record_lines(&logs, "RetriesExhausted");
    assert_eq!(lines.len(), events.len(), "one line each: {}", logs.text());
    for line in &lines {
        let message = line["message"].as_str().expect("a message");
        assert!(message.contains("not a generation event"), "{message}");
    }
    h.only_the_record_ran();
}

#[tokio::test]
async fn the_first_answer_of_a_new_instance_is_marked_cold_and_the_next_warm() {
    // A new instance of the generation function: a fresh harness.
    let h = harness(fast(), Duration::ZERO).await;
    for (connection, cold) in [("first", true), ("second", false)] {
        h.send(connection, &generate("r", json!({ "prompt": "x" })))
            .await;
        let (_, last) = check_frames(&h.frames(connection), "r");
        assert_eq!(last["payload"]["metrics"]["coldStart"], cold, "{last}");
    }
}

/// A paced answer of about 1.5 s (300 tokens at 200/s) against a fast gateway (5 ms a post),
/// at `floor`: its frames, the time the handler took, and when the first frame was delivered,
/// both from the moment the message was sent.
async fn paced(floor: Duration, tail: bool) -> (Vec<Value>, Duration, Duration) {
    let h = harness_with_floor(steady(), Duration::from_millis(5), floor).await;
    let payload = json!({ "prompt": "paced", "maxTokens": 1000 });
    let body = if tail {
        generate_with_tail("r", payload)
    } else {
        generate("r", payload)
    };
    let start = std::time::Instant::now();
    h.send("c", &body).await;
    let total = start.elapsed();
    let first = h.gateway.delivered_at.lock().expect("lock")["c"][0] - start;
    let frames = h.frames("c");
    let (chunks, last) = check_frames(&frames, "r");
    let tail_text = last["payload"]["tail"].as_str().unwrap_or_default();
    let expected = fake_bedrock::expected_text("paced", 1000, &steady());
    assert_eq!(format!("{chunks}{tail_text}"), expected, "no text lost");
    assert_eq!(last["type"], "success");
    (frames, total, first)
}

/// The bound the floor is for: an answer of S seconds gets at most S / floor + 2 frames (+1
/// without the tail); the first text is not held back, and the end does not wait for the floor.
#[tokio::test]
async fn the_frame_floor_bounds_the_frames_without_delaying_the_first_or_the_end() {
    // 180 ms does not divide the answer: the model ends well inside a floor, so an end that
    // waited for the floor would show.
    for (floor_ms, tail) in [(100, true), (250, true), (180, false)] {
        let floor = Duration::from_millis(floor_ms);
        let (frames, total, first) = paced(floor, tail).await;
        let model_ms = frames.last().expect("frames")["payload"]["metrics"]["modelLatencyMs"]
            .as_u64()
            .expect("the model's latency");
        let answer_ms = model_ms.max(u64::try_from(total.as_millis()).unwrap_or(u64::MAX));
        let bound = answer_ms / floor_ms + if tail { 2 } else { 3 };
        assert!(
            frames.len() as u64 <= bound,
            "floor {floor_ms} ms, tail {tail}: {} frames for a {answer_ms} ms answer, over {bound}",
            frames.len()
        );
        // The first chunk waits for nothing but the model's first token (5 ms) and one post;
        // held back, it would come a floor after the message or later. Only the floors well
        // above what a loaded 2-core CI machine adds (over 100 ms seen) can tell the two apart.
        if floor_ms >= 180 {
            assert!(
                first < floor,
                "floor {floor_ms} ms: the first frame came after {first:?}, held back by the floor"
            );
        }
        // The end: the post in flight and the last posts (5 ms each) after the model's own
        // time, never a whole floor more. As for the first frame, only the floors well above
        // what a loaded CI machine adds (150 ms seen) can tell a held end from noise.
        if floor_ms >= 180 {
            assert!(
                total < Duration::from_millis(model_ms) + floor,
                "floor {floor_ms} ms: {total:?} for a model of {model_ms} ms"
            );
        }
    }
}

/// Floor 0 is the adaptive coalescing alone: a frame whenever the post before is delivered, so
/// many more frames than any floor allows for the same answer.
#[tokio::test]
async fn no_floor_posts_whenever_the_gateway_is_ready() {
    let (frames, _, _) = paced(Duration::ZERO, true).await;
    assert!(
        frames.len() > 60,
        "{} frames: with 5 ms posts and a token every 5 ms, most tokens get their own",
        frames.len()
    );
}

#[test]
fn the_floor_is_the_declared_one_unless_the_variable_says_otherwise() {
    assert_eq!(
        realtime_ws::min_frame(None),
        Ok(Duration::from_millis(realtime_ws::DEFAULT_MIN_FRAME_MS))
    );
    assert_eq!(realtime_ws::min_frame(Some("0")), Ok(Duration::ZERO));
    assert_eq!(
        realtime_ws::min_frame(Some("250")),
        Ok(Duration::from_millis(250))
    );
    for refused in ["", "fast", "-1", "60001"] {
        let error = realtime_ws::min_frame(Some(refused)).expect_err(refused);
        assert!(error.contains(realtime_ws::MIN_FRAME_ENV), "{error}");
    }
}

/// Lambda may deliver an asynchronous event twice with no error
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>): both copies run at once,
/// and the client still gets one answer, from one model call.
#[tokio::test]
async fn a_generation_delivered_twice_runs_once() {
    let logs = genai::log::capture();
    let h = harness(fast(), Duration::from_millis(2)).await;
    let body = generate(
        "r1",
        json!({ "prompt": "Tell me a story", "maxTokens": 100 }),
    );
    assert_eq!(
        status(&h.app, event("generate", "c1", Some(&body))).await,
        200
    );
    h.run_generations_delivered(true).await;
    let frames = h.frames("c1");
    let (text, last) = check_frames(&frames, "r1");
    assert_eq!(last["type"], "success", "{frames:?}");
    assert_eq!(text, last["payload"]["text"].as_str().expect("text"));
    assert_eq!(h.fake.stats().calls, 1, "one model call");
    assert_eq!(
        *h.gateway.puts.lock().expect("lock"),
        (2, 1),
        "two writes, one refused"
    );
    assert_eq!(logs.finished("websocket").len(), 1, "{}", logs.text());
    assert!(logs.text().contains("nothing posted"), "{}", logs.text());
}

/// A write that DynamoDB made but whose answer was lost is retried by the SDK, and the retry
/// finds the record taken: the record names the attempt that wrote it, so the generation
/// still runs (once).
#[tokio::test]
async fn a_retried_write_of_our_own_is_not_a_duplicate() {
    let h = harness(fast(), Duration::ZERO).await;
    *h.gateway.lose_next_put_answer.lock().expect("lock") = true;
    h.send("c1", &generate("r1", json!({ "prompt": "x" })))
        .await;
    let frames = h.frames("c1");
    let (_, last) = check_frames(&frames, "r1");
    assert_eq!(last["type"], "success", "{frames:?}");
    assert_eq!(
        *h.gateway.puts.lock().expect("lock"),
        (2, 1),
        "the write, and its retry"
    );
    assert_eq!(h.fake.stats().calls, 1);
}

/// A ledger that does not answer fails closed: the client gets the protocol's error frame
/// and the model is not called, as a generation that cannot tell a copy must not run.
#[tokio::test]
async fn a_ledger_that_fails_ends_the_request_without_the_model() {
    let h = harness(fast(), Duration::ZERO).await;
    *h.gateway.fail_ledger.lock().expect("lock") = true;
    h.send("c1", &generate("r1", json!({ "prompt": "x" })))
        .await;
    let frames = h.frames("c1");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "error");
    assert_eq!(frames[0]["seq"], 0);
    assert_eq!(frames[0]["payload"]["code"], "INTERNAL_ERROR");
    assert_eq!(h.fake.stats().calls, 0);
}
