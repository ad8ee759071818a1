//! `smoke`: checks a stage end to end through its one origin, as a user's browser reaches it,
//! and prints a checklist (`make smoke URL=https://<distribution>`, or `make smoke` against
//! `make dev`). Exits 1 when a check fails.
//!
//! What it proves on a deployed stage is what no local test can: the CDN's routes and headers,
//! the Function URL's signed POST, the model grant, and a WebSocket answer that outlives API
//! Gateway's 29 s integration timeout. Each prompt is short except that one (skip it with
//! `--skip-long`; it costs up to the stage's `maxTokens`).

use std::time::Duration;

use bench::Mode;
use bench::client::{self, Prompt, Transport, endpoints};
use clap::Parser;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::Value;

/// Checks a stage end to end through its one origin and prints a checklist; exits 1 when a
/// check fails.
#[derive(Debug, Parser)]
#[command(name = "smoke")]
struct Cli {
    /// The stage's origin: https://<distribution> (make outputs prints it), or make dev's
    /// http://127.0.0.1:8080
    #[arg(long, value_name = "URL", value_parser = client::origin)]
    url: String,
    /// Skip the WebSocket answer past 29 s, which costs up to the stage's maxTokens.
    #[arg(long)]
    skip_long: bool,
}

/// API Gateway's integration timeout, which a WebSocket answer must outlive.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html>
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// A check's own limit: a stage that stops answering fails the check, never hangs it.
const TIMEOUT: Duration = Duration::from_secs(60);
const LONG_TIMEOUT: Duration = Duration::from_secs(300);

/// A body past Lambda's 6 MB invocation payload but within API Gateway's 10 MB: the REST and
/// SSE paths must answer it 413, not a gateway error (PROTOCOL.md, "Errors").
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
const OVERSIZED_BYTES: usize = 7 * 1024 * 1024;

/// The CDN's security headers (the local stack serves none: it has no CDN).
const SECURITY_HEADERS: [&str; 5] = [
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
];

/// One line of the checklist.
enum Outcome {
    Pass(String),
    Fail(String),
    Skip(String),
}

struct Smoke {
    base: String,
    http: reqwest::Client,
    rows: Vec<(String, Outcome)>,
}

impl Smoke {
    fn record(&mut self, check: impl Into<String>, outcome: Outcome) {
        let check = check.into();
        let (mark, detail) = match &outcome {
            Outcome::Pass(d) => ("ok  ", d),
            Outcome::Fail(d) => ("FAIL", d),
            Outcome::Skip(d) => ("skip", d),
        };
        println!("[{mark}] {check}: {detail}");
        self.rows.push((check, outcome));
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        let url = format!("{}{path}", self.base);
        tokio::time::timeout(TIMEOUT, self.http.get(&url).send())
            .await
            .map_err(|_| format!("GET {url}: no answer in {TIMEOUT:?}"))?
            .map_err(|e| format!("GET {url}: {e}"))
    }
}

/// One strategy answering `prompt`, through the same client as `make bench`.
async fn answer(
    smoke: &Smoke,
    (name, transport, url): &(String, Transport, String),
    prompt: &Prompt,
    limit: Duration,
) -> Result<bench::Sample, String> {
    let sample = client::measure(
        &smoke.http,
        *transport,
        url,
        prompt,
        name,
        Mode::Sequential,
        limit,
    )
    .await;
    match &sample.error {
        None if sample.chunks > 0 && sample.completion_tokens.is_some() => Ok(sample),
        None => Err(format!("an answer without text or usage: {sample:?}")),
        Some(code) => Err(format!("error {code}")),
    }
}

/// `GET /sse/?prompt=…`, the original sample's SSE request, read to its `complete` event.
async fn sse_get(smoke: &Smoke, url: &str) -> Result<String, String> {
    let request = smoke
        .http
        .get(format!(
            "{}/?prompt=Say%20hello%20in%20five%20words.",
            url.trim_end_matches('/')
        ))
        .send();
    let run = async {
        let response = request.await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let mut events = response.bytes_stream().eventsource();
        let mut chunks = 0;
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| e.to_string())?;
            match event.event.as_str() {
                "chunk" => chunks += 1,
                "complete" => return Ok(format!("{chunks} chunks")),
                "error" => return Err(format!("error event {}", event.data)),
                _ => {}
            }
        }
        Err("the stream ended without `complete`".to_string())
    };
    tokio::time::timeout(TIMEOUT, run)
        .await
        .map_err(|_| format!("no `complete` in {TIMEOUT:?}"))?
}

