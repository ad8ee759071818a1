//! The local stack as a user runs it: the `local` binary in front of the project's real
//! service binaries, reached from outside by `curl` and a WebSocket client, checked against
//! PROTOCOL.md and the fake Bedrock's deterministic text.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fake_bedrock::Settings;
use futures_util::{SinkExt, StreamExt};
use local::discover::{self, Service, Transport, Trigger};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The fake Bedrock's pace in these tests: fast, so a test takes seconds.
const TTFT_MS: u64 = 5;
const TOKENS_PER_SECOND: u64 = 400;

fn settings() -> Settings {
    Settings {
        time_to_first_token_ms: TTFT_MS,
        tokens_per_second: TOKENS_PER_SECOND,
        tokens: 48,
    }
}

fn root() -> PathBuf {
    local::project_root().expect("the test runs inside the project")
}

fn services() -> Vec<Service> {
    discover::services(&root()).expect("services")
}

/// The service binaries, built once per test run in this test's own profile.
fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--workspace", "--bins"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the service binaries failed");
        // target/<profile>/deps/stack-<hash> → target/<profile>
        let exe = std::env::current_exe().expect("test binary path");
        exe.parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf()
    })
}

/// The `local` binary, running until dropped.
struct Stack {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Stack {
    fn start(extra: &[&str]) -> Stack {
        Stack::start_in(&root(), bin_dir(), extra, &[])
    }

    /// The stage twin of the stage in `file`, with the caller's credentials that a stage's
    /// functions sign with (`make dev STAGE=` sets no dummy ones; the fake checks none).
    fn start_twin(file: &Path) -> Stack {
        let file = file.to_str().expect("a UTF-8 path");
        Stack::start_in(
            &root(),
            bin_dir(),
            &["--stage-file", file],
            &[
                ("AWS_ACCESS_KEY_ID", "twin"),
                ("AWS_SECRET_ACCESS_KEY", "twin"),
            ],
        )
    }

    /// The stack of the project at `root`, its functions' binaries in `bin_dir`, with `envs`
    /// added to its environment.
    fn start_in(root: &Path, bin_dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Stack {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_local"))
            .current_dir(root)
            .envs(envs.iter().copied())
            .args(["--port", "0", "--bin-dir"])
            .arg(bin_dir)
            .args(["--ttft-ms", &TTFT_MS.to_string()])
            .args(["--tokens-per-second", &TOKENS_PER_SECOND.to_string()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("local starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for (pipe, tx) in [
            (Box::new(stdout) as Box<dyn std::io::Read + Send>, Some(tx)),
            (Box::new(stderr), None),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let (Some(tx), Some(url)) = (&tx, line.strip_prefix("ready: ")) {
                        let _ = tx.send(url.to_string());
                    }
                    log.lock().expect("log").push(line);
                }
            });
        }
        // Owned before waiting, so a stack that never gets ready is still killed on panic.
        let mut stack = Stack {
            child,
            url: String::new(),
            log,
        };
        let Ok(url) = rx.recv_timeout(Duration::from_secs(30)) else {
            panic!("no `ready:` line; output:\n{}", stack.output());
        };
        stack.url = url;
        // `make dev`'s start-up once built (the issue's target is under 10 s); printed, since
        // timing belongs to benchmarks, not assertions.
        println!("local stack ready in {:?}", started.elapsed());
        stack
    }

