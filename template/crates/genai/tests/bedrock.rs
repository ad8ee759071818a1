//! The real Bedrock SDK client against the fake Bedrock, over a real socket: the text, usage
//! and errors a strategy builds its answer from.

use std::time::{Duration, Instant};

use fake_bedrock::{FakeBedrock, Settings};
use genai::config::{Config, Limits};
use genai::{ErrorCode, Event, GenAi, ValidRequest};

fn fast() -> Settings {
    Settings {
        time_to_first_token_ms: 5,
        tokens_per_second: 2000,
        tokens: 12,
    }
}

async fn service(fake: &FakeBedrock) -> GenAi {
    GenAi::from_config(Config {
        model_id: "us.amazon.nova-micro-v1:0".into(),
        region: "us-east-1".into(),
        bedrock_endpoint: Some(fake.endpoint()),
        allowed_origins: Vec::new(),
        origin_secrets: Vec::new(),
        deployed: false,
        limits: Limits::default(),
    })
    .await
}

fn request(prompt: &str) -> ValidRequest {
    ValidRequest {
        prompt: prompt.into(),
        max_tokens: 512,
        temperature: 0.5,
        system: None,
    }
}

/// Reads a generation to its end: the text, and the completion or the error.
async fn drain(
    genai: &GenAi,
    prompt: &str,
) -> (String, Result<genai::Completion, genai::ApiError>) {
    let mut generation = match genai.generate(&request(prompt)).await {
        Ok(generation) => generation,
        Err(error) => return (String::new(), Err(error)),
    };
    let mut text = String::new();
    while let Some(event) = generation.next().await {
        match event {
            Ok(Event::Delta(delta)) => text.push_str(&delta),
            Ok(Event::Done(done)) => return (text, Ok(done)),
            Err(error) => return (text, Err(error)),
        }
    }
    panic!("the generation ended without Done or an error");
}

#[tokio::test]
async fn text_and_usage_are_what_the_model_sent() {
    let fake = FakeBedrock::start(fast()).await.expect("fake starts");
    let genai = service(&fake).await;
    let (text, done) = drain(&genai, "Tell me a story").await;
    let done = done.expect("completes");
    assert_eq!(
        text,
        fake_bedrock::expected_text("Tell me a story", 512, &fast())
    );
    assert_eq!(done.usage.completion_tokens, 12);
    assert_eq!(done.usage.prompt_tokens, 4);
    assert_eq!(done.usage.total_tokens, 16);
    assert_eq!(done.stop_reason, "end_turn");
    assert!(done.model_latency_ms.is_some());
    assert_eq!(fake.stats().completed, 1);
}

#[tokio::test]
async fn max_tokens_caps_the_answer_and_says_so() {
    let fake = FakeBedrock::start(fast()).await.expect("fake starts");
    let genai = service(&fake).await;
    let mut req = request("long [tokens=50]");
    req.max_tokens = 7;
    let mut generation = genai.generate(&req).await.expect("starts");
    let mut deltas = 0;
    loop {
        match generation
            .next()
            .await
            .expect("an event")
            .expect("no error")
        {
            Event::Delta(_) => deltas += 1,
            Event::Done(done) => {
                assert_eq!(done.stop_reason, "max_tokens");
                assert_eq!(done.usage.completion_tokens, 7);
                break;
            }
        }
    }
    assert_eq!(deltas, 7);
}

