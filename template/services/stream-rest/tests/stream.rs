//! The REST streaming handler with the real Bedrock SDK client against the fake Bedrock: the
//! REST API's proxy event in, PROTOCOL.md's event stream out, faults before and after the
//! first chunk, keep-alives, the origin secret and a client that leaves.

use std::sync::Arc;
use std::time::Duration;

use fake_bedrock::{FakeBedrock, Settings};
use genai::GenAi;
use genai::config::Config;
use genai::event_stream::{KeepAlive, Parsed as Sse};
use lambda_http::{Body, Request};
use tokio_stream::StreamExt;

/// The secret the CDN sends; the stage's function accepts it and the previous one.
const SECRET: &str = "n3w-secret";

fn settings() -> Settings {
    Settings {
        time_to_first_token_ms: 5,
        tokens_per_second: 1000,
        tokens: 15,
    }
}

async fn service(fake: &FakeBedrock) -> Arc<GenAi> {
    let endpoint = fake.endpoint();
    Arc::new(
        GenAi::from_config(Config::from_lookup(|key| match key {
            genai::config::BEDROCK_ENDPOINT_ENV => Some(endpoint.clone()),
            "ALLOWED_ORIGINS" => Some("https://app.example.com".into()),
            genai::ORIGIN_SECRET_ENV => Some(format!("{SECRET},0ld-secret")),
            _ => None,
        }))
        .await,
    )
}

/// What API Gateway sends for a request the CDN forwarded: the REST API's (v1.0) proxy event
/// of `POST /` on the stage, with the origin secret, read by lambda_http as the deployed
/// function reads it.
fn event(method: &str, body: &str, secret: Option<&str>) -> Request {
    let mut headers = serde_json::json!({
        "content-type": "application/json",
        "origin": "https://app.example.com",
    });
    if let Some(secret) = secret {
        headers[genai::ORIGIN_SECRET_HEADER] = secret.into();
    }
    let multi: serde_json::Map<String, serde_json::Value> = headers
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!([v])))
        .collect();
    let event = serde_json::json!({
        "resource": "/",
        "path": "/",
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "root",
            "stage": "dev",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": { "sourceIp": "198.51.100.7" },
            "resourcePath": "/",
            "httpMethod": method,
            "apiId": "abc123",
            "path": "/dev/",
        },
        "body": body,
        "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).expect("a REST proxy event")
}

fn post(body: &str) -> Request {
    event("POST", body, Some(SECRET))
}

/// The events of a whole stream.
fn parse(text: &str) -> Vec<Sse> {
    genai::event_stream::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn read_all(genai: Arc<GenAi>, keep_alive: KeepAlive, request: Request) -> (u16, String) {
    let response = stream_rest::handle(genai, keep_alive, request)
        .await
        .expect("handled");
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut text = String::new();
    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.expect("chunk")).expect("utf-8"));
    }
    (status, text)
}

const QUIET: KeepAlive = KeepAlive(Duration::from_secs(30));

