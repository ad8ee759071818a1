//! Finds the services a project has: every `services/*/Cargo.toml` with a
//! `[package.metadata.genai-scaffold]` table, so the local stack serves whatever strategy
//! folders are present, each the way its trigger says.

use std::path::Path;
use std::time::Duration;

/// How requests reach a service in AWS, and so how the local stack invokes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// API Gateway WebSocket API: `$connect`, `$disconnect` and message routes.
    WebSocket,
    /// Lambda Function URL with response streaming.
    FunctionUrlStreaming,
    /// API Gateway REST API, Lambda proxy integration.
    Rest,
    /// API Gateway REST API, Lambda proxy integration with response streaming
    /// (`ResponseTransferMode: STREAM`).
    RestStreaming,
}

impl Trigger {
    fn parse(value: &str) -> Option<Trigger> {
        match value {
            "apigateway-websocket" => Some(Trigger::WebSocket),
            "function-url-streaming" => Some(Trigger::FunctionUrlStreaming),
            "apigateway-rest" => Some(Trigger::Rest),
            "apigateway-rest-streaming" => Some(Trigger::RestStreaming),
            _ => None,
        }
    }
}

/// How a client talks to a service, as PROTOCOL.md defines each; independent of the trigger
/// (two services on one trigger may answer differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `generate` messages and their frames over a WebSocket.
    WebSocketFrames,
    /// `POST` answered with a `text/event-stream`.
    ServerSentEvents,
    /// `POST` answered with one JSON document when generation ends.
    JsonResponse,
}

impl Transport {
    fn parse(value: &str) -> Option<Transport> {
        match value {
            "websocket-frames" => Some(Transport::WebSocketFrames),
            "server-sent-events" => Some(Transport::ServerSentEvents),
            "json-response" => Some(Transport::JsonResponse),
            _ => None,
        }
    }
}

/// One service folder, as its manifest declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Package and binary name, e.g. `stream-sse`.
    pub name: String,
    /// Strategy name used by the web app and the protocol, e.g. `sse`.
    pub strategy: String,
    /// How it is invoked.
    pub trigger: Trigger,
    /// How a client talks to it.
    pub transport: Transport,
    /// Path on the application's origin, e.g. `/sse`.
    pub route: String,
    /// WebSocket route keys the API defines besides `$connect`/`$disconnect`/`$default`.
    pub routes: Vec<String>,
    /// The path the CDN's router asks the service's own origin for (a REST API's resource):
    /// by its `[package.metadata.genai-scaffold.cdn]` rule, `/` when `exact`, else the route
    /// without its `prefix`; the route itself without a rule.
    pub origin_path: String,
    /// Longest an invocation of the service's own function may run (`timeout-seconds`), as
    /// deployed.
    pub timeout: Duration,
    /// The function's memory (`memory-mb`), as deployed; the bench prices its duration.
    pub memory_mb: u32,
    /// The second function the service's binary runs as, if it declares one.
    pub worker: Option<Worker>,
    /// The floor between the frames it posts, if it declares one.
    pub frames: Option<FrameFloor>,
    /// DynamoDB writes each answer makes (`dynamodb-writes-per-answer`, else none); the bench
    /// prices them.
    pub dynamodb_writes_per_answer: u32,
}

/// The least time between two frames a service posts, and the variable that overrides it
/// (`[package.metadata.genai-scaffold.frames]`); the service compiles the default in, so the
/// local stack sets the variable only when asked (the bench, to measure other floors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameFloor {
    /// The declared floor (`min-frame-ms`).
    pub default: Duration,
    /// The variable that overrides it, in milliseconds (`env`).
    pub env: String,
}

/// A second function made from a service's binary, which the service's own function invokes
/// asynchronously through Lambda's Invoke API (`[package.metadata.genai-scaffold.worker]`).
/// Failed invocations go to the service's own function, Lambda's on-failure destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    /// Function name, e.g. `realtime-ws-generate`.
    pub function: String,
    /// The variable that gives the service's function the worker's name.
    pub env: String,
    /// Longest an invocation may run.
    pub timeout: Duration,
    /// Its memory (`memory-mb`), as deployed.
    pub memory_mb: u32,
    /// Lambda's retries of a failed asynchronous invocation (`MaximumRetryAttempts`).
    pub retries: u32,
    /// Longest an event may wait in Lambda's queue (`MaximumEventAgeInSeconds`).
    pub max_event_age: Duration,
    /// The variable that names the worker's ledger table, where it records the events it has
    /// run so a copy runs nothing (`ledger-env`), if it keeps one.
    pub ledger_env: Option<String>,
}

