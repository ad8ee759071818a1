//! The REST handler with the real Bedrock SDK client against the fake Bedrock.

use std::time::Duration;

use fake_bedrock::{FakeBedrock, Settings};
use genai::GenAi;
use genai::config::Config;
use lambda_http::{Body, Request};
use sync_api::Deadline;

fn settings() -> Settings {
    Settings {
        time_to_first_token_ms: 5,
        tokens_per_second: 1000,
        tokens: 20,
    }
}

async fn service(fake: &FakeBedrock) -> GenAi {
    let endpoint = fake.endpoint();
    let config = Config::from_lookup(|key| match key {
        genai::config::BEDROCK_ENDPOINT_ENV => Some(endpoint.clone()),
        "ALLOWED_ORIGINS" => Some("https://app.example.com".into()),
        _ => None,
    });
    GenAi::from_config(config).await
}

async fn post(
    genai: &GenAi,
    deadline: Deadline,
    body: &str,
    origin: Option<&str>,
) -> (u16, serde_json::Value, Option<String>) {
    let mut request = Request::new(Body::from(body.to_string()));
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header"));
    }
    let response = sync_api::handle(genai, deadline, request)
        .await
        .expect("handled");
    let allow = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().expect("ascii").to_string());
    let json = serde_json::from_slice(response.body().as_ref()).expect("JSON body");
    (response.status().as_u16(), json, allow)
}

const LONG: Deadline = Deadline(Duration::from_secs(10));