#[tokio::test]
async fn each_fault_maps_to_its_protocol_code() {
    let fake = FakeBedrock::start(fast()).await.expect("fake starts");
    let genai = service(&fake).await;
    let cases = [
        ("[fault=throttle]", ErrorCode::Throttled, 3),
        ("[fault=access-denied]", ErrorCode::ModelAccessDenied, 1),
        ("[fault=validation]", ErrorCode::BadRequest, 1),
        // Before the first token a throttle is retried; after it, it is not.
        ("[fault=stream-throttle]", ErrorCode::Throttled, 3),
        ("[fault=stream-throttle] [after=3]", ErrorCode::Throttled, 1),
        ("[fault=stream-error]", ErrorCode::ModelError, 1),
        ("[fault=stream-error] [after=4]", ErrorCode::ModelError, 1),
    ];
    for (prompt, code, calls) in cases {
        let before = fake.stats().calls;
        let (text, result) = drain(&genai, prompt).await;
        let error = result.expect_err(prompt);
        assert_eq!(error.code, code, "{prompt}: {error:?}");
        assert_eq!(fake.stats().calls - before, calls, "{prompt}: model calls");
        if prompt.contains("[after=") {
            assert!(!text.is_empty(), "{prompt}: text before the fault is kept");
        }
    }
    let (_, denied) = drain(&genai, "[fault=access-denied]").await;
    let message = denied.expect_err("denied").message;
    assert!(
        message.contains("us.amazon.nova-micro-v1:0") && message.contains("us-east-1"),
        "{message}"
    );
}

#[tokio::test]
async fn the_fake_streams_at_the_rate_it_was_given() {
    // 500 tokens at 5000/s take 100 ms: never less, and not a timer tick (1 ms) each.
    let fake = FakeBedrock::start(Settings {
        tokens_per_second: 5000,
        tokens: 500,
        ..fast()
    })
    .await
    .expect("fake starts");
    let genai = service(&fake).await;
    let started = Instant::now();
    let (text, done) = drain(&genai, "a quick one").await;
    let took = started.elapsed();
    assert_eq!(done.expect("completes").usage.completion_tokens, 500);
    assert!(!text.is_empty());
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(450),
        "{took:?}"
    );
}

#[tokio::test]
async fn dropping_a_generation_hangs_up_on_the_model() {
    let fake = FakeBedrock::start(Settings {
        tokens_per_second: 50,
        tokens: 200,
        ..fast()
    })
    .await
    .expect("fake starts");
    let genai = service(&fake).await;
    let mut generation = genai
        .generate(&request("a long one"))
        .await
        .expect("starts");
    assert!(matches!(generation.next().await, Some(Ok(Event::Delta(_)))));
    drop(generation);
    let stats = fake
        .wait_for(Duration::from_secs(5), |s| s.hangups == 1)
        .await;
    assert_eq!(stats.hangups, 1, "the fake saw the hang-up: {stats:?}");
    assert_eq!(stats.completed, 0);
}

/// The fake's `Converse` (non-streaming) route, through the unmodified SDK: the same
/// deterministic text and usage as the stream, and the same faults.
#[tokio::test]
async fn the_fake_answers_converse_for_any_sdk_client() {
    use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};

    let fake = FakeBedrock::start(fast()).await.expect("fake");
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(fake.endpoint())
        .build();
    let client = aws_sdk_bedrockruntime::Client::from_conf(config);
    let ask = |prompt: &str| {
        client
            .converse()
            .model_id("us.amazon.nova-micro-v1:0")
            .messages(
                Message::builder()
                    .role(ConversationRole::User)
                    .content(ContentBlock::Text(prompt.into()))
                    .build()
                    .expect("message"),
            )
    };
    let prompt = "Tell me about tides";
    let output = ask(prompt).send().await.expect("converse answers");
    let text = output
        .output()
        .and_then(|o| o.as_message().ok())
        .and_then(|m| m.content().first())
        .and_then(|c| c.as_text().ok())
        .expect("text");
    assert_eq!(*text, fake_bedrock::expected_text(prompt, 512, &fast()));
    let usage = output.usage().expect("usage");
    assert_eq!(usage.output_tokens(), 12);
    assert_eq!(usage.input_tokens(), 4);

    let throttled = ask("busy [fault=throttle]")
        .send()
        .await
        .expect_err("throttled");
    assert!(
        throttled
            .as_service_error()
            .is_some_and(|e| e.is_throttling_exception()),
        "{throttled:?}"
    );
    assert!(fake.stats().calls >= 2);
}
