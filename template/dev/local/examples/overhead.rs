//! What the local stack adds to the model's time to first token, for SSE and WebSocket:
//! the same fake Bedrock pace measured straight from the SDK client (what a service does) and
//! through the stack (gateway, Runtime API, release service binary, and back), one request at
//! a time. Prints p50/p95 of each and the overhead; target: at most 2 ms at p50.
//!
//! `cargo run --release -p local --example overhead` (builds the release services first)

use std::path::Path;
use std::time::{Duration, Instant};

use fake_bedrock::{FakeBedrock, Settings};
use futures_util::{SinkExt, StreamExt};
use genai::config::Config;
use genai::{Event, GenAi, ValidRequest};
use local::discover::Transport;
use local::{Bedrock, Options, Stack};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const SAMPLES: usize = 60;
const TARGET_MS: f64 = 2.0;

fn settings() -> Settings {
    Settings {
        time_to_first_token_ms: 40,
        tokens_per_second: 1000,
        tokens: 5,
    }
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Time to the first delta, straight from the SDK.
async fn direct(genai: &GenAi, i: usize) -> Duration {
    let request = ValidRequest {
        prompt: format!("overhead {i}"),
        max_tokens: 512,
        temperature: 0.5,
        system: None,
    };
    let start = Instant::now();
    let mut generation = genai.generate(&request).await.expect("generation");
    let event = generation.next().await.expect("event").expect("no fault");
    let first = start.elapsed();
    assert!(
        matches!(event, Event::Delta(_)),
        "the answer starts with text"
    );
    while generation.next().await.is_some() {}
    first
}

/// Time to the first `chunk` event through the stack's Function URL emulation.
async fn sse(addr: &str, route: &str, i: usize) -> Duration {
    let body = json!({ "prompt": format!("overhead {i}") }).to_string();
    let request = format!(
        "POST {route} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut seen = Vec::new();
    let mut buffer = [0_u8; 4096];
    let first = loop {
        let n = socket.read(&mut buffer).await.expect("read");
        assert!(n > 0, "stream ended before a chunk");
        seen.extend_from_slice(&buffer[..n]);
        if seen.windows(12).any(|w| w == b"event: chunk") {
            break start.elapsed();
        }
    };
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest).await;
    first
}

#[tokio::main]
async fn main() {
    let root = local::project_root().expect("run inside the project");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args(["build", "--release", "--quiet", "--workspace", "--bins"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(built.success(), "release build of the services failed");
    let exe = std::env::current_exe().expect("bench path");
    let bin_dir = exe.parent().and_then(Path::parent).expect("target/release");

    let fake = FakeBedrock::start(settings()).await.expect("fake");
    let endpoint = fake.endpoint();
    let genai = GenAi::from_config(Config::from_lookup(|key| {
        (key == genai::config::BEDROCK_ENDPOINT_ENV).then(|| endpoint.clone())
    }))
    .await;
    let stack = Stack::start(Options {
        root,
        bin_dir: bin_dir.to_path_buf(),
        listen: ([127, 0, 0, 1], 0).into(),
        bedrock: Bedrock::Fake(settings()),
        latencies: Default::default(),
        cold_start: Duration::ZERO,
        max_instances: 4,
        // The functions' INFO lines would land among the printed figures.
        log_level: Some("error".into()),
        function_env: Vec::new(),
        deliver_events_twice: false,
        stage: None,
    })
    .await
    .expect("stack");
    let addr = stack.url.trim_start_matches("http://").to_string();

    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    // Warm connections and instances before measuring.
    direct(&genai, 0).await;
    rows.push(("model, direct SDK call".to_string(), Vec::new()));
    for i in 0..SAMPLES {
        let sample = ms(direct(&genai, i).await);
        rows[0].1.push(sample);
    }
    for service in &stack.services {
        match service.transport {
            Transport::ServerSentEvents => {
                sse(&addr, &service.route, 0).await;
                let mut samples = Vec::new();
                for i in 0..SAMPLES {
                    samples.push(ms(sse(&addr, &service.route, i).await));
                }
                rows.push((format!("{} through the stack", service.strategy), samples));
            }
            Transport::WebSocketFrames => {
                let url = format!("ws://{addr}{}", service.route);
                let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("open");
                let mut samples = Vec::new();
                for i in 0..=SAMPLES {
                    let message = json!({ "action": "generate", "requestId": i.to_string(), "payload": { "prompt": format!("overhead {i}") } });
                    let start = Instant::now();
                    socket
                        .send(Message::Text(message.to_string().into()))
                        .await
                        .expect("send");
                    let mut first = None;
                    while let Some(Ok(Message::Text(text))) = socket.next().await {
                        let frame: serde_json::Value =
                            serde_json::from_str(text.as_str()).expect("JSON");
                        first.get_or_insert_with(|| start.elapsed());
                        if frame["type"] != "chunk" {
                            break;
                        }
                    }
                    // The first round only warms the connection and the instance.
                    if i > 0 {
                        samples.push(ms(first.expect("a frame")));
                    }
                }
                rows.push((format!("{} through the stack", service.strategy), samples));
            }
            Transport::JsonResponse => {}
        }
    }
    stack.stop().await;

    let s = settings();
    println!(
        "time to first chunk, {SAMPLES} sequential requests, fake TTFT {} ms:",
        s.time_to_first_token_ms
    );
    println!(
        "  {:<30} {:>8} {:>8} {:>10}",
        "", "p50 ms", "p95 ms", "overhead"
    );
    let base = percentile(&mut rows[0].1.clone(), 0.5);
    for (name, samples) in &mut rows {
        let p50 = percentile(samples, 0.5);
        let p95 = percentile(samples, 0.95);
        let overhead = p50 - base;
        let verdict = if *name == "model, direct SDK call" {
            String::new()
        } else if overhead <= TARGET_MS {
            format!("{overhead:>+7.2} ms  met (<= {TARGET_MS} ms)")
        } else {
            format!("{overhead:>+7.2} ms  NOT MET (<= {TARGET_MS} ms)")
        };
        println!("  {name:<30} {p50:>8.2} {p95:>8.2}   {verdict}");
    }
}