/// A 7 MB prompt `POST`ed to `url`: the status, with the protocol's error code when the body
/// has one. Costs no tokens: nothing that size reaches the model.
async fn oversized(smoke: &Smoke, url: &str) -> Result<String, String> {
    let body = serde_json::json!({ "prompt": "x".repeat(OVERSIZED_BYTES) }).to_string();
    let request = smoke
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("x-amz-content-sha256", client::content_sha256(&body))
        .body(body)
        .send();
    let response = tokio::time::timeout(TIMEOUT, request)
        .await
        .map_err(|_| format!("no answer in {TIMEOUT:?}"))?
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let code = response
        .json::<Value>()
        .await
        .ok()
        .map(|b| b["error"]["code"].clone());
    let detail = match code.as_ref().and_then(Value::as_str) {
        Some(code) => format!("HTTP {} {code}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    };
    if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE {
        Ok(detail)
    } else {
        Err(format!("{detail}, not 413"))
    }
}

/// Model calls so far, when the stage is the local stack (its status page); `None` elsewhere.
async fn local_model_calls(smoke: &Smoke) -> Option<u64> {
    let status: Value = smoke.get("/_local/status").await.ok()?.json().await.ok()?;
    status["bedrock"]["calls"].as_u64()
}

async fn run(base: String, skip_long: bool) -> Result<bool, String> {
    // One TLS provider for the clients (reqwest and the WebSocket client share it).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let mut smoke = Smoke {
        base,
        http,
        rows: Vec::new(),
    };
    println!("smoke: {}", smoke.base);

    let config: Value = match smoke.get("/config.json").await {
        Ok(response) if response.status().is_success() => response
            .json()
            .await
            .map_err(|e| format!("{}/config.json is not JSON: {e}", smoke.base))?,
        Ok(response) => {
            return Err(format!(
                "{}/config.json answered HTTP {}: is this the stage's origin? (make outputs prints it)",
                smoke.base,
                response.status()
            ));
        }
        Err(e) => return Err(e),
    };
    let services = local::discover::services(&local::project_root()?)?;
    let endpoints = endpoints(&config, &smoke.base, &services);
    let names: Vec<&str> = endpoints.iter().map(|(n, _, _)| n.as_str()).collect();
    for (name, _) in config["strategies"].as_object().into_iter().flatten() {
        if !names.contains(&name.as_str()) {
            smoke.record(
                format!("{name} answers"),
                Outcome::Skip("the stage serves it; this project has no service for it".into()),
            );
        }
    }
    if endpoints.is_empty() {
        smoke.record("config.json", Outcome::Fail("lists no strategy".into()));
    } else {
        smoke.record(
            "config.json",
            Outcome::Pass(format!(
                "stage {}, strategies {}",
                config["stage"],
                names.join(", ")
            )),
        );
    }

    let short = Prompt {
        text: "Say hello in five words.".into(),
        max_tokens: 32,
    };
    for endpoint in &endpoints {
        let outcome = match answer(&smoke, endpoint, &short, TIMEOUT).await {
            Ok(s) => Outcome::Pass(format!(
                "{} chunks, {} tokens, {:.0} ms",
                s.chunks,
                s.completion_tokens.unwrap_or(0),
                s.total_ms
            )),
            Err(e) => Outcome::Fail(e),
        };
        let how = match endpoint.1 {
            Transport::ServerSentEvents => "POST (signed body hash)",
            Transport::WebSocketFrames => "frames",
            Transport::JsonResponse => "POST",
        };
        smoke.record(format!("{} answers, {how}", endpoint.0), outcome);
        if endpoint.1 == Transport::ServerSentEvents {
            let outcome = match sse_get(&smoke, &endpoint.2).await {
                Ok(detail) => Outcome::Pass(detail),
                Err(e) => Outcome::Fail(e),
            };
            smoke.record(format!("{} answers, GET ?prompt=", endpoint.0), outcome);
        }
    }

    match endpoints.iter().find(|e| e.1 == Transport::WebSocketFrames) {
        None => smoke.record(
            "WebSocket past 29 s",
            Outcome::Skip("no WebSocket strategy".into()),
        ),
        Some(_) if skip_long => {
            smoke.record("WebSocket past 29 s", Outcome::Skip("--skip-long".into()))
        }
        Some(endpoint) => {
            // The bracketed words pace the fake Bedrock of `make dev` past 29 s; a real model
            // reads them as text and is asked for the stage's most tokens.
            let long = Prompt {
                text: "Write a long, detailed history of lighthouses. [tokens=1900] [tps=60]"
                    .into(),
                max_tokens: config["limits"]["maxTokens"].as_u64().unwrap_or(4096) as u32,
            };
            let outcome = match answer(&smoke, endpoint, &long, LONG_TIMEOUT).await {
                Ok(s) if s.total_ms >= INTEGRATION_TIMEOUT.as_millis() as f64 => {
                    Outcome::Pass(format!(
                        "{} tokens in {:.1} s, whole",
                        s.completion_tokens.unwrap_or(0),
                        s.total_ms / 1000.0
                    ))
                }
                Ok(s) => Outcome::Skip(format!(
                    "the model answered in {:.1} s, under 29 s: the limit was not exercised",
                    s.total_ms / 1000.0
                )),
                Err(e) => Outcome::Fail(e),
            };
            smoke.record("WebSocket past 29 s", outcome);
        }
    }

    if smoke.base.starts_with("https://") {
        let outcome = match smoke.get("/").await {
            Ok(response) => {
                let missing: Vec<&str> = SECURITY_HEADERS
                    .into_iter()
                    .filter(|h| !response.headers().contains_key(*h))
                    .collect();
                if missing.is_empty() {
                    Outcome::Pass(SECURITY_HEADERS.join(", "))
                } else {
                    Outcome::Fail(format!("missing {}", missing.join(", ")))
                }
            }
            Err(e) => Outcome::Fail(e),
        };
        smoke.record("security headers", outcome);
    } else {
        smoke.record(
            "security headers",
            Outcome::Skip("set by the CDN; this origin has none".into()),
        );
    }

    // Any path that is neither a file nor a strategy's route is nobody's, on the CDN and on
    // `make dev` alike; the routes of the strategies a stage lacks are such paths.
    let nowhere = "/no-strategy-here";
    let outcome = match smoke.get(nowhere).await {
        Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
            Outcome::Pass(format!("{nowhere} 404"))
        }
        Ok(r) => Outcome::Fail(format!("{nowhere} answered HTTP {}", r.status())),
        Err(e) => Outcome::Fail(e),
    };
    smoke.record("a path no strategy has: 404", outcome);

    let calls_before = local_model_calls(&smoke).await;
    let empty = Prompt {
        text: String::new(),
        max_tokens: 32,
    };
    for endpoint in &endpoints {
        let sample = client::measure(
            &smoke.http,
            endpoint.1,
            &endpoint.2,
            &empty,
            &endpoint.0,
            Mode::Sequential,
            TIMEOUT,
        )
        .await;
        let outcome = match sample.error.as_deref() {
            Some("BAD_REQUEST") => Outcome::Pass("BAD_REQUEST".into()),
            other => Outcome::Fail(format!("an empty prompt got {other:?}, not BAD_REQUEST")),
        };
        smoke.record(format!("{} refuses bad input", endpoint.0), outcome);
    }
    for endpoint in endpoints
        .iter()
        .filter(|e| e.1 != Transport::WebSocketFrames)
    {
        let outcome = match oversized(&smoke, &endpoint.2).await {
            Ok(detail) => Outcome::Pass(detail),
            Err(e) => Outcome::Fail(e),
        };
        smoke.record(format!("{} refuses a 7 MB body", endpoint.0), outcome);
    }
    match (calls_before, local_model_calls(&smoke).await) {
        (Some(before), Some(after)) if before == after => smoke.record(
            "bad input costs nothing",
            Outcome::Pass("no model call".into()),
        ),
        (Some(before), Some(after)) => smoke.record(
            "bad input costs nothing",
            Outcome::Fail(format!("{} model calls", after - before)),
        ),
        _ => smoke.record(
            "bad input costs nothing",
            Outcome::Skip("only the local stack counts model calls".into()),
        ),
    }

    let failed = smoke
        .rows
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Fail(_)))
        .count();
    let skipped = smoke
        .rows
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Skip(_)))
        .count();
    println!(
        "smoke: {} passed, {failed} failed, {skipped} skipped",
        smoke.rows.len() - failed - skipped
    );
    Ok(failed == 0)
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match run(cli.url, cli.skip_long).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("smoke: {message}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_flags_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
