//! `bench`: measures every strategy of a stage (`make bench`, or `make bench URL=https://…`).
//! Flags: `bench --help`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::client::{self, Prompt, endpoints};
use bench::{Mode, Sample};
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use fake_bedrock::Settings;
use fake_bedrock::flags::PacingDefaults;
use futures_util::StreamExt;
use local::flags::{StackDefaults, StackFlags};
use serde_json::{Value, json};

/// The help heading of the flags that only a local stack reads.
const LOCAL_STACK: &str = "Local stack (without --url)";

/// Measures every strategy of a stage: time to first chunk, total time and tokens per second,
/// one request at a time and concurrently, as a table, JSON samples and an SVG chart.
///
/// Without --url it starts the local stack on loopback, with simulated AWS latencies.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    /// The stage's origin, http(s)://… [default: a local stack on loopback]
    #[arg(long, value_name = "URL", value_parser = client::origin)]
    url: Option<String>,
    // The bounds of --requests and --concurrency keep a bench from flooding a stage.
    /// Requests per strategy and mode.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000),
    )]
    requests: usize,
    /// Requests in flight at once in the concurrent mode.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=500),
    )]
    concurrency: usize,
    /// Folder of bench-samples.json and bench.svg [default: bench/ in $CARGO_TARGET_DIR, else
    /// in the project's target/]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The modes to measure, in order, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sequential,concurrent"
    )]
    modes: Vec<Mode>,
    /// Seconds after which no more requests are sent; the run reports what it measured.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..=24 * 3600),
    )]
    max_seconds: u64,
    /// Seconds a request may take; a longer one counts as an error.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=900),
    )]
    timeout_seconds: u64,
    /// The prompt each request sends.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "Write a short story about a lighthouse keeper."
    )]
    prompt: String,
    /// The `maxTokens` each request sends.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 512,
        value_parser = clap::value_parser!(u32).range(1..=100_000),
    )]
    max_tokens: u32,
    /// The log level of the local functions, whose lines would run into the table.
    #[arg(
        long,
        value_name = "LEVEL",
        default_value = "error",
        value_parser = ["off", "error", "warn", "info", "debug", "trace"],
        help_heading = LOCAL_STACK,
    )]
    log_level: String,
    #[command(flatten, next_help_heading = LOCAL_STACK)]
    stack: StackFlags<Simulated>,
}

/// The local stack as the bench simulates AWS: typical in-region latencies of a Management
/// API post and of an invocation, and a fake Bedrock paced like a small model.
#[derive(Debug, Clone, Copy)]
struct Simulated;

impl PacingDefaults for Simulated {
    const PACING: Settings = Settings {
        time_to_first_token_ms: 300,
        tokens_per_second: 80,
        tokens: 64,
    };
}

impl StackDefaults for Simulated {
    const POST_LATENCY_MS: u64 = 20;
    const INVOKE_LATENCY_MS: u64 = 10;
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

async fn run(cli: Cli, root: PathBuf) -> Result<(), String> {
    // One TLS provider for the clients (reqwest and the WebSocket client share it).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (base, stack) = match &cli.url {
        Some(url) => (url.clone(), None),
        None => {
            let stack = local::Stack::start(local::Options {
                log_level: Some(cli.log_level.clone()),
                ..cli.stack.options(root.clone())
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
    let services = local::discover::services(&root)?;
    let endpoints = endpoints(&config, &base, &services);
    if endpoints.is_empty() {
        return Err(format!("{base}/config.json lists no strategy"));
    }

    let total = (endpoints.len() * cli.requests * cli.modes.len()) as u64;
    let progress = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} requests, {elapsed} {msg}")
            .map_err(|e| e.to_string())?,
    );
    let deadline = Instant::now() + Duration::from_secs(cli.max_seconds);
    let prompt = Arc::new(Prompt {
        text: cli.prompt.clone(),
        max_tokens: cli.max_tokens,
    });
    let timeout = Duration::from_secs(cli.timeout_seconds);
    let mut samples: Vec<Sample> = Vec::new();
    for &mode in &cli.modes {
        let concurrency = match mode {
            Mode::Sequential => 1,
            Mode::Concurrent => cli.concurrency,
        };
        for (name, transport, url) in &endpoints {
            progress.set_message(format!("{name}, {mode:?}"));
            let measured: Vec<Sample> = futures_util::stream::iter(0..cli.requests)
                .take_while(|_| std::future::ready(Instant::now() < deadline))
                .map(|_| {
                    let (http, prompt, progress) = (&http, prompt.clone(), &progress);
                    async move {
                        let sample =
                            client::measure(http, *transport, url, &prompt, name, mode, timeout)
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
        if cli.url.is_some() {
            "deployed stage"
        } else {
            "local stack"
        },
        config["bedrock"].as_str().unwrap_or("AWS"),
        config["model"].as_str().unwrap_or("?"),
        cli.requests,
        cli.concurrency
    );
    print!("{}", bench::table(&summaries));
    if let (None, Some(own)) = (&cli.url, own) {
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
            cli.max_seconds,
            samples.len()
        );
    }
    let out = cli
        .out
        .unwrap_or_else(|| local::target_dir(&root).join("bench"));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let json_path = out.join("bench-samples.json");
    let document = json!({
        "stage": base,
        "bedrock": config["bedrock"],
        "model": config["model"],
        "requests": cli.requests,
        "concurrency": cli.concurrency,
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
    let svg_path = out.join("bench.svg");
    bench::write_svg(&svg_path, &samples)?;
    println!(
        "samples: {}\nchart:   {}",
        shown(&json_path, &root),
        shown(&svg_path, &root)
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let root = match local::project_root() {
        Ok(root) => root,
        Err(message) => {
            eprintln!("bench: {message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = run(cli, root).await {
        eprintln!("bench: {message}");
        std::process::exit(1);
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