#[tokio::test]
async fn a_rest_proxy_event_gets_chunks_in_order_then_complete_with_usage_and_metrics() {
    let logs = genai::log::capture();
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let response = stream_rest::handle(
        service(&fake).await,
        QUIET,
        post(r#"{"prompt":"Tell me a story"}"#),
    )
    .await
    .expect("handled");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response.headers()[name]
            .to_str()
            .expect("ascii")
            .to_string()
    };
    assert_eq!(header("content-type"), "text/event-stream");
    assert_eq!(header("cache-control"), "no-cache");
    assert_eq!(
        header("access-control-allow-origin"),
        "https://app.example.com"
    );
    // A streamed REST integration's prelude takes single-valued headers only.
    for name in response.headers().keys() {
        assert_eq!(response.headers().get_all(name).iter().count(), 1, "{name}");
    }
    let mut body = response.into_body();
    let mut text = String::new();
    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.expect("chunk")).expect("utf-8"));
    }
    let events = parse(&text);
    let mut joined = String::new();
    for (i, event) in events[..events.len() - 1].iter().enumerate() {
        match event {
            Sse::Event { id, name, data } => {
                assert_eq!(
                    (id, name.as_str()),
                    (&Some(i as u64), "chunk"),
                    "ids start at 0 without gaps"
                );
                joined.push_str(data["text"].as_str().expect("text"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        joined,
        fake_bedrock::expected_text("Tell me a story", 512, &settings())
    );
    let Some(Sse::Event { name, data, id }) = events.last() else {
        panic!("no complete event: {text}")
    };
    assert_eq!((name.as_str(), id), ("complete", &None));
    assert_eq!(data["status"], "done");
    assert_eq!(data["stopReason"], "end_turn");
    assert_eq!(data["usage"]["completionTokens"], 15);
    let total = data["metrics"]["totalMs"].as_u64().expect("totalMs");
    // One log line for the request, with its outcome and numbers, never the prompt.
    let finished = logs.finished("rest-stream");
    assert_eq!(finished.len(), 1, "{}", logs.text());
    assert_eq!(finished[0]["total_ms"], total);
    assert!(!logs.text().contains("Tell me a story"), "{}", logs.text());
}

#[tokio::test]
async fn bad_requests_are_refused_before_the_stream_and_never_reach_the_model() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    for body in [
        "",
        "{",
        "{}",
        r#"{"prompt":""}"#,
        r#"{"prompt":[1]}"#,
        r#"{"prompt":"x","maxTokens":-1}"#,
        r#"{"prompt":"x","maxTokens":1000000}"#,
        r#"{"prompt":"x","temperature":9}"#,
    ] {
        let (status, text) = read_all(genai.clone(), QUIET, post(body)).await;
        assert_eq!(status, 400, "{body}");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON error body");
        assert_eq!(json["error"]["code"], "BAD_REQUEST", "{body}");
        assert_eq!(json["error"]["statusCode"], 400, "{body}");
    }
    let too_long = serde_json::json!({ "prompt": "x".repeat(64 * 1024) }).to_string();
    let (status, text) = read_all(genai.clone(), QUIET, post(&too_long)).await;
    assert_eq!(status, 413, "{text}");
    assert_eq!(fake.stats().calls, 0);
}

#[tokio::test]
async fn faults_before_and_after_the_first_chunk_end_with_an_error_event() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    for (prompt, code, chunks_before) in [
        ("[fault=throttle]", "THROTTLED", 0),
        ("[fault=access-denied]", "MODEL_ACCESS_DENIED", 0),
        ("[fault=stream-error]", "MODEL_ERROR", 0),
        ("[fault=stream-error] [after=3]", "MODEL_ERROR", 3),
    ] {
        let body = serde_json::json!({ "prompt": prompt }).to_string();
        let (status, text) = read_all(genai.clone(), QUIET, post(&body)).await;
        assert_eq!(status, 200, "{prompt}: the stream had started");
        let events = parse(&text);
        assert_eq!(events.len(), chunks_before + 1, "{prompt}: {text}");
        match events.last() {
            Some(Sse::Event { name, data, .. }) if name == "error" => {
                assert_eq!(data["error"]["code"], code, "{prompt}")
            }
            other => panic!("{prompt}: expected an error event, got {other:?}"),
        }
    }
}

/// A model slow to start and a stall mid-answer both get pings, so neither CloudFront's
/// origin response timeout nor the REST API's idle timeout sees a silent stream.
#[tokio::test]
async fn silences_before_and_during_the_answer_get_keep_alive_comments() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    let ping = KeepAlive(Duration::from_millis(100));
    let body = serde_json::json!({ "prompt": "slow start [ttft=400] [tokens=3]" }).to_string();
    let (_, text) = read_all(genai.clone(), ping, post(&body)).await;
    assert_eq!(
        parse(&text).first(),
        Some(&Sse::Comment("ping".into())),
        "{text}"
    );
    assert!(text.contains("event: complete"), "{text}");
    let body = serde_json::json!({ "prompt": "[fault=stall] [stall=400] [after=1] [tokens=3]" })
        .to_string();
    let (_, text) = read_all(genai, ping, post(&body)).await;
    assert!(
        parse(&text).contains(&Sse::Comment("ping".into())),
        "{text}"
    );
    assert!(
        text.contains("event: complete"),
        "the stream goes on after the stall"
    );
}

