//! `local`: runs the project on loopback until Ctrl-C (`make dev`).

use std::path::PathBuf;
use std::time::Duration;

use local::gateway::Latencies;
use local::{Bedrock, Options, Stack};

const USAGE: &str = "usage: local [--port N] [--bin-dir DIR] [--bedrock fake|aws]
             [--post-latency-ms N] [--invoke-latency-ms N] [--cold-start-ms N]
             [--max-instances N] [--ttft-ms N] [--tokens-per-second N] [--tokens N]";

/// The request body the printed `curl` examples send.
const EXAMPLE: &str = r#"{"prompt":"Tell me a story"}"#;

fn parse_args() -> Result<Options, String> {
    let root = local::project_root()?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let mut options = Options {
        bin_dir: target.join("release"),
        root,
        listen: ([127, 0, 0, 1], 8080).into(),
        bedrock: Bedrock::Fake(fake_bedrock::Settings::default()),
        latencies: Latencies::default(),
        cold_start: Duration::ZERO,
        max_instances: 32,
        log_level: None,
    };
    let mut settings = fake_bedrock::Settings::default();
    let mut aws = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not '{value}'"))
        };
        match flag.as_str() {
            "--port" => {
                let port = u16::try_from(number()?).map_err(|_| "--port is at most 65535")?;
                options.listen.set_port(port);
            }
            "--bin-dir" => options.bin_dir = PathBuf::from(&value),
            "--bedrock" => match value.as_str() {
                "fake" => aws = false,
                "aws" => aws = true,
                _ => return Err(format!("--bedrock is fake or aws, not '{value}'")),
            },
            "--post-latency-ms" => options.latencies.post = Duration::from_millis(number()?),
            "--invoke-latency-ms" => options.latencies.invoke = Duration::from_millis(number()?),
            "--cold-start-ms" => options.cold_start = Duration::from_millis(number()?),
            "--max-instances" => {
                options.max_instances = usize::try_from(number()?.max(1)).unwrap_or(usize::MAX);
            }
            "--ttft-ms" => settings.time_to_first_token_ms = number()?,
            "--tokens-per-second" => settings.tokens_per_second = number()?.max(1),
            "--tokens" => settings.tokens = u32::try_from(number()?).unwrap_or(u32::MAX),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    options.bedrock = if aws {
        Bedrock::Aws
    } else {
        Bedrock::Fake(settings)
    };
    Ok(options)
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("local: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let backend = match options.bedrock {
        Bedrock::Fake(_) => "fake Bedrock (deterministic; no AWS account needed)",
        Bedrock::Aws => "real Bedrock (your AWS credentials, the project's model and region)",
    };
    let stack = match Stack::start(options).await {
        Ok(stack) => stack,
        Err(message) => {
            eprintln!("local: {message}");
            std::process::exit(1);
        }
    };
    let url = &stack.url;
    println!("Local stack on {url}, answers from the {backend}");
    println!("  web app      {url}/");
    for service in &stack.services {
        let scheme_url = if service.trigger == local::discover::Trigger::WebSocket {
            url.replacen("http", "ws", 1)
        } else {
            url.clone()
        };
        println!(
            "  {:<12} {scheme_url}{}   ({})",
            service.strategy, service.route, service.name
        );
    }
    println!("  config       {url}/config.json");
    println!("  status       {url}/_local/status");
    for service in &stack.services {
        let route = &service.route;
        match service.trigger {
            local::discover::Trigger::FunctionUrlStreaming => {
                println!("try: curl -N -X POST {url}{route} -d '{EXAMPLE}'")
            }
            local::discover::Trigger::Rest => {
                println!("try: curl -X POST {url}{route} -d '{EXAMPLE}'")
            }
            local::discover::Trigger::WebSocket => {}
        }
    }
    // The handlers are in place before `ready:` is printed: a signal sent right after it must
    // stop the instances too, not kill `local` by the default action and orphan them.
    let stop = stop_signal();
    println!("ready: {url}");
    println!("Ctrl-C stops every process the stack started.");
    stop.await;
    stack.stop().await;
}

/// Installs the Ctrl-C (SIGINT) and SIGTERM handlers now; the future ends on either signal.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
}
