//! `smoke`: checks a stage end to end through its one origin, as a user's browser reaches it,
//! and prints a checklist (`make smoke URL=https://<distribution>`, or `make smoke` against
//! `make dev`). Exits 1 when a check fails.
//!
//! What it proves on a deployed stage is what no local test can: the CDN's routes and headers,
//! the Function URL's signed POST, the model grant, a WebSocket answer that outlives API
//! Gateway's 29 s integration timeout, the 413 of a body past Lambda's payload, and the 403 of
//! each API called past the CDN (`--direct`). Each prompt is short except that one (skip it
//! with `--skip-long`; it costs up to the stage's `maxTokens`).
//!
//! Against `make dev` the rows of AWS behaviour are marked: the local stack emulates them, so
//! a pass there is not proof, and only a real stage confirms them; rows only a real stage can
//! run are skipped as such. No row is skipped for any other reason than those and a flag the
//! run was given: anything else that keeps a check from running fails it.

use std::path::PathBuf;
use std::time::Duration;

use bench::Mode;
use bench::client::{self, Prompt, Transport, endpoints};
use clap::Parser;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use local::discover::Trigger;
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
    /// A deployed stage's APIs at their own execute-api URLs, as `python3 infra/frontend.py
    /// direct` writes them (make smoke passes it for an https URL): each must answer 403.
    #[arg(long, value_name = "FILE")]
    direct: Option<PathBuf>,
}

/// API Gateway's integration timeout, which a WebSocket answer must outlive.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html>
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// A check's own limit: a stage that stops answering fails the check, never hangs it.
const TIMEOUT: Duration = Duration::from_secs(60);
const LONG_TIMEOUT: Duration = Duration::from_secs(300);

/// A body past Lambda's 6 MB invocation payload but within API Gateway's 10 MB: the REST and
/// SSE paths are expected to answer it 413, not a gateway error (PROTOCOL.md, "Errors").
/// Lambda documents the 6 MB
/// (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>), API Gateway
/// its own 413 only above 10 MB
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>): what REST
/// answers in between is an assumption only a real stage confirms.
const OVERSIZED_BYTES: usize = 7 * 1024 * 1024;

/// The fake Bedrock's pace for the long answer (its `[tps=N]` directive), and the margin past
/// [`INTEGRATION_TIMEOUT`] the answer is sized for, so that it outlives 29 s on `make dev`.
const FAKE_TOKENS_PER_SECOND: u64 = 60;
const LONG_MARGIN: f64 = 1.25;

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
    Skip(Why, String),
}

/// The only reasons a row may be skipped; any other reason a check cannot run fails it.
#[derive(Clone, Copy, PartialEq)]
enum Why {
    /// It needs a deployed stage (a CDN, execute-api URLs): expected against `make dev`.
    RealStageOnly,
    /// It needs the local stack's counters: expected against a deployed stage.
    LocalOnly,
    /// The run asked for it (`--skip-long`).
    Asked,
}

/// Whether a row checks AWS behaviour, which `make dev` only emulates.
#[derive(Clone, Copy, PartialEq)]
enum Confirms {
    Anywhere,
    RealStage,
}

struct Smoke {
    base: String,
    http: reqwest::Client,
    rows: Vec<(String, Outcome, Confirms)>,
}

impl Smoke {
    fn local(&self) -> bool {
        !self.base.starts_with("https://")
    }

    fn record(&mut self, check: impl Into<String>, outcome: Outcome) {
        self.row(check.into(), outcome, Confirms::Anywhere);
    }

    /// A row of AWS behaviour: marked, against `make dev`, as one only a real stage confirms.
    fn record_aws(&mut self, check: impl Into<String>, outcome: Outcome) {
        self.row(check.into(), outcome, Confirms::RealStage);
    }

