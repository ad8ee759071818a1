//! Adaptive coalescing, measured: the fake Bedrock streams 300 tokens at 200 tokens/s to a
//! gateway that takes 20 ms per post. Prints, from the same run, the model's own time, the
//! handler's total (coalescing), and a client of the same SDK that posts once per delta.
//! Target: coalescing finishes within the model's time (for the same request, from Bedrock's
//! own `latencyMs`) plus two post latencies. After the model's last token, at most one post
//! is still in flight, then the last chunk and the success frame go out in order.
//!
//! `cargo run --release -p realtime-ws --example coalescing`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use fake_bedrock::{FakeBedrock, Settings};
use genai::config::Config;
use genai::{Event, GenAi, ValidRequest};
use realtime_ws::{App, Connections};

const POST_LATENCY: Duration = Duration::from_millis(20);
const TOKENS: u32 = 300;

fn request() -> ValidRequest {
    ValidRequest {
        prompt: "coalescing benchmark".into(),
        max_tokens: 1000,
        temperature: 0.5,
        system: None,
    }
}

#[tokio::main]
async fn main() {
    let settings = Settings {
        time_to_first_token_ms: 20,
        tokens_per_second: 200,
        tokens: TOKENS,
    };
    let fake = FakeBedrock::start(settings).await.expect("fake bedrock");
    let (gateway, url) = support::start(POST_LATENCY).await;
    let endpoint = fake.endpoint();
    let genai = GenAi::from_config(Config::from_lookup(|key| {
        (key == "BEDROCK_ENDPOINT_URL").then(|| endpoint.clone())
    }))
    .await;

    // The model alone: read every event, post nothing.
    let start = Instant::now();
    let mut generation = genai.generate(&request()).await.expect("generation");
    while let Some(event) = generation.next().await {
        if matches!(event.expect("no fault"), Event::Done(_)) {
            break;
        }
    }
    let model = start.elapsed();

    // Ours: the real handler, adaptive coalescing.
    let app = App {
        genai: genai.clone(),
        connections: Connections::new(support::client_base(), Some(url.clone())),
    };
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    event.request_context.route_key = Some("generate".into());
    event.request_context.connection_id = Some("ours".into());
    event.body = Some(
        serde_json::json!({ "action": "generate", "requestId": "r", "payload": { "prompt": "coalescing benchmark", "maxTokens": 1000 } })
            .to_string(),
    );
    let start = Instant::now();
    realtime_ws::handle(&app, event).await.expect("handled");
    let ours = start.elapsed();
    let frames = gateway.frames("ours");
    let ours_frames = frames.len();
    // The model's time for this very request, as the fake Bedrock reported it.
    let same_run_model = frames
        .last()
        .and_then(|f| f["payload"]["metrics"]["modelLatencyMs"].as_u64())
        .map(Duration::from_millis)
        .expect("the success frame carries the model latency");

    // One post per delta, awaited in turn, with the same SDK client.
    let client = aws_sdk_apigatewaymanagement::Client::from_conf(
        support::client_base().endpoint_url(url).build(),
    );
    let start = Instant::now();
    let mut generation = genai.generate(&request()).await.expect("generation");
    let mut seq = 0;
    while let Some(event) = generation.next().await {
        let payload = match event.expect("no fault") {
            Event::Delta(text) => {
                serde_json::json!({ "type": "chunk", "seq": seq, "payload": { "text": text } })
            }
            Event::Done(_) => serde_json::json!({ "type": "success", "seq": seq, "payload": {} }),
        };
        seq += 1;
        let done = payload["type"] == "success";
        client
            .post_to_connection()
            .connection_id("per-delta")
            .data(Blob::new(payload.to_string()))
            .send()
            .await
            .expect("posted");
        if done {
            break;
        }
    }
    let per_delta = start.elapsed();
    let per_delta_frames = gateway.frames("per-delta").len();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let budget = same_run_model + 2 * POST_LATENCY;
    println!(
        "{TOKENS} tokens at 200 tokens/s, {} ms per post:",
        POST_LATENCY.as_millis()
    );
    println!("  model alone (separate run)  {:>8.0} ms", ms(model));
    println!(
        "  model, same request         {:>8.0} ms   (Bedrock's latencyMs)",
        ms(same_run_model)
    );
    println!(
        "  coalescing (ours)           {:>8.0} ms   {ours_frames} frames",
        ms(ours)
    );
    println!(
        "  one post per delta          {:>8.0} ms   {per_delta_frames} frames",
        ms(per_delta)
    );
    println!(
        "  target: ours {:.0} ms <= model + 2 posts {:.0} ms (one post per delta: {:.0} ms)   {}",
        ms(ours),
        ms(budget),
        ms(per_delta),
        if ours <= budget { "met" } else { "NOT MET" }
    );
    println!(
        "  one post per delta / ours   {:>8.1}x",
        per_delta.as_secs_f64() / ours.as_secs_f64()
    );
}
