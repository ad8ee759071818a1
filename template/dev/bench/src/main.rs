//! `bench`: measures every strategy of a stage (`make bench`, or `make bench URL=https://…`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::client::{self, Prompt, endpoints};
use bench::{Mode, Sample};
use futures_util::StreamExt;
use local::gateway::Latencies;
use serde_json::{Value, json};

const USAGE: &str = "usage: bench [--url URL] [--requests N] [--concurrency N] [--out DIR]
             [--modes sequential,concurrent] [--max-seconds N] [--timeout-seconds N]
             [--prompt TEXT] [--max-tokens N]
  local stack only: [--bin-dir DIR] [--max-instances N] [--post-latency-ms N]
             [--invoke-latency-ms N] [--ttft-ms N] [--tokens-per-second N] [--tokens N]
             [--log-level off|error|warn|info|debug] (the functions' logs; default error)
Without --url it starts the local stack on loopback, with simulated AWS latencies.";

/// Most requests per strategy and mode, and most in flight: a bench never floods a stage.
const MAX_REQUESTS: u64 = 10_000;
const MAX_CONCURRENCY: u64 = 500;

struct Args {
    /// The project (its services, its web app).
    root: PathBuf,
    url: Option<String>,
    requests: usize,
    concurrency: usize,
    modes: Vec<Mode>,
    max_instances: usize,
    out: PathBuf,
    max_seconds: u64,
    timeout: Duration,
    prompt: Prompt,
    bin_dir: PathBuf,
    latencies: Latencies,
    fake: fake_bedrock::Settings,
    /// The local functions' log level: their lines would run into the table.
    log_level: String,
}

fn parse_args() -> Result<Args, String> {
    let root = local::project_root()?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let mut args = Args {
        root: root.clone(),
        url: None,
        requests: 20,
        concurrency: 8,
        modes: vec![Mode::Sequential, Mode::Concurrent],
        max_instances: 32,
        out: target.join("bench"),
        max_seconds: 600,
        timeout: Duration::from_secs(60),
        prompt: Prompt {
            text: "Write a short story about a lighthouse keeper.".into(),
            max_tokens: 512,
        },
        bin_dir: target.join("release"),
        // Typical in-region figures: a Management API post, an invocation.
        latencies: Latencies {
            post: Duration::from_millis(20),
            invoke: Duration::from_millis(10),
        },
        fake: fake_bedrock::Settings {
            time_to_first_token_ms: 300,
            tokens_per_second: 80,
            tokens: 64,
        },
        log_level: "error".into(),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = given
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |max: u64| -> Result<u64, String> {
            match value.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(format!(
                    "{flag} takes a whole number from 1 to {max}, not '{value}'"
                )),
            }
        };
        match flag.as_str() {
            "--url" => {
                if !value.starts_with("http://") && !value.starts_with("https://") {
                    return Err(format!(
                        "--url takes the stage's origin, http(s)://…, not '{value}'"
                    ));
                }
                args.url = Some(value.trim_end_matches('/').to_string());
            }
            "--requests" => args.requests = number(MAX_REQUESTS)? as usize,
            "--concurrency" => args.concurrency = number(MAX_CONCURRENCY)? as usize,
            "--out" => args.out = PathBuf::from(&value),
            "--modes" => {
                args.modes = value
                    .split(',')
                    .map(|mode| match mode.trim() {
                        "sequential" => Ok(Mode::Sequential),
                        "concurrent" => Ok(Mode::Concurrent),
                        other => Err(format!(
                            "--modes takes sequential and/or concurrent, not '{other}'"
                        )),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--max-instances" => args.max_instances = number(1000)? as usize,
            "--max-seconds" => args.max_seconds = number(24 * 3600)?,
            "--timeout-seconds" => args.timeout = Duration::from_secs(number(900)?),
            "--prompt" => args.prompt.text = value,
            "--max-tokens" => {
                args.prompt.max_tokens = u32::try_from(number(100_000)?).unwrap_or(u32::MAX)
            }
            "--bin-dir" => args.bin_dir = PathBuf::from(&value),
            "--post-latency-ms" => args.latencies.post = Duration::from_millis(number(60_000)?),
            "--invoke-latency-ms" => args.latencies.invoke = Duration::from_millis(number(60_000)?),
            "--ttft-ms" => args.fake.time_to_first_token_ms = number(60_000)?,
            "--tokens-per-second" => args.fake.tokens_per_second = number(100_000)?,
            "--tokens" => args.fake.tokens = u32::try_from(number(100_000)?).unwrap_or(u32::MAX),
            "--log-level" => {
                let levels = ["off", "error", "warn", "info", "debug", "trace"];
                if !levels.contains(&value.as_str()) {
                    return Err(format!(
                        "--log-level is one of {}, not '{value}'",
                        levels.join(", ")
                    ));
                }
                args.log_level = value;
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

/// The peak resident memory (`VmHWM`) of a process, in MiB.
fn peak_rss_mib(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The processes this one started (the local stack's function instances), from every
/// thread's `children` list (Linux).
fn child_pids() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `path` as the user reads it: relative to the project when inside it, without `..`.
fn shown(path: &std::path::Path, root: &std::path::Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string()
}

async fn run(args: Args) -> Result<(), String> {
    // One TLS provider for the clients (reqwest and the WebSocket client share it).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (base, stack) = match &args.url {
        Some(url) => (url.clone(), None),
        None => {
            let stack = local::Stack::start(local::Options {
                root: args.root.clone(),
                bin_dir: args.bin_dir.clone(),
                listen: ([127, 0, 0, 1], 0).into(),
                bedrock: local::Bedrock::Fake(args.fake.clone()),
                latencies: args.latencies,
                cold_start: Duration::ZERO,
                // Lambda would start an instance per concurrent request; a laptop queues
                // beyond this many processes per function.
                max_instances: args.max_instances,
                log_level: Some(args.log_level.clone()),
            })
            .await?;
            (stack.url.clone(), Some(stack))
        }
    };
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let config: Value = http
        .get(format!("{base}/config.json"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("cannot read {base}/config.json: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{base}/config.json is not JSON: {e}"))?;
    let services = local::discover::services(&args.root)?;
    let endpoints = endpoints(&config, &base, &services);
    if endpoints.is_empty() {
        return Err(format!("{base}/config.json lists no strategy"));
    }

    let total = (endpoints.len() * args.requests * args.modes.len()) as u64;
    let progress = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} requests, {elapsed} {msg}")
            .map_err(|e| e.to_string())?,
    );
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let prompt = Arc::new(args.prompt.clone());
    let mut samples: Vec<Sample> = Vec::new();
    for &mode in &args.modes {
        let concurrency = match mode {
            Mode::Sequential => 1,
            Mode::Concurrent => args.concurrency,
        };
        for (name, transport, url) in &endpoints {
            progress.set_message(format!("{name}, {mode:?}"));
            let measured: Vec<Sample> = futures_util::stream::iter(0..args.requests)
                .take_while(|_| std::future::ready(Instant::now() < deadline))
                .map(|_| {
                    let (http, prompt, progress) = (&http, prompt.clone(), &progress);
                    async move {
                        let sample = client::measure(
                            http,
                            *transport,
                            url,
                            &prompt,
                            name,
                            mode,
                            args.timeout,
                        )
                        .await;
                        progress.inc(1);
                        sample
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            samples.extend(measured);
        }
    }
    progress.finish_and_clear();
    // The whole local stack's memory: this process (gateway, fake Bedrock, clients) and each
    // function instance, read before the instances stop.
    let own = peak_rss_mib("self");
    let functions: Vec<f64> = child_pids()
        .iter()
        .filter_map(|pid| peak_rss_mib(pid))
        .collect();
    if let Some(stack) = stack {
        stack.stop().await;
    }

    let summaries = bench::summarize(&samples);
    println!(
        "{} against {base} ({} Bedrock, model {}): {} requests per strategy and mode, concurrency {}",
        if args.url.is_some() {
            "deployed stage"
        } else {
            "local stack"
        },
        config["bedrock"].as_str().unwrap_or("AWS"),
        config["model"].as_str().unwrap_or("?"),
        args.requests,
        args.concurrency
    );
    print!("{}", bench::table(&summaries));
    if let (None, Some(own)) = (&args.url, own) {
        let instances: f64 = functions.iter().sum();
        println!(
            "peak RSS of the local stack: {:.1} MiB = {own:.1} MiB this process (gateway, fake \
             Bedrock, clients) + {instances:.1} MiB in {} function instances (each one's peak)",
            own + instances,
            functions.len()
        );
    }
    if samples.len() < total as usize {
        println!(
            "stopped at --max-seconds {}: {} of {total} requests sent",
            args.max_seconds,
            samples.len()
        );
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let json_path = args.out.join("bench-samples.json");
    let document = json!({
        "stage": base,
        "bedrock": config["bedrock"],
        "model": config["model"],
        "requests": args.requests,
        "concurrency": args.concurrency,
        "samples": samples,
        "summary": summaries,
        "winners": {
            "sequential": bench::winners(&summaries, Mode::Sequential),
            "concurrent": bench::winners(&summaries, Mode::Concurrent),
        },
    });
    let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, text)
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    let svg_path = args.out.join("bench.svg");
    bench::write_svg(&svg_path, &samples)?;
    println!(
        "samples: {}\nchart:   {}",
        shown(&json_path, &args.root),
        shown(&svg_path, &args.root)
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("bench: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(message) = run(args).await {
        eprintln!("bench: {message}");
        std::process::exit(1);
    }
}
