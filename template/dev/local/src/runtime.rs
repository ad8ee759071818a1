//! Lambda Runtime API emulator: runs a function's real binary as processes ("instances"),
//! each pointed at its own Runtime API endpoint (`AWS_LAMBDA_RUNTIME_API`), and hands them
//! invocations the way Lambda does.
//!
//! - An instance takes one invocation at a time; it is idle while it waits in
//!   `GET /2018-06-01/runtime/invocation/next`. Concurrent invocations start more instances,
//!   up to a cap, then wait for one to be free.
//! - Responses are buffered (`POST .../response` with a JSON body) or streamed
//!   (`Lambda-Runtime-Function-Response-Mode: streaming`, a chunked body that the caller
//!   reads as it arrives, as Function URLs do).
//! - An error report (`POST .../error`), an error in a stream, a process that exits and an
//!   invocation past its timeout all end the invocation with a [`FunctionError`], and the
//!   instance is replaced, as Lambda replaces an execution environment after a failure.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use bytes::Bytes;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_stream::StreamExt;

/// How to run one function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Function name (the service's package name).
    pub name: String,
    /// The bootstrap binary.
    pub binary: PathBuf,
    /// Environment of every instance, besides the Lambda variables the emulator sets.
    pub env: Vec<(String, String)>,
    /// Instances that may run at once.
    pub max_instances: usize,
    /// Longest an invocation may run before its instance is stopped.
    pub timeout: Duration,
    /// Simulated extra start-up time of a new instance.
    pub cold_start: Duration,
}

/// Why an invocation failed, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// Lambda's error type, e.g. `Runtime.ExitError` or the handler's own.
    pub kind: String,
    /// What happened, for the log and the client's `INTERNAL_ERROR` message.
    pub message: String,
}

impl FunctionError {
    fn new(kind: &str, message: impl Into<String>) -> Self {
        FunctionError {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

/// A response on its way: one chunk for a buffered response, many for a streamed one.
/// Dropping it tells the function its client left, as a closed Function URL connection does.
pub struct Invocation {
    /// Whether the function streams (the body then starts with the HTTP integration prelude).
    pub streaming: bool,
    /// The body, chunk by chunk; an `Err` ends it.
    pub body: mpsc::Receiver<Result<Bytes, FunctionError>>,
}

impl Invocation {
    /// Reads the whole body.
    pub async fn collect(mut self) -> Result<Vec<u8>, FunctionError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.body.recv().await {
            body.extend_from_slice(&chunk?);
        }
        Ok(body)
    }
}

/// Counts of a function's instances, for the status page and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceCounts {
    /// Waiting for an invocation.
    pub idle: usize,
    /// Running (starting up or handling an invocation).
    pub busy: usize,
    /// Started since the stack came up.
    pub started: u64,
    /// Replaced after an error, a crash or a timeout.
    pub replaced: u64,
}

type Reply = oneshot::Sender<Result<Invocation, FunctionError>>;

struct Job {
    request_id: String,
    event: Vec<u8>,
    reply: Reply,
}

/// The invocation an instance is working on.
struct Current {
    request_id: String,
    /// Taken when the response starts.
    reply: Option<Reply>,
    /// The streamed body's sender, kept to report a crash mid-stream.
    body: Option<mpsc::Sender<Result<Bytes, FunctionError>>>,
}

struct Instance {
    id: u64,
    function: Weak<Function>,
    jobs: mpsc::Sender<Job>,
    next: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    current: Mutex<Option<Current>>,
    /// Set by the first poll for work: the instance has finished starting.
    ready: std::sync::atomic::AtomicBool,
    stop: Notify,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Arc<Instance>>,
    live: HashMap<u64, Arc<Instance>>,
    /// Spawned, not yet polling for work.
    starting: usize,
    /// Callers waiting for an idle instance.
    waiting: usize,
    started: u64,
    replaced: u64,
    closed: bool,
}

/// One function: its spec and its instances.
pub struct Function {
    spec: FunctionSpec,
    pool: Mutex<Pool>,
    changed: Notify,
    ids: AtomicU64,
    children: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Function {
    /// A function with no instance yet; the first invocation starts one.
    pub fn new(spec: FunctionSpec) -> Arc<Function> {
        Arc::new(Function {
            spec,
            pool: Mutex::new(Pool::default()),
            changed: Notify::new(),
            ids: AtomicU64::new(0),
            children: Mutex::new(Vec::new()),
        })
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Instance counts now.
    pub fn counts(&self) -> InstanceCounts {
        let pool = lock(&self.pool);
        InstanceCounts {
            idle: pool.idle.len(),
            busy: pool.live.len() - pool.idle.len(),
            started: pool.started,
            replaced: pool.replaced,
        }
    }

    /// Starts an instance ahead of the first request, so the first answer has no cold start.
    pub async fn warm(self: &Arc<Self>) -> Result<(), FunctionError> {
        let instance = self.acquire().await?;
        self.release(instance);
        Ok(())
    }

    /// Invokes the function with `event` (the JSON a trigger sends) and returns once the
    /// response starts.
    pub async fn invoke(self: &Arc<Self>, event: Vec<u8>) -> Result<Invocation, FunctionError> {
        let instance = self.acquire().await?;
        self.run(instance, event).await
    }

    /// As [`Function::invoke`], for an event that may wait at most `wait` for a free instance
    /// (an asynchronous invocation's maximum event age); `None` when none was free in time.
    pub async fn invoke_within(
        self: &Arc<Self>,
        event: Vec<u8>,
        wait: Duration,
    ) -> Option<Result<Invocation, FunctionError>> {
        match tokio::time::timeout(wait, self.acquire()).await {
            Err(_) => None,
            Ok(Err(error)) => Some(Err(error)),
            Ok(Ok(instance)) => Some(self.run(instance, event).await),
        }
    }

    async fn run(
        self: &Arc<Self>,
        instance: Arc<Instance>,
        event: Vec<u8>,
    ) -> Result<Invocation, FunctionError> {
        let request_id = format!(
            "{:08x}-local-{:04x}",
            self.ids.fetch_add(1, Ordering::Relaxed),
            instance.id
        );
        let (reply, response) = oneshot::channel();
        let job = Job {
            request_id: request_id.clone(),
            event,
            reply,
        };
        if instance.jobs.send(job).await.is_err() {
            return Err(FunctionError::new(
                "Runtime.ExitError",
                "the instance stopped before taking the invocation",
            ));
        }
        // Lambda stops an invocation that outlives the function's timeout.
        let timeout = self.spec.timeout;
        let watched = Arc::downgrade(&instance);
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(instance) = watched.upgrade() {
                let running = lock(&instance.current)
                    .as_ref()
                    .is_some_and(|c| c.request_id == request_id);
                if running {
                    instance.fail(FunctionError::new(
                        "Sandbox.Timedout",
                        format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                    ));
                }
            }
        });
        response.await.unwrap_or_else(|_| {
            Err(FunctionError::new(
                "Runtime.ExitError",
                "the instance stopped during the invocation",
            ))
        })
    }

