//! One request per strategy, as PROTOCOL.md defines it, timed from the moment it is sent.
//! Errors are the protocol's codes; `OUT_OF_ORDER` (a gap in `seq`/`id`), `CONNECTION` and
//! `CLIENT_TIMEOUT` are the client's own.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{Mode, Sample};

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The prompt text.
    pub text: String,
    /// `maxTokens`.
    pub max_tokens: u32,
}

impl Prompt {
    fn body(&self) -> Value {
        json!({ "prompt": self.text, "maxTokens": self.max_tokens })
    }
}

use local::discover::Service;
pub use local::discover::Transport;

/// A stage's origin as `--url` gives it (`bench`, `smoke`): `http://` or `https://`, returned
/// without a trailing `/` so that routes append to it.
pub fn origin(url: &str) -> Result<String, String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err("a stage's origin is http(s)://… (make outputs prints it)".into())
    }
}

/// Endpoints of the stage, from its `config.json`, each with the transport its service
/// declares in this project (`services`); relative URLs are taken from `base`. A strategy the
/// stage lists that this project does not declare is left out.
pub fn endpoints(
    config: &Value,
    base: &str,
    services: &[Service],
) -> Vec<(String, Transport, String)> {
    let Some(strategies) = config["strategies"].as_object() else {
        return Vec::new();
    };
    strategies
        .iter()
        .filter_map(|(name, entry)| {
            let transport = services.iter().find(|s| &s.strategy == name)?.transport;
            let url = entry["url"].as_str()?;
            let url = if url.contains("://") {
                url.to_string()
            } else if transport == Transport::WebSocketFrames {
                format!("{}{url}", base.replacen("http", "ws", 1))
            } else {
                format!("{base}{url}")
            };
            Some((name.clone(), transport, url))
        })
        .collect()
}

/// A measurement in progress.
struct Timing {
    start: Instant,
    first: Option<f64>,
    chunks: usize,
    frames: usize,
    usage: Value,
}

impl Timing {
    fn new() -> Self {
        Timing {
            start: Instant::now(),
            first: None,
            chunks: 0,
            frames: 0,
            usage: Value::Null,
        }
    }

    fn elapsed_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    fn chunk(&mut self) {
        let now = self.elapsed_ms();
        self.first.get_or_insert(now);
        self.chunks += 1;
    }

    fn finish(self, strategy: &str, mode: Mode, error: Option<String>) -> Sample {
        let total_ms = self.elapsed_ms();
        let completion_tokens = self.usage["completionTokens"].as_u64();
        Sample {
            strategy: strategy.to_string(),
            mode,
            error,
            first_chunk_ms: self.first,
            total_ms,
            completion_tokens,
            prompt_tokens: self.usage["promptTokens"].as_u64(),
            tokens_per_second: completion_tokens
                .filter(|_| total_ms > 0.0)
                .map(|t| t as f64 * 1000.0 / total_ms),
            chunks: self.chunks,
            frames: self.frames,
        }
    }
}

/// The error code of a protocol error body (`{"error": {...}}` or the error itself).
fn code_of(body: &Value) -> String {
    body["error"]["code"]
        .as_str()
        .or_else(|| body["code"].as_str())
        .unwrap_or("HTTP_ERROR")
        .to_string()
}

/// Sends `prompt` to `url` over `transport` and measures it; never longer than `timeout`.
pub async fn measure(
    http: &reqwest::Client,
    transport: Transport,
    url: &str,
    prompt: &Prompt,
    strategy: &str,
    mode: Mode,
    timeout: Duration,
) -> Sample {
    let mut timing = Timing::new();
    let run = async {
        match transport {
            Transport::ServerSentEvents => sse(http, url, prompt, &mut timing).await,
            Transport::JsonResponse => rest(http, url, prompt, &mut timing).await,
            Transport::WebSocketFrames => websocket(url, prompt, &mut timing).await,
        }
    };
    let outcome = match tokio::time::timeout(timeout, run).await {
        Ok(outcome) => outcome,
        Err(_) => Err("CLIENT_TIMEOUT".to_string()),
    };
    timing.finish(strategy, mode, outcome.err())
}

