//! `bench`: measures every strategy of a stage (`make bench`, or `make bench URL=https://…`).
//! Flags: `bench --help`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::client::{self, Prompt};
use bench::cost::{Cost, Usage};
use bench::{Mode, Sample};
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use fake_bedrock::Settings;
use fake_bedrock::flags::PacingDefaults;
use futures_util::StreamExt;
use local::discover::Service;
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
    /// Frame floors to measure, comma separated: `default` (each service's declared one),
    /// `off` (none) or milliseconds. The first measures every strategy, each other only the
    /// strategies that declare a floor, each on a stack of its own.
    #[arg(
        long,
        value_name = "FLOORS",
        value_delimiter = ',',
        default_value = "default",
        value_parser = floor,
        help_heading = LOCAL_STACK,
    )]
    frame_floors: Vec<Floor>,
    /// Also write the run (one-by-one p50s, usage per answer) to FILE, the form README.md's
    /// measured section is rendered from (`make bench-readme` keeps dev/bench/reference.json).
    #[arg(long, value_name = "FILE", help_heading = LOCAL_STACK)]
    reference: Option<PathBuf>,
    /// Measure nothing: render README.md's measured section from dev/bench/reference.json and
    /// dev/bench/prices.toml.
    #[arg(long)]
    render_readme: bool,
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

/// The frame floor a run gives the services that declare one (`--frame-floors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Floor {
    /// The floor each service declares (no variable set).
    Declared,
    /// This many milliseconds (0: none).
    Ms(u64),
}

fn floor(value: &str) -> Result<Floor, String> {
    match value {
        "default" => Ok(Floor::Declared),
        "off" => Ok(Floor::Ms(0)),
        ms => match ms.parse::<u64>() {
            Ok(ms) if ms <= 60_000 => Ok(Floor::Ms(ms)),
            _ => Err("default, off, or whole milliseconds up to 60000".into()),
        },
    }
}

/// A row of the run: what was measured under `label`.
struct Measured {
    label: String,
    service: Service,
    /// The floor it ran with, for a service that declares one.
    floor_ms: Option<u64>,
}