    fn row(&mut self, check: String, outcome: Outcome, confirms: Confirms) {
        let (mark, detail) = match &outcome {
            Outcome::Pass(d) => ("ok  ", d.clone()),
            Outcome::Fail(d) => ("FAIL", d.clone()),
            Outcome::Skip(why, d) => (
                "skip",
                match why {
                    Why::RealStageOnly => format!("real stage only: {d}"),
                    Why::LocalOnly => format!("make dev only: {d}"),
                    Why::Asked => format!("as asked: {d}"),
                },
            ),
        };
        let ran = !matches!(outcome, Outcome::Skip(..));
        let note = if ran && confirms == Confirms::RealStage && self.local() {
            " [emulated by make dev: only a real stage confirms it]"
        } else {
            ""
        };
        println!("[{mark}] {check}: {detail}{note}");
        self.rows.push((check, outcome, confirms));
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        let url = format!("{}{path}", self.base);
        let mut failed = String::new();
        // Twice: a GET may go out on a pooled connection the server has just closed (as one
        // does after refusing an oversized body it did not read), and a GET is safe to repeat.
        for _ in 0..2 {
            match tokio::time::timeout(TIMEOUT, self.http.get(&url).send()).await {
                Err(_) => return Err(format!("GET {url}: no answer in {TIMEOUT:?}")),
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(e)) => failed = format!("GET {url}: {e}"),
            }
        }
        Err(failed)
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
        // PROTOCOL.md's 413 past Lambda's payload is what AWS's documents imply, not what
        // they state for REST: a stage answering otherwise is worth reporting.
        Err(format!(
            "{detail}, not 413 (PROTOCOL.md expects 413; a real stage answering otherwise \
             disproves it)"
        ))
    }
}

/// Model calls so far, when the stage is the local stack (its status page); `None` elsewhere.
async fn local_model_calls(smoke: &Smoke) -> Option<u64> {
    let status: Value = smoke.get("/_local/status").await.ok()?.json().await.ok()?;
    status["bedrock"]["calls"].as_u64()
}

async fn run(base: String, skip_long: bool, direct: Option<PathBuf>) -> Result<bool, String> {
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
                Outcome::Fail(
                    "the stage serves it but this project has no service for it: check the \
                     stage this project deployed (or genai-scaffold add it)"
                        .into(),
                ),
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
        // A Function URL takes what CloudFront signed, body hash included (its origin access
        // control), and any method: the original sample's clients GET it with ?prompt=.
        let function_url = services
            .iter()
            .any(|s| s.strategy == endpoint.0 && s.trigger == Trigger::FunctionUrlStreaming);
        let how = match endpoint.1 {
            Transport::ServerSentEvents if function_url => "POST (signed body hash)",
            Transport::WebSocketFrames => "frames",
            Transport::ServerSentEvents | Transport::JsonResponse => "POST",
        };
        let check = format!("{} answers, {how}", endpoint.0);
        if function_url {
            smoke.record_aws(check, outcome);
        } else {
            smoke.record(check, outcome);
        }
        if function_url {
            let outcome = match sse_get(&smoke, &endpoint.2).await {
                Ok(detail) => Outcome::Pass(detail),
                Err(e) => Outcome::Fail(e),
            };
            smoke.record(format!("{} answers, GET ?prompt=", endpoint.0), outcome);
        }
    }

    // A project without a WebSocket strategy has no answer that must outlive 29 s: no row.
    for endpoint in endpoints
        .iter()
        .filter(|e| e.1 == Transport::WebSocketFrames)
    {
        let check = format!("{} answers past 29 s", endpoint.0);
        if skip_long {
            smoke.record(check, Outcome::Skip(Why::Asked, "--skip-long".into()));
            continue;
        }
        let max_tokens = config["limits"]["maxTokens"].as_u64().unwrap_or(4096);
        let outcome = match answer(&smoke, endpoint, &long_prompt(max_tokens), LONG_TIMEOUT).await {
            Ok(s) if s.total_ms >= INTEGRATION_TIMEOUT.as_millis() as f64 => {
                Outcome::Pass(format!(
                    "{} tokens in {:.1} s, whole",
                    s.completion_tokens.unwrap_or(0),
                    s.total_ms / 1000.0
                ))
            }
            // Not exercised is not passed: say what the stage needs for the check to run.
            Ok(s) => Outcome::Fail(too_fast(&s, max_tokens)),
            Err(e) => Outcome::Fail(e),
        };
        smoke.record_aws(check, outcome);
    }

    if !smoke.local() {
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
        smoke.record_aws("security headers", outcome);
    } else {
        smoke.record_aws(
            "security headers",
            Outcome::Skip(
                Why::RealStageOnly,
                "set by the CDN; this origin has none".into(),
            ),
        );
    }
    direct_calls(&mut smoke, direct, &services).await;

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
    smoke.record_aws("a path no strategy has: 404", outcome);

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
        smoke.record_aws(format!("{} refuses a 7 MB body", endpoint.0), outcome);
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
        (None, None) if !smoke.local() => smoke.record(
            "bad input costs nothing",
            Outcome::Skip(
                Why::LocalOnly,
                "only the local stack counts model calls".into(),
            ),
        ),
        _ => smoke.record(
            "bad input costs nothing",
            Outcome::Fail("the local stack's /_local/status gave no model call count".into()),
        ),
    }

    let count = |f: &dyn Fn(&Outcome, Confirms) -> bool| {
        smoke.rows.iter().filter(|(_, o, c)| f(o, *c)).count()
    };
    let failed = count(&|o, _| matches!(o, Outcome::Fail(_)));
    let skipped = count(&|o, _| matches!(o, Outcome::Skip(..)));
    let emulated = count(&|o, c| matches!(o, Outcome::Pass(_)) && c == Confirms::RealStage);
    let emulated = if smoke.local() && emulated > 0 {
        format!("; {emulated} of the passes emulated by make dev: only a real stage confirms them")
    } else {
        String::new()
    };
    println!(
        "smoke: {} passed, {failed} failed, {skipped} skipped{emulated}",
        smoke.rows.len() - failed - skipped
    );
    Ok(failed == 0)
}

