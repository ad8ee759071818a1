//! `local`: runs the project on loopback until Ctrl-C (`make dev`). Flags: `local --help`.

use std::time::Duration;

use clap::Parser;
use local::flags::{DevDefaults, StackFlags};
use local::{Bedrock, Options, Stack};

/// Runs the project on loopback until Ctrl-C: the real service binaries behind emulated API
/// Gateway, Function URLs and Lambda, answered by a fake Bedrock or by real Bedrock.
#[derive(Debug, Parser)]
#[command(name = "local")]
struct Cli {
    /// Port of the origin on 127.0.0.1; 0 picks a free one.
    #[arg(long, value_name = "N", default_value_t = 8080)]
    port: u16,
    /// Where the answers come from.
    #[arg(long, value_enum, default_value_t = Backend::Fake)]
    bedrock: Backend,
    /// Milliseconds added to the start of each new function instance, as a Lambda cold start.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 0,
        value_parser = clap::value_parser!(u64).range(0..=60_000),
    )]
    cold_start_ms: u64,
    /// Deliver every asynchronous invocation of a worker twice, as Lambda occasionally does,
    /// to see the worker run it once.
    #[arg(long)]
    deliver_events_twice: bool,
    /// Run a deployed stage as it was deployed, from the file `infra/twin.py` wrote (`make dev
    /// STAGE=<stage>`): each function's environment, timeout, reserved concurrency and name.
    #[arg(long, value_name = "FILE")]
    stage_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    stack: StackFlags<DevDefaults>,
}

/// The values of `--bedrock`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Backend {
    /// The fake Bedrock, in process: deterministic, no AWS account needed.
    Fake,
    /// Real Bedrock: your AWS credentials, the project's model and region.
    Aws,
}

/// The request body the printed `curl` examples send.
const EXAMPLE: &str = r#"{"prompt":"Tell me a story"}"#;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let root = match local::project_root() {
        Ok(root) => root,
        Err(message) => {
            eprintln!("local: {message}");
            std::process::exit(2);
        }
    };
    let stage = match cli.stage_file.as_deref().map(local::stage::Deployed::read) {
        None => None,
        Some(Ok(stage)) => Some(stage),
        Some(Err(message)) => {
            eprintln!("local: {message}");
            std::process::exit(2);
        }
    };
    let defaults = cli.stack.options(root);
    let options = Options {
        listen: ([127, 0, 0, 1], cli.port).into(),
        bedrock: match cli.bedrock {
            Backend::Fake => defaults.bedrock,
            Backend::Aws => Bedrock::Aws,
        },
        cold_start: Duration::from_millis(cli.cold_start_ms),
        deliver_events_twice: cli.deliver_events_twice,
        stage,
        ..defaults
    };
    let backend = match options.bedrock {
        Bedrock::Fake(_) => "fake Bedrock (deterministic; no AWS account needed)",
        Bedrock::Aws => "real Bedrock (your AWS credentials, the project's model and region)",
    };
    let options_stage = options
        .stage
        .as_ref()
        .map(|stage| (stage.stage.clone(), stage.region.clone()));
    let stack = match Stack::start(options).await {
        Ok(stack) => stack,
        Err(message) => {
            eprintln!("local: {message}");
            std::process::exit(1);
        }
    };
    let url = &stack.url;
    match &options_stage {
        Some((stage, region)) => println!(
            "Stage {stage} as deployed in {region} (each function's environment, timeout, \
             reserved concurrency, name and code, as infra/twin.py listed), on {url}, \
             answers from the {backend}"
        ),
        None => println!("Local stack on {url}, answers from the {backend}"),
    }
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
        match service.transport {
            local::discover::Transport::ServerSentEvents => {
                println!("try: curl -N -X POST {url}{route} -d '{EXAMPLE}'")
            }
            local::discover::Transport::JsonResponse => {
                println!("try: curl -X POST {url}{route} -d '{EXAMPLE}'")
            }
            local::discover::Transport::WebSocketFrames => {}
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_flags_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