/// The hex SHA-256 of a request body. CloudFront signs a request to a Lambda Function URL
/// origin (origin access control) but cannot hash a POST body: the client sends it in
/// `x-amz-content-sha256`, or the Function URL refuses the POST. Other origins ignore it.
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html>
pub fn content_sha256(body: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `POST`s the prompt as JSON; the clock starts here.
async fn post(
    http: &reqwest::Client,
    url: &str,
    prompt: &Prompt,
    timing: &mut Timing,
) -> Result<reqwest::Response, String> {
    let body = prompt.body().to_string();
    timing.start = Instant::now();
    http.post(url)
        .header("content-type", "application/json")
        .header("x-amz-content-sha256", content_sha256(&body))
        .body(body)
        .send()
        .await
        .map_err(|_| "CONNECTION".to_string())
}

async fn sse(
    http: &reqwest::Client,
    url: &str,
    prompt: &Prompt,
    timing: &mut Timing,
) -> Result<(), String> {
    let response = post(http, url, prompt, timing).await?;
    if !response.status().is_success() {
        let body: Value = response.json().await.unwrap_or_default();
        return Err(code_of(&body));
    }
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = event.map_err(|_| "CONNECTION".to_string())?;
        timing.frames += 1;
        let data: Value = serde_json::from_str(&event.data).unwrap_or_default();
        match event.event.as_str() {
            "chunk" => {
                if event.id != timing.chunks.to_string() {
                    return Err("OUT_OF_ORDER".into());
                }
                timing.chunk();
            }
            "complete" => {
                timing.usage = data["usage"].clone();
                return Ok(());
            }
            "error" => return Err(code_of(&data)),
            _ => {}
        }
    }
    Err("CONNECTION".into())
}

async fn rest(
    http: &reqwest::Client,
    url: &str,
    prompt: &Prompt,
    timing: &mut Timing,
) -> Result<(), String> {
    let response = post(http, url, prompt, timing).await?;
    let ok = response.status().is_success();
    let body: Value = response
        .json()
        .await
        .map_err(|_| "CONNECTION".to_string())?;
    if !ok {
        return Err(code_of(&body));
    }
    // One answer: the first text arrives with the last.
    timing.frames = 1;
    timing.chunk();
    timing.usage = body["data"]["usage"].clone();
    Ok(())
}

async fn websocket(url: &str, prompt: &Prompt, timing: &mut Timing) -> Result<(), String> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|_| "CONNECTION".to_string())?;
    let request_id = "bench";
    // Like the web app: the last words come in the success frame, one post sooner.
    let message = json!({ "action": "generate", "requestId": request_id, "tailInSuccess": true, "payload": prompt.body() });
    // Timed from the send, like the other strategies: an app keeps its socket open.
    timing.start = Instant::now();
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .map_err(|_| "CONNECTION".to_string())?;
    let mut seq = 0;
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message.map_err(|_| "CONNECTION".to_string())? else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
        if frame["requestId"] != request_id {
            continue;
        }
        // Each is a message API Gateway bills.
        timing.frames += 1;
        if frame["type"] == "error" {
            return Err(code_of(&frame["payload"]));
        }
        if frame["seq"] != seq {
            return Err("OUT_OF_ORDER".into());
        }
        seq += 1;
        match frame["type"].as_str() {
            Some("chunk") => timing.chunk(),
            Some("success") => {
                if frame["payload"]["tail"]
                    .as_str()
                    .is_some_and(|tail| !tail.is_empty())
                {
                    timing.chunk();
                }
                timing.usage = frame["payload"]["usage"].clone();
                let _ = socket.close(None).await;
                return Ok(());
            }
            _ => return Err("PROTOCOL".into()),
        }
    }
    Err("CONNECTION".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_http_or_https_without_a_trailing_slash() {
        assert_eq!(
            origin("https://d111111abcdef8.cloudfront.net/"),
            Ok("https://d111111abcdef8.cloudfront.net".to_string())
        );
        assert_eq!(
            origin("http://127.0.0.1:8080"),
            Ok("http://127.0.0.1:8080".to_string())
        );
        for refused in ["ftp://x", "127.0.0.1:8080", ""] {
            assert!(origin(refused).is_err(), "{refused}");
        }
    }
}
