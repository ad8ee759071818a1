//! The local stack behind `make dev`: the whole app on loopback, no AWS account, no Docker.
//!
//! The real service binaries run under a Lambda Runtime API emulator ([`runtime`]); a gateway
//! ([`gateway`]) turns browser and `curl` traffic into the events API Gateway and Function
//! URLs send; the fake Bedrock answers on the real wire protocol (or real Bedrock does, with
//! `--bedrock aws`). Services are found by folder ([`discover`]), so nothing here changes
//! with the strategies a project has.

pub mod discover;
pub mod flags;
pub mod gateway;
pub mod runtime;
pub mod stage;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use genai::config::{BEDROCK_ENDPOINT_ENV, WS_CALLBACK_ENV};
use serde_json::json;

use crate::discover::Service;
use crate::gateway::{Gateway, Latencies, WorkerFunction};
use crate::runtime::{Function, FunctionSpec};
use crate::stage::Deployed;

/// The project the current directory is in: the nearest folder, from here up, that holds
/// both `Cargo.toml` and `services/`.
///
/// Found when the program runs, not baked in when it is compiled: cargo names a workspace
/// member by its path inside the workspace, so two copies of a project that share a
/// `CARGO_TARGET_DIR` share one build of `local`, and a compiled-in path would point at
/// whichever copy built it last.
pub fn project_root() -> Result<PathBuf, String> {
    let here = std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
    here.ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file() && dir.join("services").is_dir())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "{} is not inside a generated project (no folder with Cargo.toml and \
                 services/ above it): run this from the project's folder",
                here.display()
            )
        })
}

/// The project's cargo target folder: `CARGO_TARGET_DIR` when set, else `target/` in `root`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Where the model answers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bedrock {
    /// The fake Bedrock, in process, with these settings.
    Fake(fake_bedrock::Settings),
    /// Real Bedrock with the default credential chain and the project's model and region.
    Aws,
}

/// How to run the stack.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project root (holds `services/`).
    pub root: PathBuf,
    /// Where the service binaries are (`target/dev-local` after `make dev`'s build).
    pub bin_dir: PathBuf,
    /// Address of the gateway; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Model backend.
    pub bedrock: Bedrock,
    /// Simulated AWS latencies.
    pub latencies: Latencies,
    /// Simulated extra start-up time of each new function instance.
    pub cold_start: Duration,
    /// Instances per function.
    pub max_instances: usize,
    /// The functions' log level (`off`, `error`, … `trace`); `None` leaves it to the
    /// environment (`RUST_LOG`, else INFO).
    pub log_level: Option<String>,
    /// Variables every function gets besides the stack's own (the bench sets a service's
    /// declared frame floor variable with it); empty for the declared settings.
    pub function_env: Vec<(String, String)>,
    /// Queue every asynchronous invocation twice, as Lambda may deliver an event twice.
    pub deliver_events_twice: bool,
    /// A deployed stage to run as it was deployed (`make dev STAGE=<stage>`): each function's
    /// environment, timeout, reserved concurrency, name and code from it, in its region; `None`
    /// runs the declarations' defaults.
    pub stage: Option<Deployed>,
}

/// A running stack. [`Stack::stop`] ends every process it started.
pub struct Stack {
    /// The origin, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The services found, in name order.
    pub services: Vec<Service>,
    functions: Vec<Arc<Function>>,
    server: tokio::task::JoinHandle<()>,
}

impl Stack {
    /// Finds the services, starts one warm instance of each and serves the origin.
    pub async fn start(options: Options) -> Result<Stack, String> {
        let services = discover::services(&options.root)?;
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| {
                format!(
                    "cannot listen on {}: {e}; pick another with --port",
                    options.listen
                )
            })?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let url = format!("http://{addr}");