/// Starts the stage of one floor (a local stack with that floor's variables, or `--url`) and
/// reads its `/config.json`.
async fn stage(
    cli: &Cli,
    root: &Path,
    function_env: Vec<(String, String)>,
    http: &reqwest::Client,
) -> Result<(String, Option<local::Stack>, Value), String> {
    let (base, stack) = match &cli.url {
        Some(url) => (url.clone(), None),
        None => {
            let stack = local::Stack::start(local::Options {
                log_level: Some(cli.log_level.clone()),
                function_env,
                ..cli.stack.options(root.to_path_buf())
            })
            .await?;
            (stack.url.clone(), Some(stack))
        }
    };
    let config: Value = http
        .get(format!("{base}/config.json"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("cannot read {base}/config.json: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{base}/config.json is not JSON: {e}"))?;
    Ok((base, stack, config))
}

async fn run(cli: Cli, root: PathBuf) -> Result<(), String> {
    if cli.render_readme {
        return render_readme(&root);
    }
    // One TLS provider for the clients (reqwest and the WebSocket client share it).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let services = local::discover::services(&root)?;
    let prices = bench::cost::Prices::read(&root)?;
    if cli.url.is_some() && cli.frame_floors != [Floor::Declared] {
        return Err(
            "--frame-floors sets the local stack's functions; a deployed stage posts at the \
             floor it was deployed with"
                .into(),
        );
    }
    if cli.url.is_some() && cli.reference.is_some() {
        return Err("--reference is a run of the local stack, not of a deployed stage".into());
    }
    // With floors asked for, each row of a service that posts frames names its floor.
    let named = cli.frame_floors != [Floor::Declared];
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(cli.max_seconds);
    let prompt = Arc::new(Prompt {
        text: cli.prompt.clone(),
        max_tokens: cli.max_tokens,
    });
    let timeout = Duration::from_secs(cli.timeout_seconds);
    let mut samples: Vec<Sample> = Vec::new();
    let mut measured: Vec<Measured> = Vec::new();
    let mut expected = 0;
    let mut own = None;
    let mut functions: Vec<f64> = Vec::new();
    let mut shown_stage = (String::new(), Value::Null);
    for (index, floor) in cli.frame_floors.iter().enumerate() {
        let function_env = match floor {
            Floor::Declared => Vec::new(),
            Floor::Ms(ms) => services
                .iter()
                .filter_map(|s| s.frames.as_ref())
                .map(|f| (f.env.clone(), ms.to_string()))
                .collect(),
        };
        let (base, stack, config) = stage(&cli, &root, function_env, &http).await?;
        // The first floor measures every strategy; the others only those it changes.
        let mut endpoints = Vec::new();
        for (name, transport, url) in client::endpoints(&config, &base, &services) {
            let Some(service) = services.iter().find(|s| s.strategy == name) else {
                continue;
            };
            if index > 0 && service.frames.is_none() {
                continue;
            }
            let floor_ms = service.frames.as_ref().map(|f| match floor {
                Floor::Declared => u64::try_from(f.default.as_millis()).unwrap_or(u64::MAX),
                Floor::Ms(ms) => *ms,
            });
            let label = match floor_ms {
                Some(0) if named => format!("{name}@off"),
                Some(ms) if named => format!("{name}@{ms}"),
                _ => name.clone(),
            };
            measured.push(Measured {
                label: label.clone(),
                service: service.clone(),
                floor_ms,
            });
            endpoints.push((label, transport, url));
        }
        if index == 0 && endpoints.is_empty() {
            return Err(format!("{base}/config.json lists no strategy"));
        }
        let total = (endpoints.len() * cli.requests * cli.modes.len()) as u64;
        expected += total as usize;
        let progress = indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} requests, {elapsed} {msg}",
            )
            .map_err(|e| e.to_string())?,
        );
        for &mode in &cli.modes {
            let concurrency = match mode {
                Mode::Sequential => 1,
                Mode::Concurrent => cli.concurrency,
            };
            for (name, transport, url) in &endpoints {
                progress.set_message(format!("{name}, {mode:?}"));
                let batch: Vec<Sample> = futures_util::stream::iter(0..cli.requests)
                    .take_while(|_| std::future::ready(Instant::now() < deadline))
                    .map(|_| {
                        let (http, prompt, progress) = (&http, prompt.clone(), &progress);
                        async move {
                            let sample = client::measure(
                                http, *transport, url, &prompt, name, mode, timeout,
                            )
                            .await;
                            progress.inc(1);
                            sample
                        }
                    })
                    .buffer_unordered(concurrency)
                    .collect()
                    .await;
                samples.extend(batch);
            }
        }
        progress.finish_and_clear();
        // The whole local stack's memory: this process (gateway, fake Bedrock, clients) and
        // each function instance, read before the instances stop; of several stacks (one per
        // floor), the one whose instances peaked highest.
        own = peak_rss_mib("self");
        let instances: Vec<f64> = child_pids()
            .iter()
            .filter_map(|pid| peak_rss_mib(pid))
            .collect();
        if instances.iter().sum::<f64>() >= functions.iter().sum::<f64>() {
            functions = instances;
        }
        if let Some(stack) = stack {
            stack.stop().await;
        }
        shown_stage = (base, config);
    }
    let (base, config) = shown_stage;

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
    if samples.len() < expected {
        println!(
            "stopped at --max-seconds {}: {} of {expected} requests sent",
            cli.max_seconds,
            samples.len()
        );
    }
    let rows = rows(&summaries, &measured, &prices);
    print!("{}", cost_table(&rows, &prices));
    print!("{}", floor_targets(&rows));
    if let Some(path) = &cli.reference {
        let options = cli.stack.options(root.clone());
        let local::Bedrock::Fake(pacing) = options.bedrock else {
            return Err("--reference measures the local stack's fake Bedrock".into());
        };
        let reference = bench::readme::Reference {
            run: bench::readme::Run {
                requests: cli.requests,
                ttft_ms: pacing.time_to_first_token_ms,
                tokens_per_second: pacing.tokens_per_second,
                tokens: pacing.tokens,
                post_latency_ms: u64::try_from(options.latencies.post.as_millis())
                    .unwrap_or(u64::MAX),
                invoke_latency_ms: u64::try_from(options.latencies.invoke.as_millis())
                    .unwrap_or(u64::MAX),
            },
            rows: rows.iter().map(|row| row.reference.clone()).collect(),
        };
        let text = serde_json::to_string_pretty(&reference).map_err(|e| e.to_string())?;
        std::fs::write(path, format!("{text}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("reference run: {}", shown(path, &root));
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
        "costPerMillionAnswers": rows.iter().map(|row| json!({
            "strategy": row.label,
            "usage": row.reference.usage,
            "cost": row.cost,
            "total": row.cost.total(),
        })).collect::<Vec<_>>(),
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

/// A priced row: a label's one-by-one p50s (the concurrent ones without a one-by-one run).
struct Row {
    label: String,
    reference: bench::readme::Row,
    cost: Cost,
    declared_floor_ms: Option<u64>,
}

fn rows(
    summaries: &[bench::Summary],
    measured: &[Measured],
    prices: &bench::cost::Prices,
) -> Vec<Row> {
    let p50s = |label: &str| {
        [Mode::Sequential, Mode::Concurrent]
            .into_iter()
            .find_map(|mode| {
                summaries
                    .iter()
                    .find(|s| s.strategy == label && s.mode == mode)
                    .and_then(|s| Some((s.first_chunk_ms?.p50, s.total_ms?.p50, s.frames?.p50)))
            })
    };
    measured
        .iter()
        .filter_map(|m| {
            let (first, total, frames) = p50s(&m.label)?;
            let usage = Usage::of(&m.service, total, frames);
            let declared_floor_ms = m
                .service
                .frames
                .as_ref()
                .map(|f| u64::try_from(f.default.as_millis()).unwrap_or(u64::MAX));
            Some(Row {
                label: m.label.clone(),
                reference: bench::readme::Row {
                    strategy: m.service.strategy.clone(),
                    floor_ms: m.floor_ms,
                    default_floor: m.floor_ms.is_some() && m.floor_ms == declared_floor_ms,
                    first_chunk_ms: first,
                    total_ms: total,
                    frames,
                    usage,
                },
                cost: Cost::of(&usage, prices),
                declared_floor_ms,
            })
        })
        .collect()
}

/// Frames per answer and USD per million answers, per row.
fn cost_table(rows: &[Row], prices: &bench::cost::Prices) -> String {
    let mut out = format!(
        "\ncost per million answers, {} list prices ({}), p50 answers:\n{:<16} {:>7} {:>9} {:>9} {:>11} {:>9} {:>10} {:>9} {:>10}\n",
        prices.region,
        bench::cost::PRICES,
        "strategy",
        "frames",
        "first ms",
        "total ms",
        "API Gateway",
        "Lambda",
        "CloudFront",
        "DynamoDB",
        "total"
    );
    let usd = |value: f64| format!("${value:.2}");
    for row in rows {
        let r = &row.reference;
        out.push_str(&format!(
            "{:<16} {:>7.0} {:>9.0} {:>9.0} {:>11} {:>9} {:>10} {:>9} {:>10}\n",
            row.label,
            r.frames,
            r.first_chunk_ms,
            r.total_ms,
            usd(row.cost.api_gateway),
            usd(row.cost.lambda),
            usd(row.cost.cloudfront),
            usd(row.cost.dynamodb),
            usd(row.cost.total()),
        ));
    }
    out
}

/// For each strategy measured both without a floor and at its declared one: the bound the
/// floor is for (frames <= answer / floor + 2) and the first chunk it must not delay (p50
/// within 5% of the run without a floor).
fn floor_targets(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows
        .iter()
        .filter(|r| r.reference.default_floor && r.declared_floor_ms > Some(0))
    {
        let r = &row.reference;
        let Some(off) = rows
            .iter()
            .find(|o| o.reference.strategy == r.strategy && o.reference.floor_ms == Some(0))
        else {
            continue;
        };
        let floor = row.declared_floor_ms.unwrap_or(1) as f64;
        let bound = r.total_ms / floor + 2.0;
        let change = (r.first_chunk_ms / off.reference.first_chunk_ms - 1.0) * 100.0;
        let met = r.frames <= bound && change.abs() <= 5.0;
        out.push_str(&format!(
            "{}: {:.0} frames per {:.1} s answer at the declared {floor:.0} ms floor ({:.0} without), \
             first chunk p50 {:.0} ms ({change:+.1}% of {:.0} ms without), total p50 {:.0} ms \
             ({:.0} ms without)   target frames <= answer / floor + 2 = {bound:.0}, first chunk \
             within 5%   {}\n",
            r.strategy,
            r.frames,
            r.total_ms / 1000.0,
            off.reference.frames,
            r.first_chunk_ms,
            off.reference.first_chunk_ms,
            r.total_ms,
            off.reference.total_ms,
            if met { "met" } else { "NOT MET" }
        ));
    }
    out
}

/// `--render-readme`: README.md's measured section from the kept run and the price table.
fn render_readme(root: &Path) -> Result<(), String> {
    let reference = bench::readme::Reference::read(root)?;
    let prices = bench::cost::Prices::read(root)?;
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let rendered = bench::readme::replace(&readme, &bench::readme::render(&reference, &prices))?;
    std::fs::write(&path, rendered).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!(
        "README.md: its measured section rendered from {} and {}",
        bench::readme::REFERENCE,
        bench::cost::PRICES
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