/// The long answer's prompt, sized to outlive [`INTEGRATION_TIMEOUT`]: a real model is asked
/// for the stage's most tokens, in words (about 0.75 a token); the bracketed words, text to a
/// real model, pace `make dev`'s fake Bedrock past 29 s with the margin.
fn long_prompt(max_tokens: u64) -> Prompt {
    let fake_tokens =
        (INTEGRATION_TIMEOUT.as_secs_f64() * LONG_MARGIN * FAKE_TOKENS_PER_SECOND as f64).ceil()
            as u64;
    Prompt {
        text: format!(
            "Write a long, detailed history of lighthouses, at least {} words; do not stop \
             early. [tokens={fake_tokens}] [tps={FAKE_TOKENS_PER_SECOND}]",
            max_tokens * 3 / 4
        ),
        max_tokens: max_tokens as u32,
    }
}

/// Why an answer that ended before 29 s proves nothing, and what would make it long enough.
fn too_fast(sample: &bench::Sample, max_tokens: u64) -> String {
    let tokens = sample.completion_tokens.unwrap_or(0);
    let seconds = sample.total_ms / 1000.0;
    let rate = tokens as f64 / seconds.max(0.001);
    let needed = (rate * INTEGRATION_TIMEOUT.as_secs_f64() * LONG_MARGIN).ceil();
    format!(
        "{tokens} tokens in {seconds:.1} s, under 29 s: the limit was not exercised. At \
         {rate:.0} tokens/s the answer needs about {needed} tokens; the stage allows \
         {max_tokens} (raise its max-tokens, README \"Settings\"), or pass --skip-long"
    )
}

/// The stage's APIs called past the CDN, at their own execute-api URLs (`--direct`, from the
/// stacks' outputs): each must refuse with 403 before any model call (PROTOCOL.md, "Only
/// through the app's origin"). Only a deployed stage has them.
async fn direct_calls(
    smoke: &mut Smoke,
    direct: Option<PathBuf>,
    services: &[local::discover::Service],
) {
    let check = "execute-api URLs refuse a direct call";
    let file = match (smoke.local(), direct) {
        (true, _) => {
            let why = "make dev has no execute-api URLs".to_string();
            return smoke.record_aws(check, Outcome::Skip(Why::RealStageOnly, why));
        }
        (false, None) => {
            let why = "no --direct file: run it as make smoke URL=..., which reads the stage's \
                       execute-api URLs (infra/frontend.py direct)";
            return smoke.record_aws(check, Outcome::Fail(why.into()));
        }
        (false, Some(file)) => file,
    };
    let document: Value = match std::fs::read_to_string(&file)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(document) => document,
        Err(e) => {
            let why = format!("{}: {e}", file.display());
            return smoke.record_aws(check, Outcome::Fail(why));
        }
    };
    if document["url"].as_str() != Some(smoke.base.as_str()) {
        let why = format!(
            "{} is the stage at {}, not {}: give make smoke the STAGE of this URL",
            file.display(),
            document["url"],
            smoke.base
        );
        return smoke.record_aws(check, Outcome::Fail(why));
    }
    for (strategy, url) in document["apis"].as_object().into_iter().flatten() {
        let url = url.as_str().unwrap_or_default();
        let transport = services
            .iter()
            .find(|s| &s.strategy == strategy)
            .map(|s| s.transport);
        let outcome = match transport {
            Some(Transport::WebSocketFrames) => refused_handshake(url).await,
            Some(_) => refused_post(&smoke.http, url).await,
            None => Outcome::Fail(format!("this project has no service for {strategy}")),
        };
        smoke.record_aws(format!("{strategy} refuses a call past the CDN"), outcome);
    }
}

