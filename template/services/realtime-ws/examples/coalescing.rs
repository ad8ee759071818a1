//! Adaptive coalescing, measured: the fake Bedrock streams 300 tokens at 200 tokens/s to a
//! gateway that takes 20 ms per post. Prints, from the same run, the model's own time, the
//! handler's total for a client that reads the success frame's tail (the web app), for one that
//! does not (the original sample's), and for posting once per delta with the same SDK client.
//! Target: the web app's answer is complete within the model's time (for the same request,
//! from Bedrock's own `latencyMs`) plus two post latencies (as the posts of that answer took):
//! when the model ends, at most one post is in flight, then the success frame carries the tail.
//!
//! `cargo run --release -p realtime-ws --example coalescing`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aws_sdk_apigatewaymanagement::primitives::Blob;
use fake_bedrock::{FakeBedrock, Settings};
use genai::config::Config;
use genai::{Event, GenAi, ValidRequest};
use realtime_ws::{App, Connections, Generation, Generations, Invocation, Ledger};

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
        (key == genai::config::BEDROCK_ENDPOINT_ENV).then(|| endpoint.clone())
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

    // Ours: the real handler as the generation function, adaptive coalescing, for both
    // kinds of client.
    let app = App {
        genai: genai.clone(),
        connections: Connections::new(support::client_base(), Some(url.clone())),
        generations: Generations::new(support::lambda_client(&url), None),
        // No floor: this measures coalescing alone, against posting once per delta.
        min_frame: std::time::Duration::ZERO,
        ledger: Ledger::new(support::dynamodb_client(&url), Some("ledger".into())),
    };
    let run = |connection: &'static str, tail_in_success: bool| {
        let generation = Generation {
            generation_id: connection.into(),
            endpoint: url.clone(),
            connection_id: connection.into(),
            request_id: Some("r".into()),
            tail_in_success,
            payload: serde_json::json!({ "prompt": "coalescing benchmark", "maxTokens": 1000 }),
            received_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        let app = &app;
        async move {
            let start = Instant::now();
            realtime_ws::handle(app, Invocation::Generation { generation }).await;
            start.elapsed()
        }
    };
    // Where the model's last token falls within a post decides how long the post in flight
    // still takes (0 to 1 post), so the web app's case runs several times.
    let mut ours = Vec::new();
    for connection in ["ours-1", "ours-2", "ours-3", "ours-4", "ours-5"] {
        let total = run(connection, true).await;
        ours.push(Run::of(&gateway, connection, total));
    }
    ours.sort_by_key(|run| run.total);
    let chunks_only = run("chunks-only", false).await;
    let chunks_only_frames = gateway.frames("chunks-only").len();

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
    let median = &ours[ours.len() / 2];
    let margins: Vec<f64> = ours
        .iter()
        .map(|run| ms(run.budget()) - ms(run.total))
        .collect();
    let met = margins.iter().filter(|m| **m >= 0.0).count();
    let worst = margins.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{TOKENS} tokens at 200 tokens/s, {} ms per post (the web app's case: median of {} runs):",
        POST_LATENCY.as_millis(),
        ours.len()
    );
    println!("  model alone (separate run)  {:>8.0} ms", ms(model));
    println!(
        "  model, same request         {:>8.0} ms   (Bedrock's latencyMs)",
        ms(median.model)
    );
    println!(
        "  one post, same request      {:>8.1} ms   (median gap between its frames)",
        ms(median.post)
    );
    println!(
        "  coalescing (ours, web app)  {:>8.0} ms   {} frames, the tail in the success frame",
        ms(median.total),
        median.frames
    );
    println!(
        "  coalescing, chunks only     {:>8.0} ms   {chunks_only_frames} frames (the original sample's clients)",
        ms(chunks_only)
    );
    println!(
        "  one post per delta          {:>8.0} ms   {per_delta_frames} frames",
        ms(per_delta)
    );
    println!(
        "  target: ours {:.0} ms <= model + 2 posts {:.0} ms (met in {met} of {} runs, least headroom {:.1} ms; one post per delta: {:.0} ms)   {}",
        ms(median.total),
        ms(median.budget()),
        ours.len(),
        worst,
        ms(per_delta),
        if median.total <= median.budget() {
            "met"
        } else {
            "NOT MET"
        }
    );
    println!(
        "  one post per delta / ours   {:>8.1}x",
        per_delta.as_secs_f64() / median.total.as_secs_f64()
    );
}

/// One answer of the handler, with what its budget is made of.
struct Run {
    total: Duration,
    frames: usize,
    /// The model's time for this very request, as the fake Bedrock reported it.
    model: Duration,
    /// What one post took: posts go back to back while the model streams (a token every
    /// 5 ms, a post every 20 ms and more), so the median gap between two frames is one post:
    /// the gateway's 20 ms plus HTTP, signing and parsing, under the same load.
    post: Duration,
}

impl Run {
    fn of(gateway: &support::Gateway, connection: &str, total: Duration) -> Run {
        let frames = gateway.frames(connection);
        let model = frames
            .last()
            .and_then(|f| f["payload"]["metrics"]["modelLatencyMs"].as_u64())
            .map(Duration::from_millis)
            .expect("the success frame carries the model latency");
        let mut gaps: Vec<Duration> = gateway.delivered_at.lock().expect("lock")[connection]
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .collect();
        gaps.sort();
        Run {
            total,
            frames: frames.len(),
            model,
            post: gaps[gaps.len() / 2],
        }
    }

    fn budget(&self) -> Duration {
        self.model + 2 * self.post
    }
}