#[tokio::test]
async fn answers_with_the_models_text_usage_and_meta() {
    let logs = genai::log::capture();
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    let (status, body, allow) = post(
        &genai,
        LONG,
        r#"{"prompt":"Tell me a story","maxTokens":100}"#,
        Some("https://app.example.com"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["text"],
        fake_bedrock::expected_text("Tell me a story", 100, &settings())
    );
    assert_eq!(body["data"]["usage"]["completionTokens"], 20);
    assert_eq!(body["data"]["usage"]["totalTokens"], 24);
    assert_eq!(body["meta"]["stopReason"], "end_turn");
    assert_eq!(body["meta"]["model"], genai.config().model_id);
    let latency = body["meta"]["latency"].as_u64().expect("latency");
    let first = body["meta"]["firstTokenMs"].as_u64().expect("first token");
    assert!(first <= latency, "{body}");
    assert_eq!(allow.as_deref(), Some("https://app.example.com"));
    // One log line for the request, with its outcome and numbers, never the prompt.
    let finished = logs.finished("rest");
    assert_eq!(finished.len(), 1, "{}", logs.text());
    assert_eq!(finished[0]["completion_tokens"], 20);
    assert!(!logs.text().contains("Tell me a story"), "{}", logs.text());
}

#[tokio::test]
async fn bad_requests_never_reach_the_model() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    let huge = serde_json::json!({ "prompt": "a".repeat(20_000) }).to_string();
    let cases = [
        ("", 400),
        ("{", 400),
        ("{}", 400),
        (r#"{"prompt":""}"#, 400),
        (r#"{"prompt":7}"#, 400),
        (r#"{"prompt":"hi","maxTokens":0}"#, 400),
        (r#"{"prompt":"hi","maxTokens":99999}"#, 400),
        (r#"{"prompt":"hi","temperature":2}"#, 400),
        (r#"{"prompt":"hi","temperature":"warm"}"#, 400),
        (huge.as_str(), 413),
    ];
    for (body, status) in cases {
        let (got, json, _) = post(&genai, LONG, body, Some("https://evil.example.com")).await;
        assert_eq!(got, status, "{body:.40}: {json}");
        assert_eq!(json["error"]["statusCode"], status);
    }
    assert_eq!(fake.stats().calls, 0, "no model call for a bad request");
}

#[tokio::test]
async fn faults_map_to_protocol_codes_and_no_origin_is_echoed_unless_allowed() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    for (prompt, status, code) in [
        ("[fault=throttle]", 429, "THROTTLED"),
        ("[fault=access-denied]", 502, "MODEL_ACCESS_DENIED"),
        ("[fault=stream-error] [after=5]", 502, "MODEL_ERROR"),
    ] {
        let body = serde_json::json!({ "prompt": prompt }).to_string();
        let (got, json, allow) = post(&genai, LONG, &body, Some("https://evil.example.com")).await;
        assert_eq!(
            (got, json["error"]["code"].as_str()),
            (status, Some(code)),
            "{prompt}"
        );
        assert_eq!(allow, None);
    }
}

#[tokio::test]
async fn a_slow_model_gets_a_timeout_before_the_gateway_would() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let genai = service(&fake).await;
    let body = serde_json::json!({ "prompt": "slow [tokens=100] [tps=20]" }).to_string();
    let (status, json, _) = post(&genai, Deadline(Duration::from_millis(300)), &body, None).await;
    assert_eq!(status, 504);
    assert_eq!(json["error"]["code"], "TIMEOUT");
    let stats = fake
        .wait_for(Duration::from_secs(5), |s| s.hangups == 1)
        .await;
    assert_eq!(stats.hangups, 1, "the model stream was stopped");
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
        sync_api::handle(&genai, LONG, request)
    };
    let allowed = preflight("https://app.example.com").await.expect("handled");
    assert_eq!(allowed.status(), 204);
    let header = |name: &str| allowed.headers()[name].to_str().expect("ascii").to_string();
    assert_eq!(
        header("access-control-allow-origin"),
        "https://app.example.com"
    );
    assert_eq!(header("access-control-allow-methods"), "POST");
    assert!(header("access-control-allow-headers").contains("content-type"));
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
async fn a_stage_with_an_origin_secret_answers_only_the_cdn() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let endpoint = fake.endpoint();
    let config = Config::from_lookup(|key| match key {
        genai::config::BEDROCK_ENDPOINT_ENV => Some(endpoint.clone()),
        "ALLOWED_ORIGINS" => Some("https://app.example.com".into()),
        // The current secret and, after a rotation, the previous one.
        genai::ORIGIN_SECRET_ENV => Some("n3w-secret,0ld-secret".into()),
        _ => None,
    });
    let genai = GenAi::from_config(config).await;
    let call = |method: &str, secret: Option<&'static str>| {
        let mut request = Request::new(Body::from(r#"{"prompt":"hi"}"#));
        *request.method_mut() = method.parse().expect("method");
        request
            .headers_mut()
            .insert("origin", "https://app.example.com".parse().expect("header"));
        if let Some(secret) = secret {
            request
                .headers_mut()
                .insert(genai::ORIGIN_SECRET_HEADER, secret.parse().expect("header"));
        }
        sync_api::handle(&genai, LONG, request)
    };
    // The execute-api URL called directly: no secret, or a guess. Preflights too.
    for (method, secret) in [
        ("POST", None),
        ("POST", Some("n3w")),
        ("POST", Some("n3w-secret,0ld-secret")),
        ("OPTIONS", None),
    ] {
        let response = call(method, secret).await.expect("handled");
        assert_eq!(response.status(), 403, "{method} {secret:?}");
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("JSON body");
        assert_eq!(body["error"]["code"], "FORBIDDEN", "{method} {secret:?}");
        assert_eq!(body["error"]["statusCode"], 403);
    }
    assert_eq!(
        fake.stats().calls,
        0,
        "a refused call never reaches the model"
    );
    // Through the CDN, with either secret.
    for secret in ["n3w-secret", "0ld-secret"] {
        let response = call("POST", Some(secret)).await.expect("handled");
        assert_eq!(response.status(), 200, "{secret}");
    }
    assert_eq!(
        call("OPTIONS", Some("n3w-secret"))
            .await
            .expect("handled")
            .status(),
        204
    );
    assert_eq!(fake.stats().calls, 2);
}

#[tokio::test]
async fn the_first_answer_of_a_new_instance_is_marked_cold_and_the_next_warm() {
    let fake = FakeBedrock::start(settings()).await.expect("fake");
    // A new instance's service; a refused request is no answer and leaves it cold.
    let genai = service(&fake).await;
    let (status, _, _) = post(&genai, LONG, r#"{"prompt":""}"#, None).await;
    assert_eq!(status, 400);
    let mut cold = Vec::new();
    for _ in 0..2 {
        let (status, body, _) = post(&genai, LONG, r#"{"prompt":"x"}"#, None).await;
        assert_eq!(status, 200, "{body}");
        cold.push(body["meta"]["coldStart"].as_bool().expect("coldStart"));
    }
    assert_eq!(cold, [true, false]);
}
