//! `fake-bedrock`: serves the fake on a port until Ctrl-C, for `make dev` and for pointing any
//! AWS SDK at it (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:4010`). Flags:
//! `fake-bedrock --help`.

use std::net::SocketAddr;

use clap::Parser;
use fake_bedrock::FakeBedrock;
use fake_bedrock::flags::{FakeDefaults, Pacing};

/// Serves a fake Amazon Bedrock (ConverseStream and Converse) on loopback until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "fake-bedrock")]
struct Cli {
    /// Port on 127.0.0.1 to listen on; 0 picks a free one.
    #[arg(long, value_name = "N", default_value_t = 4010)]
    port: u16,
    #[command(flatten)]
    pacing: Pacing<FakeDefaults>,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let addr = SocketAddr::from(([127, 0, 0, 1], cli.port));
    let fake = match FakeBedrock::start_on(addr, cli.pacing.settings()).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("fake-bedrock: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("fake-bedrock listening on {}", fake.endpoint());
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_flags_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