/// A WebSocket handshake without the CDN's secret: `$connect` must refuse it with 403.
async fn refused_handshake(url: &str) -> Outcome {
    use tokio_tungstenite::tungstenite::Error;
    match tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(url)).await {
        Err(_) => Outcome::Fail(format!("{url}: no answer in {TIMEOUT:?}")),
        Ok(Err(Error::Http(response))) if response.status() == 403 => {
            Outcome::Pass(format!("{url}: handshake 403"))
        }
        Ok(Err(e)) => Outcome::Fail(format!("{url}: {e}, not 403")),
        Ok(Ok(_)) => Outcome::Fail(format!(
            "{url}: handshake accepted without the CDN's secret"
        )),
    }
}

/// A valid request without the CDN's secret: 403 `FORBIDDEN`, from the function (API Gateway
/// answers 403 of its own to a path it lacks, without the protocol's code).
async fn refused_post(http: &reqwest::Client, url: &str) -> Outcome {
    let body = serde_json::json!({ "prompt": "Say hello in five words.", "maxTokens": 8 });
    let request = http.post(url).json(&body).send();
    let response = match tokio::time::timeout(TIMEOUT, request).await {
        Err(_) => return Outcome::Fail(format!("{url}: no answer in {TIMEOUT:?}")),
        Ok(Err(e)) => return Outcome::Fail(format!("{url}: {e}")),
        Ok(Ok(response)) => response,
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    match (status, body["error"]["code"].as_str()) {
        (403, Some("FORBIDDEN")) => Outcome::Pass(format!("{url}: 403 FORBIDDEN")),
        (status, code) => Outcome::Fail(format!(
            "{url}: HTTP {status} {}, not 403 FORBIDDEN",
            code.unwrap_or("(no protocol error)")
        )),
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match run(cli.url, cli.skip_long, cli.direct).await {
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
    use std::io::{Read, Write};

    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_flags_are_consistent() {
        super::Cli::command().debug_assert();
    }

    /// An address that answers its first request with `response`, as an execute-api URL would.
    fn answering(response: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(response.as_bytes());
        });
        address.to_string()
    }

    const FORBIDDEN: &str = "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\
        content-length: 62\r\nconnection: close\r\n\r\n\
        {\"error\":{\"message\":\"no\",\"code\":\"FORBIDDEN\",\"statusCode\":403}}";
    // What API Gateway answers for a path it does not have: a 403 that proves nothing.
    const MISSING_TOKEN: &str = "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\
        content-length: 42\r\nconnection: close\r\n\r\n\
        {\"message\":\"Missing Authentication Token\"}";
    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";

    #[tokio::test]
    async fn a_direct_post_passes_only_on_the_protocols_403() {
        let http = reqwest::Client::new();
        let passed = |o: Outcome| matches!(o, Outcome::Pass(_));
        let url = |a: String| format!("http://{a}/dev/generate");
        assert!(passed(
            refused_post(&http, &url(answering(FORBIDDEN))).await
        ));
        assert!(!passed(
            refused_post(&http, &url(answering(MISSING_TOKEN))).await
        ));
        assert!(!passed(refused_post(&http, &url(answering(OK))).await));
    }

    #[tokio::test]
    async fn a_direct_handshake_passes_only_when_refused_with_403() {
        let passed = |o: Outcome| matches!(o, Outcome::Pass(_));
        let url = |a: String| format!("ws://{a}/dev");
        assert!(passed(refused_handshake(&url(answering(FORBIDDEN))).await));
        assert!(!passed(refused_handshake(&url(answering(OK))).await));
    }

    #[test]
    fn the_long_prompt_paces_the_fake_past_29_seconds_and_asks_a_model_for_all_it_may() {
        let prompt = long_prompt(4096);
        assert_eq!(prompt.max_tokens, 4096);
        let tokens: f64 = prompt
            .text
            .split("[tokens=")
            .nth(1)
            .expect("tokens")
            .split(']')
            .next()
            .expect("]")
            .parse()
            .expect("a number");
        assert!(tokens / FAKE_TOKENS_PER_SECOND as f64 > INTEGRATION_TIMEOUT.as_secs_f64());
        assert!(prompt.text.contains("at least 3072 words"));
    }
}