        let config = genai::config::Config::from_env();
        let region = options
            .stage
            .as_ref()
            .map_or(config.region.clone(), |stage| stage.region.clone());
        // What every function gets from the stack, over a deployed stage's own values: the
        // loopback origin is where the web app and the WebSocket callbacks are, not the CDN.
        let loopback_origins = format!(
            "{url},http://localhost:{},http://localhost:5173",
            addr.port()
        );
        let mut env = vec![
            (WS_CALLBACK_ENV.to_string(), url.clone()),
            ("ALLOWED_ORIGINS".to_string(), loopback_origins.clone()),
            ("AWS_REGION".to_string(), region.clone()),
        ];
        env.extend(options.function_env.iter().cloned());
        if let Some(level) = &options.log_level {
            // The Lambda runtime reads AWS_LAMBDA_LOG_LEVEL first; its filter also RUST_LOG.
            for key in ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"] {
                env.push((key.to_string(), level.clone()));
            }
        }
        let bedrock = match &options.bedrock {
            Bedrock::Fake(settings) => {
                let fake = fake_bedrock::FakeBedrock::start(settings.clone())
                    .await
                    .map_err(|e| format!("cannot start the fake Bedrock: {e}"))?;
                env.push((BEDROCK_ENDPOINT_ENV.into(), fake.endpoint()));
                // The fake checks no signature; these only let the SDK sign without an account.
                // A stage's functions read its SSM parameters with the caller's credentials
                // (a profile, say), which keys set here would override.
                for (key, value) in [
                    ("AWS_ACCESS_KEY_ID", "local"),
                    ("AWS_SECRET_ACCESS_KEY", "local"),
                ] {
                    if options.stage.is_none() && std::env::var_os(key).is_none() {
                        env.push((key.into(), value.into()));
                    }
                }
                Some(Arc::new(fake))
            }
            Bedrock::Aws => None,
        };

        let mut functions = Vec::new();
        let mut served = Vec::new();
        let mut workers = Vec::new();
        for service in &services {
            let binary = options.bin_dir.join(&service.name);
            if !binary.is_file() {
                return Err(format!(
                    "{} is missing: build the services with this program's profile (make dev and make \
                     bench do), or name their folder with --bin-dir",
                    binary.display()
                ));
            }
            // Without a stage, a function is named as declared and runs with the declared
            // timeout, the stack's instance cap and the values it would be deployed with.
            // With one, it is as deployed: its name, timeout, reserved concurrency, code (when
            // infra/twin.py could fetch it) and every variable of its environment, the stack's
            // own over them.
            let spec = |declared: &str,
                        timeout: Duration,
                        declared_env: Vec<(String, String)>|
             -> Result<FunctionSpec, String> {
                let mut spec = FunctionSpec {
                    name: declared.to_string(),
                    binary: binary.clone(),
                    env: env.clone(),
                    max_instances: options.max_instances,
                    timeout,
                    cold_start: options.cold_start,
                };
                match &options.stage {
                    None => spec.env.extend(declared_env),
                    Some(stage) => {
                        let deployed = stage.function(declared, &service.name)?;
                        spec.name = deployed.name.clone();
                        if let Some(code) = &deployed.code {
                            spec.binary = code.clone();
                        }
                        spec.timeout = deployed.timeout();
                        if let Some(reserved) = deployed.reserved_concurrency {
                            spec.max_instances = usize::try_from(reserved)
                                .unwrap_or(usize::MAX)
                                .clamp(1, options.max_instances);
                        }
                        let own: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
                        let deployed_env: Vec<(String, String)> = deployed
                            .env
                            .iter()
                            .filter(|(k, _)| !own.contains(&k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        // The CDN's origin is the deployed one; the web app here is served
                        // from loopback, which the functions must take as well.
                        if let Some(origins) = deployed.env.get("ALLOWED_ORIGINS") {
                            set(
                                &mut spec.env,
                                "ALLOWED_ORIGINS",
                                format!("{origins},{loopback_origins}"),
                            );
                        }
                        spec.env.extend(deployed_env);
                    }
                }
                Ok(spec)
            };
            let mut service_env = Vec::new();
            if let Some(worker) = &service.worker {
                // The service's function reaches the worker through this origin's Lambda
                // Invoke API, with the real SDK client.
                service_env.push((worker.env.clone(), worker.function.clone()));
            }
            let mut service_spec = spec(&service.name, service.timeout, service_env)?;
            if service.worker.is_some() {
                service_spec
                    .env
                    .push(("AWS_ENDPOINT_URL_LAMBDA".into(), url.clone()));
            }
            refuse(&mut service_spec, &options.stage, &service.name, &url);
            let function = Function::new(service_spec);
            functions.push(function.clone());
            if let Some(worker) = &service.worker {
                let mut worker_env = Vec::new();
                if let Some(ledger_env) = &worker.ledger_env {
                    // Its ledger is this origin's in-memory DynamoDB, reached with the real
                    // SDK client; one table per worker, named after it.
                    worker_env.push((ledger_env.clone(), format!("{}-ledger", worker.function)));
                }
                let mut worker_spec = spec(&worker.function, worker.timeout, worker_env)?;
                if worker.ledger_env.is_some() {
                    worker_spec
                        .env
                        .push(("AWS_ENDPOINT_URL_DYNAMODB".into(), url.clone()));
                }
                refuse(&mut worker_spec, &options.stage, &worker.function, &url);
                let mut declared = worker.clone();
                // Invoked by the name its service's function is given, as Lambda would.
                declared.function = worker_spec.name.clone();
                // Failures go to the service's function, which tells the client; a stage
                // deployed with other settings runs with those, and without that destination
                // a failed answer reaches nobody, as on AWS.
                let mut on_failure = Some(function.clone());
                let deployed = options.stage.as_ref().and_then(|stage| {
                    let worker = stage.functions.get(&worker.function)?;
                    worker.asynchronous.as_ref()
                });
                if let Some(deployed) = deployed {
                    declared.retries = deployed.retries;
                    declared.max_event_age = Duration::from_secs(deployed.max_event_age_seconds);
                    on_failure = on_failure
                        .filter(|service| deployed.on_failure.as_deref() == Some(service.name()));
                }
                let worker_function = Function::new(worker_spec);
                functions.push(worker_function.clone());
                workers.push(WorkerFunction {
                    spec: declared,
                    function: worker_function,
                    on_failure,
                });
            }
            served.push((service.clone(), function));
        }
        // One warm instance each, started together, so the first prompt has no cold start.
        let warming = functions.iter().map(|f| {
            let f = f.clone();
            async move { (f.name().to_string(), f.warm().await) }
        });
        for (name, warmed) in futures_util::future::join_all(warming).await {
            if let Err(e) = warmed {
                for function in &functions {
                    function.shutdown().await;
                }
                return Err(format!("{name} did not start: {}", e.message));
            }
        }

        let gateway = Gateway {
            functions: served,
            workers,
            latencies: options.latencies,
            config: json!({
                "stage": options.stage.as_ref().map_or("local", |stage| stage.stage.as_str()),
                "region": region,
                "model": config.model_id,
                "bedrock": if bedrock.is_some() { "fake" } else { "aws" },
                "limits": {
                    "maxPromptBytes": config.limits.max_prompt_bytes,
                    "maxTokens": config.limits.max_tokens,
                    "defaultMaxTokens": config.limits.default_max_tokens,
                },
            }),
            web_root: Some(options.root.join("client/web/dist")).filter(|d| d.is_dir()),
            bedrock,
            deliver_events_twice: options.deliver_events_twice,
            stage: options.stage,
        };
        let app = gateway::router(gateway).into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener.tap_io(runtime::no_delay), app).await;
        });
        Ok(Stack {
            url,
            services,
            functions,
            server,
        })
    }

    /// Stops the gateway and every function process, and waits for them to exit.
    pub async fn stop(self) {
        self.server.abort();
        for function in &self.functions {
            function.shutdown().await;
        }
    }
}

/// The calls a stage's role refuses the function `declared`, refused here too: the variable
/// each goes through points at this origin's `/_twin/refused/<function>`, which answers as AWS
/// does a call its policies do not allow.
fn refuse(spec: &mut FunctionSpec, stage: &Option<Deployed>, declared: &str, url: &str) {
    let Some(deployed) = stage.as_ref().and_then(|s| s.functions.get(declared)) else {
        return;
    };
    for (index, call) in deployed.refused.iter().enumerate() {
        match call.endpoint_variable() {
            Some(variable) => set(
                &mut spec.env,
                variable,
                format!("{url}/_twin/refused/{}/{index}", deployed.name),
            ),
            None => eprintln!(
                "local: {} is refused {} on {}, which the local stack cannot refuse: make check-access shows it",
                deployed.name, call.action, call.resource
            ),
        }
    }
}

/// Sets `key` in `env`, replacing its value if it has one.
fn set(env: &mut Vec<(String, String)>, key: &str, value: String) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value));
}