    fn output(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    fn ws_url(&self, route: &str) -> String {
        format!("{}{route}", self.url.replacen("http", "ws", 1))
    }

    async fn status(&self) -> Value {
        let body = http(&self.url, "GET", "/_local/status", "").await.1;
        serde_json::from_str(&body).expect("status JSON")
    }

    /// Polls the status page until `pred` holds (or fails with the last status).
    async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.status().await;
            if pred(&status) {
                return status;
            }
            assert!(Instant::now() < deadline, "{what}; last status {status}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Process ids of the function instances the stack started.
    fn instance_pids(&self) -> Vec<u32> {
        children(self.child.id())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Direct children of `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
                    let after = stat.rsplit_once(')')?.1;
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// The process's start time (clock ticks after boot), while it runs: a pid together with its
/// start time names one process, even on a busy machine that hands the pid on.
fn started_at(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ... starttime is the 22nd field, the 20th after ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    (fields.first() != Some(&"Z")).then_some(())?;
    fields.get(19)?.parse().ok()
}

/// A plain HTTP/1.0 exchange over a socket: the server closes at the end of the body, so a
/// streamed response needs no chunked decoding. Returns the status and the body.
async fn http(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    // Every answer here is short: a stack that stops sending fails the test, not CI.
    tokio::time::timeout(Duration::from_secs(60), socket.read_to_end(&mut response))
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no end of the response within 60 s"))
        .expect("read");
    let response = String::from_utf8(response).expect("utf-8");
    let (head, body) = response.split_once("\r\n\r\n").expect("head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_string())
}

/// `curl`, as a user would run it.
fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--no-buffer",
            "--max-time",
            "60",
        ])
        .args(args)
        .output()
        .expect("curl is installed");
    String::from_utf8(output.stdout).expect("utf-8")
}

/// SSE events as (id, event, data).
fn sse_events(text: &str) -> Vec<(Option<u64>, String, Value)> {
    text.split("\n\n")
        .filter(|block| block.lines().any(|l| l.starts_with("data:")))
        .map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            (
                field("id:").and_then(|id| id.parse().ok()),
                field("event:").unwrap_or_else(|| "message".into()),
                serde_json::from_str(&field("data:").expect("data")).expect("data is JSON"),
            )
        })
        .collect()
}

/// Checks an SSE answer per PROTOCOL.md; returns the text.
fn check_sse(text: &str, prompt: &str) -> Result<(), String> {
    let events = sse_events(text);
    let (last, chunks) = events.split_last().ok_or("no events")?;
    let mut answer = String::new();
    for (i, (id, event, data)) in chunks.iter().enumerate() {
        if event != "chunk" || *id != Some(i as u64) {
            return Err(format!("chunk {i} out of order: {id:?} {event}"));
        }
        answer.push_str(data["text"].as_str().ok_or("chunk without text")?);
    }
    if last.1 != "complete" {
        return Err(format!("ended with {} {}", last.1, last.2));
    }
    check_answer(&answer, &last.2["usage"], &last.2["metrics"], prompt)
}

fn check_answer(text: &str, usage: &Value, metrics: &Value, prompt: &str) -> Result<(), String> {
    let expected = fake_bedrock::expected_text(prompt, 512, &settings());
    if text != expected {
        return Err(format!("text {text:?} is not the fake's {expected:?}"));
    }
    // Every token of the fake is one word.
    let tokens = expected.split(' ').count();
    if usage["completionTokens"].as_u64() != Some(tokens as u64) {
        return Err(format!("usage {usage} does not count {tokens} tokens"));
    }
    if metrics["firstTokenMs"].as_u64().is_none() || metrics["totalMs"].as_u64().is_none() {
        return Err(format!("metrics missing: {metrics}"));
    }
    Ok(())
}

/// One WebSocket request on an open socket; returns the frames of that request.
async fn ws_generate<S>(socket: &mut S, request_id: &str, prompt: &str) -> Vec<Value>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + futures_util::Sink<Message>
        + Unpin,
    <S as futures_util::Sink<Message>>::Error: std::fmt::Debug,
{
    let message =
        json!({ "action": "generate", "requestId": request_id, "payload": { "prompt": prompt } });
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
    let mut frames = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), socket.next())
        .await
        .expect("a frame within 20 s")
    {
        let Message::Text(text) = message.expect("frame") else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
        let done = frame["type"] != "chunk";
        frames.push(frame);
        if done {
            break;
        }
    }
    frames
}

fn check_ws(frames: &[Value], request_id: &str, prompt: &str) -> Result<(), String> {
    let (last, chunks) = frames.split_last().ok_or("no frames")?;
    let mut answer = String::new();
    for (i, frame) in frames.iter().enumerate() {
        if frame["requestId"] != request_id || frame["seq"] != i {
            return Err(format!("frame {i} is {frame}"));
        }
    }
    for chunk in chunks {
        answer.push_str(
            chunk["payload"]["text"]
                .as_str()
                .ok_or("chunk without text")?,
        );
    }
    if last["type"] != "success" {
        return Err(format!("ended with {last}"));
    }
    if last["payload"]["text"] != answer.as_str() {
        return Err("success text differs from the chunks".into());
    }
    let payload = &last["payload"];
    check_answer(&answer, &payload["usage"], &payload["metrics"], prompt)
}

/// Sends `prompt` through `service` from outside and checks the answer per PROTOCOL.md.
async fn ask(url: &str, service: &Service, prompt: &str, request_id: &str) -> Result<(), String> {
    let body = json!({ "prompt": prompt }).to_string();
    match service.transport {
        Transport::ServerSentEvents => {
            let (_, text) = http(url, "POST", &service.route, &body).await;
            check_sse(&text, prompt)
        }
        Transport::JsonResponse => {
            let (_, text) = http(url, "POST", &service.route, &body).await;
            let answer: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
            let metrics = json!({ "firstTokenMs": answer["meta"]["firstTokenMs"], "totalMs": answer["meta"]["latency"] });
            let data = &answer["data"];
            check_answer(
                data["text"].as_str().unwrap_or_default(),
                &data["usage"],
                &metrics,
                prompt,
            )
        }
        Transport::WebSocketFrames => {
            let ws = format!("{}{}", url.replacen("http", "ws", 1), service.route);
            let (mut socket, _) = tokio_tungstenite::connect_async(ws)
                .await
                .map_err(|e| e.to_string())?;
            let frames = ws_generate(&mut socket, request_id, prompt).await;
            check_ws(&frames, request_id, prompt)
        }
    }
}

/// The function that calls the model for `service`: its worker, if it declares one.
fn generating_function(service: &Service) -> String {
    service
        .worker
        .as_ref()
        .map_or_else(|| service.name.clone(), |w| w.function.clone())
}

/// The Lambda function name a process of the stack runs as (`AWS_LAMBDA_FUNCTION_NAME`).
fn function_of(pid: u32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ
        .split(|&b| b == 0)
        .find_map(|var| var.strip_prefix(b"AWS_LAMBDA_FUNCTION_NAME="))
        .map(|name| String::from_utf8_lossy(name).into_owned())
}

fn present(trigger: Trigger) -> Option<Service> {
    services().into_iter().find(|s| s.trigger == trigger)
}

/// The services a client asks over plain HTTP (a POST answered by a stream or a document).
fn http_services() -> Vec<Service> {
    services()
        .into_iter()
        .filter(|s| s.transport != Transport::WebSocketFrames)
        .collect()
}

/// Whether an API Gateway REST API fronts the service (buffered or streamed).
fn behind_rest_api(service: &Service) -> bool {
    matches!(service.trigger, Trigger::Rest | Trigger::RestStreaming)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_strategy_answers_external_clients_per_the_protocol() {
    let stack = Stack::start(&[]);
    let prompt = "Tell me a story about a lighthouse";
    for service in services() {
        let url = format!("{}{}", stack.url, service.route);
        let body = json!({ "prompt": prompt }).to_string();
        match service.transport {
            Transport::ServerSentEvents => {
                let streamed = curl(&[
                    "-N",
                    "-X",
                    "POST",
                    &url,
                    "-H",
                    "content-type: application/json",
                    "-d",
                    &body,
                ]);
                check_sse(&streamed, prompt)
                    .unwrap_or_else(|e| panic!("POST {url}: {e}\n{streamed}"));
                // The original sample's client: GET with ?prompt= on the trailing-slash path,
                // which a Function URL takes (a REST API has only the methods it declares).
                if service.trigger != Trigger::FunctionUrlStreaming {
                    continue;
                }
                let get = curl(&[
                    "-N",
                    "-G",
                    &format!("{url}/"),
                    "--data-urlencode",
                    &format!("prompt={prompt}"),
                ]);
                check_sse(&get, prompt).unwrap_or_else(|e| panic!("GET {url}/: {e}\n{get}"));
            }
            Transport::JsonResponse => {
                let answer = curl(&[
                    "-X",
                    "POST",
                    &url,
                    "-H",
                    "content-type: application/json",
                    "-d",
                    &body,
                ]);
                let answer: Value = serde_json::from_str(&answer).expect("REST body is JSON");
                let data = &answer["data"];
                let metrics = json!({ "firstTokenMs": answer["meta"]["firstTokenMs"], "totalMs": answer["meta"]["latency"] });
                check_answer(
                    data["text"].as_str().unwrap_or_default(),
                    &data["usage"],
                    &metrics,
                    prompt,
                )
                .unwrap_or_else(|e| panic!("POST {url}: {e}\n{answer}"));
            }
            Transport::WebSocketFrames => {
                let (mut socket, _) =
                    tokio_tungstenite::connect_async(stack.ws_url(&service.route))
                        .await
                        .expect("WebSocket opens");
                // Two requests on one connection, told apart by requestId.
                for request_id in ["first", "second"] {
                    let frames = ws_generate(&mut socket, request_id, prompt).await;
                    check_ws(&frames, request_id, prompt)
                        .unwrap_or_else(|e| panic!("{e}\n{frames:?}"));
                }
            }
        }
    }
    // config.json names exactly the strategies present; a missing one answers 404.
    let config: Value =
        serde_json::from_str(&curl(&[&format!("{}/config.json", stack.url)])).expect("config");
    let listed: HashSet<String> = config["strategies"]
        .as_object()
        .expect("strategies")
        .keys()
        .cloned()
        .collect();
    let expected: HashSet<String> = services().into_iter().map(|s| s.strategy).collect();
    assert_eq!(listed, expected);
    // A path no service declares, as the path of a strategy the project lacks is, answers
    // 404 (PROTOCOL.md), whatever the method.
    for (method, path) in [
        ("POST", "/no-strategy-here"),
        ("GET", "/no-strategy-here/x"),
    ] {
        let (status, body) = http(&stack.url, method, path, "{}").await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_the_protocols_error_through_the_stack() {
    let stack = Stack::start(&[]);
    // An empty prompt and a body that is not JSON: 400 and the protocol's code.
    for service in http_services() {
        for body in ["{\"prompt\":\"\"}", "not json"] {
            let (status, answer) = http(&stack.url, "POST", &service.route, body).await;
            assert_eq!(status, 400, "{}: {answer}", service.name);
            let answer: Value = serde_json::from_str(&answer).expect("JSON");
            assert_eq!(answer["error"]["code"], "BAD_REQUEST");
        }
    }
    // Over Lambda's 6 MB invocation payload: 413 from the gateway, no function runs.
    let big = std::env::temp_dir().join(format!("stack-7mb-{}.json", std::process::id()));
    std::fs::write(&big, vec![b' '; 7 * 1024 * 1024]).expect("writes the body");
    for service in http_services() {
        let url = format!("{}{}", stack.url, service.route);
        let answer = curl(&[
            "--write-out",
            "\n%{http_code}",
            "--header",
            "content-type: application/json",
            "--data-binary",
            &format!("@{}", big.display()),
            &url,
        ]);
        let (body, status) = answer.rsplit_once('\n').expect("a status line");
        assert_eq!(status, "413", "{body}");
        let body: Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
        // A page on a listed origin (the web dev server) may call; another may not.
        let preflight = |origin: &str| {
            curl(&[
                "--include",
                "--request",
                "OPTIONS",
                "--header",
                &format!("origin: {origin}"),
                "--header",
                "access-control-request-method: POST",
                &url,
            ])
            .to_lowercase()
        };
        let allowed = preflight("http://localhost:5173");
        assert!(allowed.starts_with("http/1.1 204"), "{allowed}");
        assert!(
            allowed.contains("access-control-allow-origin: http://localhost:5173"),
            "{allowed}"
        );
        let refused = preflight("https://evil.example.com");
        assert!(refused.starts_with("http/1.1 403"), "{refused}");
        assert!(
            !refused.contains("access-control-allow-origin"),
            "{refused}"
        );
    }
    let _ = std::fs::remove_file(&big);
    if let Some(ws) = present(Trigger::WebSocket) {
        let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_url(&ws.route))
            .await
            .expect("open");
        let message = json!({ "action": "dance", "requestId": "x" }).to_string();
        socket
            .send(Message::Text(message.into()))
            .await
            .expect("send");
        let Some(Ok(Message::Text(frame))) = socket.next().await else {
            panic!("no answer to an unknown action");
        };
        let frame: Value = serde_json::from_str(frame.as_str()).expect("JSON");
        assert_eq!(frame["type"], "error");
        assert_eq!(frame["payload"]["code"], "BAD_REQUEST");
        // A requestId that fills a frame: refused, and the instance lives (no replacement).
        let long_id = json!({ "action": "generate", "requestId": "r".repeat(32_600), "payload": { "prompt": "x" } });
        socket
            .send(Message::Text(long_id.to_string().into()))
            .await
            .expect("send");
        let Some(Ok(Message::Text(frame))) = socket.next().await else {
            panic!("no answer to a 32,600-byte requestId");
        };
        let frame: Value = serde_json::from_str(frame.as_str()).expect("JSON");
        assert_eq!(frame["payload"]["code"], "BAD_REQUEST", "{frame}");
        // API Gateway's frame limit: a 40 KB frame closes the socket (1009, message too big).
        let big = "x".repeat(40 * 1024);
        let _ = socket.send(Message::Text(big.into())).await;
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match socket.next().await {
                    None | Some(Err(_)) => return None,
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .expect("the socket closes");
        assert_eq!(closed, Some(1009));
    }
    let status = stack.status().await;
    assert_eq!(
        status["bedrock"]["calls"], 0,
        "bad requests never reach the model: {status}"
    );
    for service in services() {
        assert_eq!(
            status["functions"][&service.name]["replaced"], 0,
            "no bad request crashes {}: {status}",
            service.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_that_dies_mid_stream_gives_internal_error_and_is_replaced() {
    let stack = Stack::start(&[]);
    let slow = "a slow answer [tokens=400] [tps=20]";
    for service in services() {
        let name = generating_function(&service);
        let before = stack.status().await["functions"][&name]["replaced"]
            .as_u64()
            .expect("count");
        let pids_before: HashSet<u32> = stack.instance_pids().into_iter().collect();
        let calls_before = stack.status().await["bedrock"]["calls"]
            .as_u64()
            .expect("calls");
        // Kill the instance of the function that calls the model once it is busy and the
        // model is streaming to it (told by the status page, not by a sleep, so a loaded
        // machine cannot reorder it).
        let kill = async {
            stack
                .wait_for(&format!("{name} busy with a model call"), |s| {
                    s["functions"][&name]["busy"].as_u64() >= Some(1)
                        && s["bedrock"]["calls"].as_u64() > Some(calls_before)
                })
                .await;
            for pid in stack.instance_pids() {
                if function_of(pid).as_deref() == Some(name.as_str()) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        };
        let body = json!({ "prompt": slow }).to_string();
        let started = Instant::now();
        let ask_doomed = async {
            match service.transport {
                Transport::ServerSentEvents => {
                    let (status, text) = http(&stack.url, "POST", &service.route, &body).await;
                    // The model call can start before the function's response prelude has
                    // reached the gateway: a kill in that window fails the request before the
                    // stream started, which PROTOCOL.md answers with the error's status and body.
                    let error = if status == 200 {
                        let events = sse_events(&text);
                        let last = events.last().cloned().unwrap_or_else(|| {
                            panic!("a started stream ends with an error event: {text:?}")
                        });
                        assert_eq!(last.1, "error", "{text}");
                        last.2
                    } else {
                        assert_eq!(status, 500, "{text}");
                        serde_json::from_str(&text).expect("JSON")
                    };
                    assert_eq!(error["error"]["code"], "INTERNAL_ERROR", "{text}");
                }
                Transport::JsonResponse => {
                    let (status, text) = http(&stack.url, "POST", &service.route, &body).await;
                    assert_eq!(status, 500, "{text}");
                    let answer: Value = serde_json::from_str(&text).expect("JSON");
                    assert_eq!(answer["error"]["code"], "INTERNAL_ERROR");
                }
                Transport::WebSocketFrames => {
                    let (mut socket, _) =
                        tokio_tungstenite::connect_async(stack.ws_url(&service.route))
                            .await
                            .expect("open");
                    let mut frames = ws_generate(&mut socket, "doomed", slow).await;
                    let last = frames.last().expect("frames").clone();
                    assert_eq!(last["type"], "error", "{frames:?}");
                    assert_eq!(last["requestId"], "doomed");
                    assert_eq!(last["payload"]["code"], "INTERNAL_ERROR");
                    // The failure's record reached the service's function, which sent the
                    // error; the generation was not run again, which would post its frames
                    // again from seq 0 (the local Lambda retries after a second).
                    while let Ok(Some(Ok(Message::Text(text)))) =
                        tokio::time::timeout(Duration::from_secs(3), socket.next()).await
                    {
                        frames.push(serde_json::from_str(text.as_str()).expect("JSON frame"));
                    }
                    let seqs: Vec<&Value> = frames.iter().filter_map(|f| f.get("seq")).collect();
                    let unique: HashSet<String> = seqs.iter().map(|s| s.to_string()).collect();
                    assert_eq!(unique.len(), seqs.len(), "a frame posted twice: {frames:?}");
                    assert_eq!(
                        frames.last(),
                        Some(&last),
                        "frames after the end: {frames:?}"
                    );
                }
            }
        };
        tokio::join!(kill, ask_doomed);
        // Not a hang: the error comes when the process is gone, well before the 20 s the whole
        // answer (400 tokens at 20 a second) would take.
        assert!(started.elapsed() < Duration::from_secs(15));
        stack
            .wait_for("the killed instance is replaced", |s| {
                s["functions"][&name]["replaced"].as_u64() > Some(before)
            })
            .await;
        // The function still answers, from a new process.
        ask(&stack.url, &service, "again [tokens=3]", "again")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let pids_after: HashSet<u32> = stack.instance_pids().into_iter().collect();
        assert!(
            !pids_after.is_subset(&pids_before),
            "a new process runs the function\n{}",
            stack.output()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_leaves_mid_stream_frees_its_instance_and_stops_the_model() {
    let stack = Stack::start(&[]);
    let slow = json!({ "prompt": "long [tokens=400] [tps=40]" });
    let mut hangups = 0;
    for service in services() {
        match service.transport {
            Transport::ServerSentEvents => {
                // curl gives up after a second, in the middle of the stream.
                let url = format!("{}{}", stack.url, service.route);
                curl(&[
                    "-N",
                    "--max-time",
                    "1",
                    "-X",
                    "POST",
                    &url,
                    "-d",
                    &slow.to_string(),
                ]);
            }
            Transport::WebSocketFrames => {
                let (mut socket, _) =
                    tokio_tungstenite::connect_async(stack.ws_url(&service.route))
                        .await
                        .expect("open");
                let message = json!({ "action": "generate", "requestId": "r", "payload": slow });
                socket
                    .send(Message::Text(message.to_string().into()))
                    .await
                    .expect("send");
                let first = socket.next().await;
                assert!(matches!(first, Some(Ok(Message::Text(_)))), "{first:?}");
                drop(socket);
            }
            // A whole answer has no stream to leave.
            Transport::JsonResponse => continue,
        }
        hangups += 1;
        let name = generating_function(&service);
        stack
            .wait_for(&format!("{name} idle again and the model hung up"), |s| {
                s["functions"][&name]["busy"] == 0
                    && s["functions"][&name]["idle"].as_u64() >= Some(1)
                    && s["bedrock"]["hangups"].as_u64() >= Some(hangups)
            })
            .await;
        let status = stack.status().await;
        assert_eq!(
            status["functions"][&name]["replaced"], 0,
            "the instance survives a client leaving: {status}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_every_process_the_stack_started() {
    let mut stack = Stack::start(&[]);
    let pids: Vec<(u32, Option<u64>)> = stack
        .instance_pids()
        .into_iter()
        .map(|pid| (pid, started_at(pid)))
        .collect();
    let functions: usize = services()
        .iter()
        .map(|s| 1 + usize::from(s.worker.is_some()))
        .sum();
    assert_eq!(pids.len(), functions, "one warm instance per function");
    let _ = Command::new("kill")
        .args(["-TERM", &stack.child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while stack.child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "local did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<u32> = pids
        .into_iter()
        .filter(|&(pid, started)| started_at(pid) == started)
        .map(|(pid, _)| pid)
        .collect();
    assert!(left.is_empty(), "processes left running: {left:?}");
}

/// 200 concurrent streams, mixed over the strategies present, each checked chunk by chunk.
#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_streams_arrive_whole_and_in_order() {
    const STREAMS: usize = 200;
    let stack = Stack::start(&["--max-instances", "64"]);
    let services = services();
    let started = Instant::now();
    let tasks = (0..STREAMS).map(|i| {
        let service = services[i % services.len()].clone();
        let url = stack.url.clone();
        tokio::spawn(async move {
            let prompt = format!("stream {i} [tokens=30]");
            ask(&url, &service, &prompt, &format!("r{i}")).await
        })
    });
    let results = futures_util::future::join_all(tasks).await;
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.map_err(|e| e.to_string()).and_then(|r| r).err())
        .collect();
    let rss = std::fs::read_to_string(format!("/proc/{}/status", stack.child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!(
        "{STREAMS} streams in {:?}; local stack peak RSS {rss}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {STREAMS} streams failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let status = stack.status().await;
    assert_eq!(status["bedrock"]["completed"], STREAMS, "{status}");
}

/// A handler error (here: an event the function cannot read) is reported through the Runtime
/// API's error endpoint; the invocation fails and the instance is replaced, as in Lambda.
/// A panic takes the same road in debug builds (lambda_runtime catches it) and ends the process
/// in release builds (`panic = "abort"`), which the test above covers by killing a process.
#[tokio::test(flavor = "multi_thread")]
async fn a_handler_error_fails_the_invocation_and_replaces_the_instance() {
    use local::runtime::{Function, FunctionSpec};
    let service = &services()[0];
    let function = Function::new(FunctionSpec {
        name: service.name.clone(),
        binary: bin_dir().join(&service.name),
        env: vec![
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "local".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "local".into()),
            ("RUST_LOG".into(), "off".into()),
        ],
        max_instances: 1,
        timeout: Duration::from_secs(10),
        cold_start: Duration::ZERO,
    });
    function.warm().await.expect("starts");
    let error = match function.invoke(b"[\"not an event\"]".to_vec()).await {
        Ok(invocation) => invocation
            .collect()
            .await
            .expect_err("the handler cannot read it"),
        Err(error) => error,
    };
    assert!(
        !error.kind.is_empty() && !error.message.is_empty(),
        "{error:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while function.counts().replaced == 0 {
        assert!(
            Instant::now() < deadline,
            "not replaced: {:?}",
            function.counts()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    function.warm().await.expect("a new instance starts");
    assert_eq!(function.counts().started, 2);
    function.shutdown().await;
}

/// API Gateway stops waiting for a WebSocket route's function after 29 s and tells the client
/// so. Here the route's invocation is made to take 30 s (a simulated invoke latency), as a
/// route that generated its answer itself would.
#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_route_that_outlives_29_seconds_is_cut_as_api_gateway_cuts_it() {
    let Some(service) = present(Trigger::WebSocket) else {
        return;
    };
    let stack = Stack::start(&["--invoke-latency-ms", "30000"]);
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_url(&service.route))
        .await
        .expect("open");
    let message = json!({ "action": "generate", "requestId": "r", "payload": { "prompt": "x" } });
    let sent = Instant::now();
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
    let frame = tokio::time::timeout(Duration::from_secs(40), socket.next())
        .await
        .expect("a frame within 40 s");
    let waited = sent.elapsed();
    let Some(Ok(Message::Text(text))) = frame else {
        panic!("{frame:?}");
    };
    let frame: Value = serde_json::from_str(text.as_str()).expect("JSON");
    assert_eq!(frame["message"], "Endpoint request timed out", "{frame}");
    assert!(frame["connectionId"].is_string(), "{frame}");
    assert!(
        (Duration::from_secs(29)..Duration::from_secs(30)).contains(&waited),
        "cut after {waited:?}"
    );
}

/// A 45-second answer over WebSocket arrives whole: the route hands it to the worker at once,
/// and the worker posts its frames for as long as it runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_45_second_websocket_answer_completes_past_the_29_second_route_limit() {
    let Some(service) = present(Trigger::WebSocket) else {
        return;
    };
    let stack = Stack::start(&[]);
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_url(&service.route))
        .await
        .expect("open");
    // 90 tokens at 2 a second.
    let prompt = "a long answer [tokens=90] [tps=2]";
    let started = Instant::now();
    let frames = ws_generate(&mut socket, "long", prompt).await;
    let took = started.elapsed();
    check_ws(&frames, "long", prompt).unwrap_or_else(|e| panic!("{e}: {frames:?}"));
    assert!(took >= Duration::from_secs(44), "the answer took {took:?}");
    assert_eq!(
        frames.last().expect("frames")["payload"]["usage"]["completionTokens"],
        90
    );
}

/// A 45-second event stream arrives whole through the CDN's 30 s origin response timeout,
/// which the local gateway applies between two packets as CloudFront does: the model takes
/// 35 s to its first token, then 10 s more, and keep-alives fill every silence. All the
/// project's event-stream services are asked at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_45_second_event_stream_with_a_35_second_silence_arrives_whole_with_keep_alives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let streams: Vec<Service> = services()
        .into_iter()
        .filter(|s| s.transport == Transport::ServerSentEvents)
        .collect();
    if streams.is_empty() {
        return;
    }
    let stack = Stack::start(&[]);
    let prompt = "a slow start [ttft=35000] [tokens=20] [tps=2]";
    let asks = streams.iter().map(|service| {
        let addr = stack.url.trim_start_matches("http://").to_string();
        async move {
            let body = json!({ "prompt": prompt }).to_string();
            let request = format!(
                "POST {} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                service.route,
                body.len()
            );
            let mut socket = tokio::net::TcpStream::connect(&addr).await.expect("connect");
            socket.write_all(request.as_bytes()).await.expect("send");
            let started = Instant::now();
            let (mut last, mut longest) = (started, Duration::ZERO);
            let mut response = Vec::new();
            let mut buffer = [0_u8; 4096];
            loop {
                let read = tokio::time::timeout(Duration::from_secs(40), socket.read(&mut buffer))
                    .await
                    .unwrap_or_else(|_| panic!("{}: nothing for 40 s", service.name))
                    .expect("read");
                if read == 0 {
                    break;
                }
                longest = longest.max(last.elapsed());
                last = Instant::now();
                response.extend_from_slice(&buffer[..read]);
            }
            let response = String::from_utf8(response).expect("utf-8");
            (service, started.elapsed(), longest, response)
        }
    });
    for (service, took, longest, response) in futures_util::future::join_all(asks).await {
        let (_, body) = response.split_once("\r\n\r\n").expect("head");
        check_sse(body, prompt).unwrap_or_else(|e| panic!("{}: {e}\n{body}", service.name));
        assert!(
            took >= Duration::from_secs(44),
            "{}: took {took:?}",
            service.name
        );
        assert!(
            body.contains(": ping") && longest < Duration::from_secs(15),
            "{}: keep-alives every {longest:?} at most, expected the 10 s keep-alive:\n{body}",
            service.name
        );
    }
}

/// The metrics of one answer through `service`: WebSocket's success frame and SSE's complete
/// event carry `metrics`, REST's body `meta`.
async fn answer_metrics(stack: &Stack, service: &Service, prompt: &str) -> Value {
    let body = json!({ "prompt": prompt }).to_string();
    match service.transport {
        Transport::ServerSentEvents => {
            let (_, text) = http(&stack.url, "POST", &service.route, &body).await;
            let events = sse_events(&text);
            let (_, name, data) = events.last().expect("events");
            assert_eq!(name, "complete", "{text}");
            data["metrics"].clone()
        }
        Transport::JsonResponse => {
            let (_, text) = http(&stack.url, "POST", &service.route, &body).await;
            let answer: Value = serde_json::from_str(&text).expect("JSON");
            answer["meta"].clone()
        }
        Transport::WebSocketFrames => {
            let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_url(&service.route))
                .await
                .expect("open");
            let frames = ws_generate(&mut socket, "m", prompt).await;
            let last = frames.last().expect("frames");
            assert_eq!(last["type"], "success", "{frames:?}");
            last["payload"]["metrics"].clone()
        }
    }
}

/// Each strategy marks the first answer of a new function instance cold and the next one,
/// from the same instance, warm (PROTOCOL.md, Metrics).
#[tokio::test(flavor = "multi_thread")]
async fn the_first_answer_of_each_new_instance_is_cold_and_the_next_warm() {
    let stack = Stack::start(&[]);
    for service in services() {
        let name = generating_function(&service);
        let mut cold = Vec::new();
        for _ in 0..2 {
            let metrics = answer_metrics(&stack, &service, "x [tokens=3]").await;
            cold.push(metrics["coldStart"].clone());
            // The next request finds this instance idle rather than starting another.
            stack
                .wait_for(&format!("{name} idle"), |s| {
                    s["functions"][&name]["busy"] == 0
                })
                .await;
        }
        assert_eq!(cold, [true, false], "{}", service.name);
        let status = stack.status().await;
        assert_eq!(status["functions"][&name]["started"], 1, "{status}");
    }
}

/// The route, not the trigger, chooses the function: two services on one trigger (as the
/// REST strategy and a REST streaming one would be) each answer on their own path. Two
/// copies of one of the project's HTTP services, under other names and routes, make a
/// project that has them. A project with only the WebSocket strategy has no HTTP service to
/// copy; the others run this.
#[tokio::test(flavor = "multi_thread")]
async fn two_services_on_one_trigger_each_answer_on_their_own_route() {
    let Some(model) = services()
        .into_iter()
        .find(|s| s.trigger != Trigger::WebSocket)
    else {
        return;
    };
    let scratch = Scratch::new("local-twins");
    let dir = scratch.0.clone();
    let bins = dir.join("bin");
    std::fs::create_dir_all(&bins).expect("mkdir");
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").expect("write");
    let manifest =
        std::fs::read_to_string(root().join("services").join(&model.name).join("Cargo.toml"))
            .expect("the service's manifest");
    let route = |twin: &str| format!("{}-{twin}", model.route.trim_end_matches('/'));
    for twin in ["first", "second"] {
        let name = format!("twin-{twin}");
        let service = dir.join("services").join(&name);
        std::fs::create_dir_all(&service).expect("mkdir");
        let text = manifest
            .replacen(
                &format!("name = \"{}\"", model.name),
                &format!("name = \"{name}\""),
                1,
            )
            .replacen(
                &format!("route = \"{}\"", model.route),
                &format!("route = \"{}\"", route(twin)),
                1,
            );
        std::fs::write(service.join("Cargo.toml"), text).expect("write");
        std::os::unix::fs::symlink(bin_dir().join(&model.name), bins.join(&name)).expect("link");
    }
    let twins = discover::services(&dir).expect("the twins' manifests");
    assert_eq!(twins.len(), 2);
    assert!(
        twins.iter().all(|t| t.trigger == model.trigger),
        "{twins:?}"
    );

    let stack = Stack::start_in(&dir, &bins, &[], &[]);
    for twin in &twins {
        let metrics = answer_metrics(&stack, twin, "x [tokens=3]").await;
        assert_eq!(metrics["coldStart"], true, "{}: {metrics}", twin.name);
        stack
            .wait_for(&format!("{} idle", twin.name), |s| {
                s["functions"][&twin.name]["busy"] == 0
            })
            .await;
    }
    let status = stack.status().await;
    for twin in &twins {
        assert_eq!(status["functions"][&twin.name]["started"], 1, "{status}");
    }
}

/// A scratch folder, removed when the test ends, passed or failed. Declared before the stack
/// that runs from it, so it is dropped after the stack's processes are gone.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The local Lambda Invoke API runs the workers for the stack's own functions only: a browser
/// (which always sends Origin across origins) is refused before anything runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_web_page_cannot_invoke_a_worker() {
    let Some(worker) = services().into_iter().find_map(|s| s.worker) else {
        return;
    };
    let stack = Stack::start(&[]);
    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        stack.url, worker.function
    );
    let status = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "POST",
        "-H",
        "Origin: https://evil.example",
        "-d",
        "{}",
        &url,
    ]);
    assert_eq!(status, "403");
    let calls = stack.status().await["bedrock"]["calls"].clone();
    assert_eq!(calls, 0, "nothing reached the model");
}

/// Lambda may deliver an asynchronous event twice with no error
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>); `--deliver-events-twice`
/// does so for every one. A worker with a ledger still gives one answer from one model call,
/// and its second copy posts nothing after the first's last frame.
#[tokio::test(flavor = "multi_thread")]
async fn an_event_delivered_twice_gives_one_answer_and_one_model_call() {
    let Some(service) = present(Trigger::WebSocket)
        .filter(|s| s.worker.as_ref().is_some_and(|w| w.ledger_env.is_some()))
    else {
        return;
    };
    let worker = service.worker.clone().expect("a worker");
    let stack = Stack::start(&["--deliver-events-twice"]);
    let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_url(&service.route))
        .await
        .expect("connect");
    let prompt = "Tell me a story about a lighthouse";
    let frames = ws_generate(&mut socket, "twice", prompt).await;
    check_ws(&frames, "twice", prompt).unwrap_or_else(|e| panic!("{e}: {frames:?}"));
    // Both copies ran: one wrote the ledger's record, the other found it, and neither is busy.
    let status = stack
        .wait_for("both copies ran and ended", |s| {
            s["dynamodb"]["puts"] == 1
                && s["dynamodb"]["refused"] == 1
                && s["functions"][&worker.function]["busy"] == 0
        })
        .await;
    assert_eq!(status["bedrock"]["calls"], 1, "one model call: {status}");
    // Nothing after the first copy's last frame (the socket stays open, so silence is the
    // answer; the copy has ended, so a frame would have come by now).
    let late = tokio::time::timeout(Duration::from_millis(500), socket.next()).await;
    assert!(late.is_err(), "a frame after the answer: {late:?}");
}

/// A variable of a process of the stack, from its environment.
fn env_of(pid: u32, key: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{key}=");
    environ
        .split(|&b| b == 0)
        .find_map(|var| var.strip_prefix(prefix.as_bytes()))
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

/// A stage file as `infra/twin.py` writes it, for every function of this project: named
/// `twin-dev-<declared>`, in eu-west-1, with a variable of its own, two reserved instances, and
/// each service's worker variable set to `worker_name(worker's deployed name)`; every service
/// guarded by an origin secret that the CDN's one behaviour adds.
fn stage_file(name: &str, worker_name: impl Fn(&str) -> String) -> PathBuf {
    let mut functions = serde_json::Map::new();
    let mut rest_methods = serde_json::Map::new();
    for service in services() {
        if behind_rest_api(&service) {
            rest_methods.insert(
                service.name.clone(),
                json!([format!("POST {}", service.origin_path)]),
            );
        }
        let deployed = |declared: &str| format!("twin-dev-{declared}");
        let mut env = json!({ "DEPLOYED_MARK": deployed(&service.name), genai::ORIGIN_SECRET_ENV: "twin-secret" });
        if let Some(worker) = &service.worker {
            env[&worker.env] = json!(worker_name(&deployed(&worker.function)));
            let mut worker_env = json!({ "DEPLOYED_MARK": deployed(&worker.function) });
            if let Some(ledger) = &worker.ledger_env {
                worker_env[ledger] = json!(format!("{}-ledger", deployed(&worker.function)));
            }
            functions.insert(
                worker.function.clone(),
                json!({ "name": deployed(&worker.function), "env": worker_env,
                        "timeout_seconds": worker.timeout.as_secs(), "memory_mb": worker.memory_mb,
                        "reserved_concurrency": 2 }),
            );
        }
        functions.insert(
            service.name.clone(),
            json!({ "name": deployed(&service.name), "env": env,
                    "timeout_seconds": service.timeout.as_secs(), "memory_mb": service.memory_mb,
                    "reserved_concurrency": 2 }),
        );
    }
    let path = std::env::temp_dir().join(format!("{name}-{}.json", std::process::id()));
    let behaviours = json!([{
        "path_pattern": "*",
        "origin_headers": { genai::ORIGIN_SECRET_HEADER: "twin-secret" },
    }]);
    let stage = json!({ "stage": "dev", "region": "eu-west-1", "functions": functions,
                        "behaviours": behaviours, "rest_methods": rest_methods });
    std::fs::write(&path, stage.to_string()).expect("stage file written");
    path
}

/// `make dev STAGE=<stage>`: each function runs under its deployed name, with its deployed
/// environment and the stage's region, requests carry the CDN's origin headers, and every
/// strategy still answers per the protocol (those guarded by the origin secret too).
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_twin_runs_each_function_as_deployed() {
    let file = stage_file("twin", str::to_string);
    let stack = Stack::start_twin(&file);
    for (i, service) in services().iter().enumerate() {
        ask(&stack.url, service, &format!("twin {i}"), &format!("t{i}"))
            .await
            .unwrap_or_else(|e| panic!("{} as deployed: {e}\n{}", service.name, stack.output()));
    }
    let mut seen = HashSet::new();
    for pid in stack.instance_pids() {
        let name = function_of(pid).expect("a function's process");
        assert!(
            name.starts_with("twin-dev-"),
            "{name} runs under its declared name"
        );
        assert_eq!(env_of(pid, "DEPLOYED_MARK").as_deref(), Some(name.as_str()));
        assert_eq!(env_of(pid, "AWS_REGION").as_deref(), Some("eu-west-1"));
        seen.insert(name);
    }
    let expected: HashSet<String> = services()
        .iter()
        .flat_map(|s| {
            std::iter::once(s.name.clone()).chain(s.worker.iter().map(|w| w.function.clone()))
        })
        .map(|declared| format!("twin-dev-{declared}"))
        .collect();
    assert_eq!(
        seen, expected,
        "one warm instance of each deployed function"
    );
    let _ = std::fs::remove_file(file);
}

/// A stage whose service names a worker that is not deployed under that name fails the answer
/// as Lambda's Invoke would ("Function not found"), with the protocol's error.
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_twin_whose_worker_name_disagrees_fails_the_answer() {
    let Some(service) = services().into_iter().find(|s| s.worker.is_some()) else {
        return;
    };
    let file = stage_file("twin-misnamed", |name| format!("{name}-renamed"));
    let stack = Stack::start_twin(&file);
    let answer = ask(&stack.url, &service, "misnamed", "m1").await;
    assert!(
        answer.is_err(),
        "{} answered with a worker name nothing is deployed under",
        service.name
    );
    assert_eq!(stack.status().await["bedrock"]["calls"], 0, "no model call");
    let _ = std::fs::remove_file(file);
}

/// A worker's failures reach its client only through the on-failure destination the stage
/// deployed: with the service's function as its destination, a generation that dies ends in
/// the protocol's INTERNAL_ERROR; deployed without one, Lambda discards the record, and the
/// client hears nothing more, which the twin shows as AWS would.
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_twin_sends_a_workers_failures_where_the_stage_deployed_them() {
    let Some(service) = services().into_iter().find(|s| s.worker.is_some()) else {
        return;
    };
    let worker = generating_function(&service);
    let deployed = format!("twin-dev-{worker}");
    for (destination, told) in [
        (json!(format!("twin-dev-{}", service.name)), true),
        (Value::Null, false),
    ] {
        let file = stage_file("twin-destination", str::to_string);
        let mut stage: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
        stage["functions"][&worker]["asynchronous"] =
            json!({ "retries": 0, "max_event_age_seconds": 60, "on_failure": destination });
        std::fs::write(&file, stage.to_string()).expect("write");
        let stack = Stack::start_twin(&file);
        let (mut socket, _) = tokio_tungstenite::connect_async(stack.ws_url(&service.route))
            .await
            .expect("open");
        let message = json!({ "action": "generate", "requestId": "lost",
                              "payload": { "prompt": "a slow answer [tokens=400] [tps=20]" } });
        socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
        stack
            .wait_for(&format!("{deployed} busy with a model call"), |s| {
                s["functions"][&deployed]["busy"].as_u64() >= Some(1)
                    && s["bedrock"]["calls"].as_u64() >= Some(1)
            })
            .await;
        for pid in stack.instance_pids() {
            if function_of(pid).as_deref() == Some(deployed.as_str()) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        // Chunks may come before the kill; after it, the destination's error or nothing (the
        // local Lambda gives up on an invocation at once, with no retries deployed).
        let mut frames = Vec::new();
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_secs(5), socket.next()).await
        {
            if let Message::Text(text) = message {
                frames.push(serde_json::from_str::<Value>(text.as_str()).expect("JSON frame"));
            }
        }
        let errors: Vec<&Value> = frames.iter().filter(|f| f["type"] == "error").collect();
        if told {
            assert_eq!(errors.len(), 1, "{frames:?}");
            assert_eq!(errors[0]["payload"]["code"], "INTERNAL_ERROR", "{frames:?}");
        } else {
            assert!(
                errors.is_empty(),
                "an error without a destination: {frames:?}"
            );
        }
        let _ = std::fs::remove_file(file);
    }
}

/// A REST API deployed without the method the CDN's router asks it for answers as API Gateway
/// does (403, Missing Authentication Token), and the function is not called.
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_twin_whose_rest_path_moved_answers_as_api_gateway_does() {
    let Some(service) = services().into_iter().find(behind_rest_api) else {
        return;
    };
    let file = stage_file("twin-moved", str::to_string);
    let mut stage: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    stage["rest_methods"][&service.name] = json!(["POST /moved"]);
    std::fs::write(&file, stage.to_string()).expect("write");
    let stack = Stack::start_twin(&file);
    let (status, body) = http(&stack.url, "POST", &service.route, r#"{"prompt":"x"}"#).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Missing Authentication Token"), "{body}");
    assert_eq!(stack.status().await["bedrock"]["calls"], 0, "no model call");
    let _ = std::fs::remove_file(file);
}

/// A call the deployed role refuses is refused in the twin as AWS would: the model call of each
/// strategy's generating function fails the answer, reaches no model, and is counted.
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_twin_refuses_what_the_deployed_role_refuses() {
    let file = stage_file("twin-refused", str::to_string);
    let mut stage: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    for service in services() {
        stage["functions"][generating_function(&service)]["refused"] = json!([{
            "action": "bedrock:InvokeModelWithResponseStream",
            "resource": "arn:aws:bedrock:eu-west-1::foundation-model/other",
            "message": "User: arn:aws:sts::123456789012:assumed-role/r/f is not authorized to perform: bedrock:InvokeModelWithResponseStream",
        }]);
    }
    std::fs::write(&file, stage.to_string()).expect("write");
    let stack = Stack::start_twin(&file);
    for (i, service) in services().iter().enumerate() {
        let answer = ask(&stack.url, service, "refused", &format!("r{i}")).await;
        assert!(
            answer.is_err(),
            "{} answered with the model refused",
            service.name
        );
    }
    let status = stack.status().await;
    assert_eq!(status["bedrock"]["calls"], 0, "{status}");
    for service in services() {
        let name = format!("twin-dev-{}", generating_function(&service));
        assert!(
            status["refused"][&name].as_u64() >= Some(1),
            "{name}: {status}"
        );
    }
    let _ = std::fs::remove_file(file);
}

/// A stage file without a function the code runs as: `local` fails and says what to deploy.
#[test]
fn a_stage_without_a_declared_function_says_what_to_deploy() {
    let Some(service) = services().into_iter().next() else {
        return;
    };
    let file = stage_file("twin-partial", str::to_string);
    let mut stage: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    stage["functions"]
        .as_object_mut()
        .expect("functions")
        .remove(&service.name);
    std::fs::write(&file, stage.to_string()).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_local"))
        .current_dir(root())
        .args(["--port", "0", "--bin-dir"])
        .arg(bin_dir())
        .arg("--stage-file")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("local starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "local still runs 30 s after it was given a stage without {}",
                service.name
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("make deploy-{}", service.name)),
        "{stderr}"
    );
    let _ = std::fs::remove_file(file);
}