/// The services under `root/services`, sorted by name.
pub fn services(root: &Path) -> Result<Vec<Service>, String> {
    let dir = root.join("services");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut found = Vec::new();
    for entry in entries {
        let manifest = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path()
            .join("Cargo.toml");
        if manifest.is_file() {
            found.push(read(&manifest)?);
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn read(manifest: &Path) -> Result<Service, String> {
    let shown = manifest.display();
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{shown} is not valid TOML: {e}"))?;
    let package = table.get("package");
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| format!("{shown} has no [package] name"))?;
    let meta = package
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("genai-scaffold"))
        .ok_or_else(|| {
            format!("{shown} has no [package.metadata.genai-scaffold] table naming its strategy, trigger, transport and route")
        })?;
    let field = |key: &str| {
        meta.get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{shown}: [package.metadata.genai-scaffold] needs `{key}`"))
    };
    let trigger = field("trigger")?;
    let transport = field("transport")?;
    let timeout = seconds(meta, "timeout-seconds")
        .map_err(|e| format!("{shown}: [package.metadata.genai-scaffold] {e}"))?;
    let memory_mb = number(meta, "memory-mb")
        .map_err(|e| format!("{shown}: [package.metadata.genai-scaffold] {e}"))?;
    let frames = match meta.get("frames") {
        None => None,
        Some(frames) => Some(
            read_frames(frames)
                .map_err(|e| format!("{shown}: [package.metadata.genai-scaffold.frames] {e}"))?,
        ),
    };
    let dynamodb_writes_per_answer = match meta.get("dynamodb-writes-per-answer") {
        None => 0,
        Some(_) => number(meta, "dynamodb-writes-per-answer")
            .map_err(|e| format!("{shown}: [package.metadata.genai-scaffold] {e}"))?,
    };
    let worker = match meta.get("worker") {
        None => None,
        Some(worker) => Some(
            read_worker(worker)
                .map_err(|e| format!("{shown}: [package.metadata.genai-scaffold.worker] {e}"))?,
        ),
    };
    let route = field("route")?.to_string();
    let origin_path = match meta.get("cdn") {
        None => route.clone(),
        Some(rule) => origin_path(rule, &route)
            .map_err(|e| format!("{shown}: [package.metadata.genai-scaffold.cdn] {e}"))?,
    };
    Ok(Service {
        name: name.to_string(),
        strategy: field("strategy")?.to_string(),
        trigger: Trigger::parse(trigger).ok_or_else(|| {
            format!("{shown}: unknown trigger `{trigger}`; use apigateway-websocket, function-url-streaming, apigateway-rest or apigateway-rest-streaming")
        })?,
        transport: Transport::parse(transport).ok_or_else(|| {
            format!("{shown}: unknown transport `{transport}`; use websocket-frames, server-sent-events or json-response")
        })?,
        route,
        origin_path,
        routes: meta
            .get("routes")
            .and_then(|r| r.as_array())
            .map(|routes| {
                routes
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        timeout,
        memory_mb,
        worker,
        frames,
        dynamodb_writes_per_answer,
    })
}

/// The path the CDN's router sends `route` to, by the rule `table` (infra/cdk's and
/// infra/sam's router read the same rule).
fn origin_path(table: &toml::Value, route: &str) -> Result<String, String> {
    let exact = table
        .get("exact")
        .and_then(toml::Value::as_bool)
        .ok_or_else(|| "needs `exact`, true or false".to_string())?;
    let prefix = table
        .get("prefix")
        .and_then(|v| v.as_str())
        .ok_or_else(|| "needs `prefix`, a string".to_string())?;
    if exact {
        return Ok("/".to_string());
    }
    let rest = route
        .strip_prefix(prefix)
        .ok_or_else(|| format!("`prefix` {prefix} does not start the route {route}"))?;
    Ok(if rest.is_empty() { "/" } else { rest }.to_string())
}

fn read_frames(table: &toml::Value) -> Result<FrameFloor, String> {
    Ok(FrameFloor {
        default: Duration::from_millis(number(table, "min-frame-ms")?.into()),
        env: table
            .get("env")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| "needs `env`, a string".to_string())?,
    })
}

/// A whole number of `key` in `table`.
fn number(table: &toml::Value, key: &str) -> Result<u32, String> {
    table
        .get(key)
        .and_then(|v| v.as_integer())
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("needs `{key}`, a whole number"))
}

/// `key` in `table`, a whole number of seconds.
fn seconds(table: &toml::Value, key: &str) -> Result<Duration, String> {
    number(table, key).map(|n| Duration::from_secs(n.into()))
}

fn read_worker(table: &toml::Value) -> Result<Worker, String> {
    let text = |key: &str| {
        table
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("needs `{key}`, a string"))
    };
    Ok(Worker {
        function: text("function")?,
        env: text("env")?,
        timeout: seconds(table, "timeout-seconds")?,
        memory_mb: number(table, "memory-mb")?,
        retries: number(table, "retries")?,
        max_event_age: seconds(table, "max-event-age-seconds")?,
        ledger_env: match table.get("ledger-env") {
            None => None,
            Some(_) => Some(text("ledger-env")?),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projects_own_services_are_found_with_their_triggers() {
        let root = crate::project_root().expect("run inside the project");
        let services = services(&root).expect("services");
        for service in &services {
            assert!(root.join("services").join(&service.name).is_dir());
            assert!(service.route.starts_with('/'), "{service:?}");
        }
        let present = std::fs::read_dir(root.join("services")).map_or(0, |d| d.count());
        assert_eq!(services.len(), present);
    }

    #[test]
    fn a_manifest_without_metadata_is_an_error_that_names_the_table() {
        let dir = std::env::temp_dir().join(format!("local-discover-{}", std::process::id()));
        let service = dir.join("services/extra");
        std::fs::create_dir_all(&service).expect("mkdir");
        std::fs::write(service.join("Cargo.toml"), "[package]\nname = \"extra\"\n").expect("write");
        let error = services(&dir).expect_err("no metadata");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert!(
            error.contains("[package.metadata.genai-scaffold]"),
            "{error}"
        );
    }
}