    /// Stops every instance and waits for their processes to exit.
    pub async fn shutdown(&self) {
        let live: Vec<_> = {
            let mut pool = lock(&self.pool);
            pool.closed = true;
            pool.idle.clear();
            pool.live.values().cloned().collect()
        };
        for instance in live {
            instance.stop.notify_one();
        }
        let children = std::mem::take(&mut *lock(&self.children));
        for child in children {
            let _ = child.await;
        }
    }

    /// An idle instance; starts one when every instance is busy and the cap allows, else
    /// waits for one to be free (as an asynchronous invocation waits in Lambda's queue).
    async fn acquire(self: &Arc<Self>) -> Result<Arc<Instance>, FunctionError> {
        /// Counts a caller as waiting until it has an instance or stops waiting (a cancelled
        /// wait, such as an asynchronous event past its maximum age, included).
        struct Waiting<'a>(&'a Function);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                lock(&self.0.pool).waiting -= 1;
            }
        }
        lock(&self.pool).waiting += 1;
        let _waiting = Waiting(self);
        self.wait_for_idle().await
    }

    async fn wait_for_idle(self: &Arc<Self>) -> Result<Arc<Instance>, FunctionError> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let spawn = {
                let mut pool = lock(&self.pool);
                if pool.closed {
                    return Err(FunctionError::new(
                        "Local.Stopped",
                        "the local stack is stopping",
                    ));
                }
                if let Some(instance) = pool.idle.pop() {
                    return Ok(instance);
                }
                let spawn =
                    pool.starting < pool.waiting && pool.live.len() < self.spec.max_instances;
                if spawn {
                    pool.starting += 1;
                }
                spawn
            };
            if spawn && let Err(error) = self.spawn() {
                lock(&self.pool).starting -= 1;
                return Err(error);
            }
            changed.await;
        }
    }

    fn release(&self, instance: Arc<Instance>) {
        let mut pool = lock(&self.pool);
        if !instance.ready.swap(true, Ordering::SeqCst) {
            pool.starting -= 1;
        }
        let known = pool.live.contains_key(&instance.id);
        if known && !pool.closed && !pool.idle.iter().any(|i| i.id == instance.id) {
            pool.idle.push(instance);
        }
        drop(pool);
        self.changed.notify_waiters();
    }

    /// Starts a process with its own Runtime API endpoint.
    fn spawn(self: &Arc<Self>) -> Result<(), FunctionError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(|l| tokio::net::TcpListener::from_std(l))
            .map_err(|e| FunctionError::new("Local.Error", format!("cannot listen: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| FunctionError::new("Local.Error", e.to_string()))?
            .port();
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let (jobs, next) = mpsc::channel(1);
        let instance = Arc::new(Instance {
            id,
            function: Arc::downgrade(self),
            jobs,
            next: tokio::sync::Mutex::new(next),
            current: Mutex::new(None),
            ready: std::sync::atomic::AtomicBool::new(false),
            stop: Notify::new(),
        });
        let spec = &self.spec;
        let mut command = tokio::process::Command::new(&spec.binary);
        command
            .envs(spec.env.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{id}"))
            .env(
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                spec.timeout.as_secs().to_string(),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            FunctionError::new(
                "Local.Error",
                format!(
                    "cannot start {}: {e}; build the services first (`make dev` does)",
                    spec.binary.display()
                ),
            )
        })?;
        {
            let mut pool = lock(&self.pool);
            pool.live.insert(id, instance.clone());
            pool.started += 1;
        }
        let api = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{request_id}/response",
                post(respond),
            )
            .route(
                "/2018-06-01/runtime/invocation/{request_id}/error",
                post(error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(instance.clone());
        let cold_start = spec.cold_start;
        let name = spec.name.clone();
        let supervisor = tokio::spawn(async move {
            if !cold_start.is_zero() {
                tokio::time::sleep(cold_start).await;
            }
            let server = tokio::spawn(async move {
                let _ = axum::serve(listener.tap_io(no_delay), api).await;
            });
            let exit = tokio::select! {
                status = child.wait() => status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                () = instance.stop.notified() => {
                    let _ = child.kill().await;
                    "stopped".to_string()
                }
            };
            server.abort();
            instance.exited(&name, &exit);
        });
        lock(&self.children).push(supervisor);
        Ok(())
    }
}

impl Instance {
    fn function(&self) -> Option<Arc<Function>> {
        self.function.upgrade()
    }

    /// Ends the current invocation with `error` and stops the process.
    fn fail(&self, error: FunctionError) {
        if let Some(current) = lock(&self.current).take() {
            report(current, error);
        }
        self.stop.notify_one();
    }

    /// The process is gone: fail what it was doing and take it out of the pool.
    fn exited(&self, name: &str, status: &str) {
        if let Some(current) = lock(&self.current).take() {
            report(
                current,
                FunctionError::new(
                    "Runtime.ExitError",
                    format!("{name} exited during the invocation ({status})"),
                ),
            );
        }
        if let Some(function) = self.function() {
            let mut pool = lock(&function.pool);
            if !self.ready.swap(true, Ordering::SeqCst) {
                pool.starting -= 1;
            }
            pool.idle.retain(|i| i.id != self.id);
            if pool.live.remove(&self.id).is_some() && !pool.closed {
                pool.replaced += 1;
            }
            drop(pool);
            function.changed.notify_waiters();
        }
    }
}

/// Small frames go out at once: Nagle's algorithm would hold them back.
pub(crate) fn no_delay(socket: &mut tokio::net::TcpStream) {
    let _ = socket.set_nodelay(true);
}

fn report(current: Current, error: FunctionError) {
    if let Some(reply) = current.reply {
        let _ = reply.send(Err(error));
    } else if let Some(body) = current.body {
        let _ = body.try_send(Err(error));
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// `GET /runtime/invocation/next`: the instance is idle until a job comes.
async fn next_invocation(State(instance): State<Arc<Instance>>) -> Response {
    let Some(function) = instance.function() else {
        return StatusCode::GONE.into_response();
    };
    function.release(instance.clone());
    let mut jobs = instance.next.lock().await;
    let Some(job) = jobs.recv().await else {
        return StatusCode::GONE.into_response();
    };
    drop(jobs);
    let deadline = now_ms() + function.spec.timeout.as_millis();
    let headers = [
        ("lambda-runtime-aws-request-id", job.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            format!(
                "arn:aws:lambda:local:000000000000:function:{}",
                function.spec.name
            ),
        ),
        ("content-type", "application/json".to_string()),
    ];
    *lock(&instance.current) = Some(Current {
        request_id: job.request_id,
        reply: Some(job.reply),
        body: None,
    });
    (headers, job.event).into_response()
}

/// The reply of `request_id`, if it is the invocation this instance runs.
fn take_reply(instance: &Instance, request_id: &str) -> Option<Reply> {
    lock(&instance.current)
        .as_mut()
        .filter(|c| c.request_id == request_id)
        .and_then(|c| c.reply.take())
}

/// `POST /runtime/invocation/{id}/response`, buffered or streamed.
async fn respond(
    State(instance): State<Arc<Instance>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(reply) = take_reply(&instance, &request_id) else {
        return (StatusCode::BAD_REQUEST, "not the current invocation").into_response();
    };
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|mode| mode == "streaming");
    let (tx, rx) = mpsc::channel(64);
    if reply
        .send(Ok(Invocation {
            streaming,
            body: rx,
        }))
        .is_err()
    {
        return StatusCode::ACCEPTED.into_response();
    }
    if let Some(current) = lock(&instance.current).as_mut() {
        current.body = Some(tx.clone());
    }
    let mut frames = body.into_data_stream();
    let mut failed = None;
    while let Some(frame) = frames.next().await {
        let chunk = match frame {
            Ok(chunk) => chunk,
            Err(e) => {
                failed = Some(FunctionError::new(
                    "Runtime.ExitError",
                    format!("the response stream broke off: {e}"),
                ));
                break;
            }
        };
        if let Some(error) = stream_error(&chunk) {
            failed = Some(error);
            break;
        }
        // The caller hung up: stop reading, so the function's next write fails, as it does
        // when a Function URL client disconnects.
        if tx.send(Ok(chunk)).await.is_err() {
            lock(&instance.current).take();
            return (StatusCode::GONE, "the client disconnected").into_response();
        }
    }
    lock(&instance.current).take();
    if let Some(error) = failed {
        let _ = tx.send(Err(error)).await;
        // A broken stream is a failed invocation: replace the instance.
        instance.stop.notify_one();
    }
    StatusCode::ACCEPTED.into_response()
}

/// lambda_runtime reports an error in a stream as trailer lines written into the body.
fn stream_error(chunk: &[u8]) -> Option<FunctionError> {
    let text = std::str::from_utf8(chunk).ok()?;
    let rest = text.strip_prefix("Lambda-Runtime-Function-Error-Type: ")?;
    let (kind, rest) = rest.split_once("\r\n")?;
    let body = rest
        .strip_prefix("Lambda-Runtime-Function-Error-Body: ")
        .map(|b| b.trim_end())
        .and_then(|b| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        })
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Some(FunctionError::new(kind, body))
}

/// `POST /runtime/invocation/{id}/error`: the handler failed (an `Err` or a caught panic).
async fn error(
    State(instance): State<Arc<Instance>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(reply) = take_reply(&instance, &request_id) else {
        return (StatusCode::BAD_REQUEST, "not the current invocation").into_response();
    };
    let _ = reply.send(Err(diagnostic(&headers, &body)));
    lock(&instance.current).take();
    instance.stop.notify_one();
    StatusCode::ACCEPTED.into_response()
}

/// `POST /runtime/init/error`: the function could not start.
async fn init_error(
    State(instance): State<Arc<Instance>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = diagnostic(&headers, &body);
    if let Some(function) = instance.function() {
        eprintln!(
            "local: {} failed to start: {}: {}",
            function.spec.name, error.kind, error.message
        );
    }
    instance.fail(error);
    StatusCode::ACCEPTED.into_response()
}

/// Lambda's error document: `{"errorType": "...", "errorMessage": "..."}`.
fn diagnostic(headers: &HeaderMap, body: &[u8]) -> FunctionError {
    let document: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let kind = document["errorType"]
        .as_str()
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or("Unhandled");
    let message = document["errorMessage"].as_str().unwrap_or("unknown error");
    FunctionError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_written_into_a_stream_is_read_back() {
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD.encode("model went away");
        let chunk = format!(
            "Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\nLambda-Runtime-Function-Error-Body: {body}\r\n"
        );
        assert_eq!(
            stream_error(chunk.as_bytes()),
            Some(FunctionError::new("Runtime.StreamError", "model went away"))
        );
        assert_eq!(stream_error(b"data: {\"text\":\"hi\"}\n\n"), None);
    }
}
