//! The SSE handler with the real Bedrock SDK client against the fake Bedrock: the exact
//! events of PROTOCOL.md, faults, keep-alives and a client that leaves.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fake_bedrock::{FakeBedrock, Settings};
use genai::GenAi;
use genai::config::Config;
use genai::event_stream::{KeepAlive, Parsed as Sse};
use lambda_http::{Body, Request, RequestExt};
use tokio_stream::StreamExt;

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
            "ALLOWED_ORIGINS" => Some("http://localhost:5173".into()),
            _ => None,
        }))
        .await,
    )
}

fn post(body: &str) -> Request {
    let mut request = Request::new(Body::from(body.to_string()));
    *request.method_mut() = lambda_http::http::Method::POST;
    request
}

/// The events of a whole stream.
fn parse(text: &str) -> Vec<Sse> {
    genai::event_stream::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn read_all(genai: Arc<GenAi>, keep_alive: KeepAlive, request: Request) -> (u16, String) {
    let response = stream_sse::handle(genai, keep_alive, request)
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
async fn chunks_arrive_in_order_then_complete_with_usage_and_metrics() {
    let logs = genai::log::capture();
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let (status, text) = read_all(
        service(&fake).await,
        QUIET,
        post(r#"{"prompt":"Tell me a story"}"#),
    )
    .await;
    assert_eq!(status, 200);
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
    let Sse::Event { name, data, id } = events.last().expect("complete") else {
        panic!("no complete event")
    };
    assert_eq!((name.as_str(), id), ("complete", &None));
    assert_eq!(data["status"], "done");
    assert_eq!(data["stopReason"], "end_turn");
    assert_eq!(data["usage"]["completionTokens"], 15);
    assert_eq!(data["usage"]["promptTokens"], 4);
    let total = data["metrics"]["totalMs"].as_u64().expect("totalMs");
    assert!(
        data["metrics"]["firstTokenMs"]
            .as_u64()
            .expect("firstTokenMs")
            <= total
    );
    // One log line for the request, with its outcome and numbers, never the prompt.
    let finished = logs.finished("sse");
    assert_eq!(finished.len(), 1, "{}", logs.text());
    assert_eq!(finished[0]["completion_tokens"], 15);
    assert_eq!(finished[0]["total_ms"], total);
    assert!(!logs.text().contains("Tell me a story"), "{}", logs.text());
}

#[tokio::test]
async fn a_get_with_a_prompt_works_for_the_original_samples_clients() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let request = Request::default().with_query_string_parameters(HashMap::from([(
        "prompt".to_string(),
        "Tell me a story".to_string(),
    )]));
    let (status, text) = read_all(service(&fake).await, QUIET, request).await;
    assert_eq!(status, 200);
    assert!(
        text.ends_with("\n\n") && text.contains("event: complete"),
        "{text}"
    );
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
        r#"{"prompt":"x","temperature":9}"#,
    ] {
        let (status, text) = read_all(genai.clone(), QUIET, post(body)).await;
        assert_eq!(status, 400, "{body}");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON error body");
        assert_eq!(json["error"]["code"], "BAD_REQUEST", "{body}");
    }
    let (status, _) = read_all(genai.clone(), QUIET, Request::default()).await;
    assert_eq!(status, 400, "GET without a prompt");
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

#[tokio::test]
async fn a_stall_gets_keep_alive_comments() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let body = serde_json::json!({ "prompt": "[fault=stall] [stall=400] [after=1] [tokens=3]" })
        .to_string();
    let (_, text) = read_all(
        service(&fake).await,
        KeepAlive(Duration::from_millis(100)),
        post(&body),
    )
    .await;
    let events = parse(&text);
    assert!(events.contains(&Sse::Comment("ping".into())), "{text}");
    assert!(
        text.contains("event: complete"),
        "the stream goes on after the stall"
    );
}

/// A model slow to start (time to first token past the keep-alive) gets pings from the first
/// byte, so CloudFront's 30 s origin read timeout never sees a silent stream.
#[tokio::test]
async fn a_slow_first_token_gets_keep_alive_comments_before_any_event() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let body = serde_json::json!({ "prompt": "slow start [ttft=400] [tokens=3]" }).to_string();
    let (_, text) = read_all(
        service(&fake).await,
        KeepAlive(Duration::from_millis(100)),
        post(&body),
    )
    .await;
    let events = parse(&text);
    assert_eq!(events.first(), Some(&Sse::Comment("ping".into())), "{text}");
    assert!(text.contains("event: complete"), "{text}");
}

#[tokio::test]
async fn a_client_that_leaves_stops_the_model() {
    let fake = FakeBedrock::start(Settings {
        tokens_per_second: 50,
        tokens: 500,
        ..settings()
    })
    .await
    .expect("fake");
    let response = stream_sse::handle(service(&fake).await, QUIET, post(r#"{"prompt":"long"}"#))
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
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_is_allowed_and_from_any_other_refused() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    let preflight = |origin: &'static str| {
        let mut request = Request::new(Body::Empty);
        *request.method_mut() = lambda_http::http::Method::OPTIONS;
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header"));
        stream_sse::handle(genai.clone(), QUIET, request)
    };
    let allowed = preflight("http://localhost:5173").await.expect("handled");
    assert_eq!(allowed.status(), 204);
    let header = |name: &str| allowed.headers()[name].to_str().expect("ascii").to_string();
    assert_eq!(
        header("access-control-allow-origin"),
        "http://localhost:5173"
    );
    assert_eq!(header("access-control-allow-methods"), "GET, POST");
    // CloudFront's origin access control needs the body hash of a POST to the Function URL.
    assert!(header("access-control-allow-headers").contains("x-amz-content-sha256"));
    let refused = preflight("https://evil.example.com")
        .await
        .expect("handled");
    assert_eq!(refused.status(), 403);
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert_eq!(fake.stats().calls, 0, "a preflight never reaches the model");
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