#[tokio::test]
async fn a_client_that_leaves_stops_the_model() {
    let logs = genai::log::capture();
    let fake = FakeBedrock::start(Settings {
        tokens_per_second: 50,
        tokens: 500,
        ..settings()
    })
    .await
    .expect("fake");
    let response = stream_rest::handle(service(&fake).await, QUIET, post(r#"{"prompt":"long"}"#))
        .await
        .expect("handled");
    let mut body = response.into_body();
    let first = body.next().await.expect("a first chunk").expect("ok");
    assert!(
        std::str::from_utf8(&first)
            .expect("utf-8")
            .contains("event: chunk")
    );
    drop(body);
    let stats = fake
        .wait_for(Duration::from_secs(5), |s| s.hangups == 1)
        .await;
    assert_eq!((stats.hangups, stats.completed), (1, 0), "{stats:?}");
    assert!(logs.text().contains("client left"), "{}", logs.text());
}

#[tokio::test]
async fn only_the_cdn_is_answered_and_a_preflight_only_for_a_listed_origin() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    // The execute-api URL called directly: no secret, or a guess. Preflights too.
    for (method, secret) in [
        ("POST", None),
        ("POST", Some("n3w")),
        ("POST", Some("n3w-secret,0ld-secret")),
        ("OPTIONS", None),
    ] {
        let request = event(method, r#"{"prompt":"hi"}"#, secret);
        let (status, text) = read_all(genai.clone(), QUIET, request).await;
        assert_eq!(status, 403, "{method} {secret:?}");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON error body");
        assert_eq!(json["error"]["code"], "FORBIDDEN", "{method} {secret:?}");
    }
    assert_eq!(
        fake.stats().calls,
        0,
        "a refused call never reaches the model"
    );
    // Through the CDN, with the current or the previous secret.
    for secret in [SECRET, "0ld-secret"] {
        let (status, text) = read_all(
            genai.clone(),
            QUIET,
            event("POST", r#"{"prompt":"hi"}"#, Some(secret)),
        )
        .await;
        assert_eq!(status, 200, "{secret}");
        assert!(text.contains("event: complete"), "{text}");
    }
    let preflight = stream_rest::handle(genai.clone(), QUIET, event("OPTIONS", "", Some(SECRET)))
        .await
        .expect("handled");
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-methods"], "POST");
    let mut other = event("OPTIONS", "", Some(SECRET));
    other.headers_mut().insert(
        "origin",
        "https://evil.example.com".parse().expect("header"),
    );
    let refused = stream_rest::handle(genai, QUIET, other)
        .await
        .expect("handled");
    assert_eq!(refused.status(), 403);
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert_eq!(
        fake.stats().calls,
        2,
        "only the two answers reached the model"
    );
}

#[tokio::test]
async fn the_first_answer_of_a_new_instance_is_marked_cold_and_the_next_warm() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    let mut cold = Vec::new();
    for _ in 0..2 {
        let (_, text) = read_all(genai.clone(), QUIET, post(r#"{"prompt":"x"}"#)).await;
        let Some(Sse::Event { name, data, .. }) = parse(&text).pop() else {
            panic!("no events: {text}")
        };
        assert_eq!(name, "complete", "{text}");
        cold.push(data["metrics"]["coldStart"].as_bool().expect("coldStart"));
    }
    assert_eq!(cold, [true, false]);
}

/// A proxy event's body arrives as text (or base64): an empty one is the protocol's error,
/// never a panic, and a GET (which the API has no method for) is refused the same way.
#[tokio::test]
async fn an_event_without_a_body_is_a_bad_request() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let mut request = event("POST", "", Some(SECRET));
    *request.body_mut() = Body::Empty;
    let (status, text) = read_all(service(&fake).await, QUIET, request).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(fake.stats().calls, 0);
}
